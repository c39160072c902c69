package sdktest_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// backends returns the environments of the servers the story runs on:
// SQLite, and PostgreSQL when LATCHKEY_TEST_DATABASE_URL is set.
func backends(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{"sqlite": nil}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		out["postgres"] = map[string]string{"LATCHKEY_DATABASE_URL": storetest.NewPostgresSchema(t, base)}
	}
	return out
}

// onEachBackend runs test, in parallel, against a server of its own on
// each backend.
func onEachBackend(t *testing.T, test func(t *testing.T, srv *server)) {
	t.Helper()
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, err := startServer(env)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			})
			test(t, srv)
		})
	}
}

// must fails the test on err, else returns v: must(c.Projects.Get(ctx, 1))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantAPIError fails unless err is an *client.Error matching sentinel with
// the code.
func wantAPIError(t *testing.T, err, sentinel error, code string) {
	t.Helper()
	var apiErr *client.Error
	if !errors.Is(err, sentinel) || !errors.As(err, &apiErr) || string(apiErr.Code) != code {
		t.Fatalf("err = %v, want %v with code %s", err, sentinel, code)
	}
}

// TestStory runs the story against a real `latchkey serve` on a
// free loopback port, through the SDK only: create project → domain →
// license → validate → suspend → validation refused → reactivate → API key
// scoped to the project → it cannot see another project → rotate → the old
// key is refused after its grace → the audit log shows every step.
func TestStory(t *testing.T) {
	onEachBackend(t, func(t *testing.T, srv *server) {
		story(t, srv)
	})
}

func story(t *testing.T, srv *server) {
	ctx := context.Background()
	owner := must(client.New(srv.URL, srv.Key, client.WithUserAgent("story-test")))(t)

	p := must(owner.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin", HasPaid: client.Ptr(true)}))(t)
	other := must(owner.Projects.Create(ctx, client.ProjectCreate{Name: "Other product"}))(t)
	d := must(owner.Domains.Create(ctx, p.ID, client.DomainCreate{Domain: "shop.example.com", Environment: client.EnvProduction,
		IsVerified: client.Ptr(true), HasPaid: client.Ptr(true)}))(t)
	if d.Environment != client.EnvProduction || !d.IsVerified || !d.HasPaid {
		t.Fatalf("domain %+v", d)
	}
	l := must(owner.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A", DomainID: &d.ID, MaxDomains: client.Ptr[int64](3)}))(t)
	if l.UUID == "" || l.Status != client.LicenseActive || l.DomainID == nil || *l.DomainID != d.ID {
		t.Fatalf("license %+v", l)
	}

	// The customer's copy has only the license key.
	copyOfApp := must(client.New(srv.URL, ""))(t)
	req := client.ValidateRequest{License: l.UUID, Domain: "shop.example.com", Proof: true}
	v := must(copyOfApp.Validate.License(ctx, req))(t)
	if !v.Valid || v.Code != client.CodeValid || !v.HasPaid || v.License == nil || v.License.ID != l.ID || v.Proof == nil {
		t.Fatalf("validation %+v", v)
	}
	proof := must(copyOfApp.Validate.VerifyProof(ctx, v.Proof.Token))(t)
	if proof.LicenseID != l.ID || proof.ProjectID != p.ID || proof.Domain != "shop.example.com" {
		t.Fatalf("proof %+v", proof)
	}
	if v := must(copyOfApp.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "pirate.example.net"}))(t); v.Valid ||
		v.Code != client.CodeDomainNotAllowed {
		t.Fatalf("another domain: %+v", v)
	}

	sus := must(owner.Licenses.Suspend(ctx, p.ID, l.ID))(t)
	if sus.Status != client.LicenseSuspended || sus.SuspendedAt == nil {
		t.Fatalf("suspended %+v", sus)
	}
	if v := must(copyOfApp.Validate.License(ctx, req))(t); v.Valid || v.Code != client.CodeSuspended || v.Proof != nil {
		t.Fatalf("suspended license validated: %+v", v)
	}
	_, err := copyOfApp.Validate.HasPaid(ctx, client.RuntimeRequest{License: l.UUID, Domain: "shop.example.com"}, false)
	wantAPIError(t, err, client.ErrForbidden, client.CodeSuspended)
	_, err = owner.Licenses.Suspend(ctx, p.ID, l.ID)
	wantAPIError(t, err, client.ErrForbidden, "INVALID_STATE")

	if re := must(owner.Licenses.Reactivate(ctx, p.ID, l.ID))(t); re.Status != client.LicenseActive {
		t.Fatalf("reactivated %+v", re)
	}
	if v := must(copyOfApp.Validate.License(ctx, req))(t); !v.Valid {
		t.Fatalf("reactivated license refused: %+v", v)
	}
	if ps := must(copyOfApp.Validate.HasPaid(ctx, client.RuntimeRequest{License: l.UUID, Domain: "shop.example.com"}, false))(t); !ps.HasPaid ||
		ps.Code != client.CodeValid {
		t.Fatalf("has-paid %+v", ps)
	}

	k := must(owner.APIKeys.Create(ctx, client.APIKeyCreate{Name: "deploy pipeline", ProjectID: p.ID}))(t)
	if k.Secret == "" || k.ProjectID == nil || *k.ProjectID != p.ID || k.Status != client.KeyActive {
		t.Fatalf("key %+v", k)
	}
	scoped := must(client.New(srv.URL, k.Secret))(t)
	_, err = scoped.Projects.Get(ctx, other.ID)
	wantAPIError(t, err, client.ErrForbidden, "PROJECT_MISMATCH")
	_, err = client.Collect(scoped.Licenses.List(ctx, other.ID, nil))
	wantAPIError(t, err, client.ErrForbidden, "PROJECT_MISMATCH")
	visible := must(client.Collect(scoped.Projects.List(ctx, nil)))(t)
	if len(visible) != 1 || visible[0].ID != p.ID {
		t.Fatalf("the scoped key sees %+v", visible)
	}
	if ls := must(client.Collect(scoped.Licenses.List(ctx, p.ID, nil)))(t); len(ls) != 1 || ls[0].ID != l.ID {
		t.Fatalf("the scoped key lists %+v", ls)
	}

	// Rotate with a short real grace: the old key works, then is refused.
	const grace = 2 * time.Second
	rotatedAt := time.Now()
	rot := must(scoped.APIKeys.Rotate(ctx, k.ID, grace))(t)
	if rot.Previous.ID != k.ID || rot.Key.Secret == "" || rot.Previous.RotatedToID == nil || *rot.Previous.RotatedToID != rot.Key.ID {
		t.Fatalf("rotation %+v", rot)
	}
	successor := must(client.New(srv.URL, rot.Key.Secret))(t)
	must(successor.Projects.Get(ctx, p.ID))(t)
	_, err = scoped.Projects.Get(ctx, p.ID)
	if time.Since(rotatedAt) < grace-500*time.Millisecond && err != nil {
		t.Fatalf("the old key was refused within its grace: %v", err)
	}
	old := must(client.New(srv.URL, k.Secret, client.WithRetries(0)))(t)
	deadline := time.Now().Add(grace + 15*time.Second)
	for {
		_, err := old.Projects.Get(ctx, p.ID)
		if err != nil {
			wantAPIError(t, err, client.ErrForbidden, "INVALID_API_KEY")
			if since := time.Since(rotatedAt); since < grace {
				t.Fatalf("the old key was refused %v after rotation, before its %v grace", since, grace)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old key still works long after its grace")
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(successor.Projects.Get(ctx, p.ID))(t)

	// The audit log shows every step, with who did it.
	events := must(client.Collect(owner.Audit.List(ctx, &client.AuditFilter{PerPage: 3})))(t)
	type step struct {
		action string
		target int64
		actor  string
	}
	var got []step
	for _, e := range events {
		got = append(got, step{e.Action, e.TargetID, e.Actor})
	}
	var ownerKey string
	for _, key := range must(client.Collect(owner.APIKeys.List(ctx, nil)))(t) {
		if key.Name == "owner" {
			ownerKey = key.PublicID
		}
	}
	for _, want := range []step{
		{"project.create", p.ID, ownerKey}, {"project.create", other.ID, ownerKey}, {"domain.create", d.ID, ownerKey},
		{"license.create", l.ID, ownerKey}, {"license.suspend", l.ID, ownerKey}, {"license.reactivate", l.ID, ownerKey},
		{"api_key.create", k.ID, ownerKey}, {"api_key.rotate", k.ID, k.PublicID},
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the audit log lacks %+v; it holds %+v", want, got)
		}
	}
	// A project-scoped key reads only its project's events.
	for e, err := range successor.Audit.List(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if e.ProjectID == nil || *e.ProjectID != p.ID {
			t.Fatalf("the scoped key sees event %+v", e)
		}
	}
}

// countingTransport counts the requests a client sends.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestIteratorsFetchLazily: a listing fetches pages only as the loop
// reaches them, and stops fetching when the loop stops.
func TestIteratorsFetchLazily(t *testing.T) {
	ctx := context.Background()
	ct := &countingTransport{}
	c := must(client.New(baseURL, apiKey, client.WithHTTPClient(&http.Client{Transport: ct})))(t)
	p := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Seven licenses"}))(t)
	var titles []string
	for i := range 7 {
		l := must(c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "L" + string(rune('1'+i))}))(t)
		titles = append([]string{l.Title}, titles...)
	}
	ct.n.Store(0)
	all := must(client.Collect(c.Licenses.List(ctx, p.ID, &client.LicenseFilter{PerPage: 3})))(t)
	var got []string
	for _, l := range all {
		got = append(got, l.Title)
	}
	if !slices.Equal(got, titles) || ct.n.Load() != 3 {
		t.Fatalf("got %v in %d requests, want %v in 3", got, ct.n.Load(), titles)
	}
	ct.n.Store(0)
	for l, err := range c.Licenses.List(ctx, p.ID, &client.LicenseFilter{PerPage: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.Title == "L5" { // the second item of the first page
			break
		}
	}
	if ct.n.Load() != 1 {
		t.Fatalf("breaking out of the first page sent %d requests", ct.n.Load())
	}
	ct.n.Store(0)
	if ls := must(client.Collect(c.Licenses.List(ctx, p.ID, &client.LicenseFilter{Search: "L3"})))(t); len(ls) != 1 {
		t.Fatalf("search: %+v", ls)
	}
}
