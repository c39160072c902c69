package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

type activationOut struct {
	ID          int64   `json:"id"`
	LicenseID   int64   `json:"license_id"`
	Identifier  string  `json:"identifier"`
	BaseDomain  string  `json:"base_domain"`
	FirstSeenAt string  `json:"first_seen_at"`
	LastSeenAt  string  `json:"last_seen_at"`
	LastIP      *string `json:"last_ip"`
	Country     *string `json:"country"`
	UserAgent   *string `json:"user_agent"`
}

func activationsPath(project, license int64) string {
	return "/api/v1/project/" + strconv.FormatInt(project, 10) + "/licenses/" + strconv.FormatInt(license, 10) + "/activations"
}

// hasPaid validates a license on the DevPayr route with a user agent, from
// a client address behind the trusted proxy.
func (rt *runtime) hasPaid(t *testing.T, license, domain, ua string) *apptest.Response {
	t.Helper()
	return rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys[license], "X-Devpayr-Domain", domain,
		"X-Forwarded-For", "198.51.100.20", "User-Agent", ua)
}

func (rt *runtime) activations(t *testing.T, license int64, query string) ([]activationOut, *string) {
	t.Helper()
	r := rt.n.Do(t, "GET", activationsPath(rt.paid, license)+query, nil, apptest.Key(rt.key)...)
	wantStatus(t, r, 200)
	var page struct {
		Data       []activationOut `json:"data"`
		NextCursor *string         `json:"next_cursor"`
	}
	r.Decode(t, &page)
	return page.Data, page.NextCursor
}

// Activations are listed (with the latest sighting's IP, country and user
// agent), removed one by one, and a removed one frees its slot for the
// very next validation.
func TestActivationsResource(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		one := licenseID(t, rt, "one-domain")
		longUA := "shop/1.0 \xff" + strings.Repeat("x", 400)
		wantStatus(t, rt.hasPaid(t, "one-domain", "alpha.example.org", longUA), 200)
		r := rt.hasPaid(t, "one-domain", "beta.example.net", "shop/1.0")
		if r.Status != 403 || r.Env.Code != licensing.CodeTooManyDomains {
			t.Fatalf("second domain: %d %s", r.Status, r.Body)
		}
		acts, next := rt.activations(t, one, "")
		if len(acts) != 1 || next != nil {
			t.Fatalf("activations %+v, next %v", acts, next)
		}
		a := acts[0]
		if a.Identifier != "alpha.example.org" || a.BaseDomain != "example.org" || a.LicenseID != one || a.LastIP == nil ||
			*a.LastIP != "198.51.100.20" || a.Country == nil || *a.Country != "NG" || a.UserAgent == nil || a.FirstSeenAt == "" {
			t.Fatalf("activation %+v", a)
		}
		if ua := *a.UserAgent; len(ua) > 255 || !utf8.ValidString(ua) || !strings.HasPrefix(ua, "shop/1.0 \uFFFDxxx") {
			t.Fatalf("user agent stored as %q (%d bytes)", ua, len(ua))
		}

		// Refusals: another license's activation, an unknown one, a key
		// that may only read.
		basic := licenseID(t, rt, "basic")
		wantStatus(t, rt.n.Do(t, "DELETE", activationsPath(rt.paid, basic)+"/"+strconv.FormatInt(a.ID, 10), nil, apptest.Key(rt.key)...), 404)
		wantStatus(t, rt.n.Do(t, "DELETE", activationsPath(rt.paid, one)+"/999999", nil, apptest.Key(rt.key)...), 404)
		wantStatus(t, rt.n.Do(t, "DELETE", activationsPath(rt.paid, one)+"/abc", nil, apptest.Key(rt.key)...), 404)
		wantStatus(t, rt.n.Do(t, "GET", activationsPath(rt.unpaid, one), nil, apptest.Key(rt.key)...), 404)
		_, reader := rt.n.CreateKey(t, rt.owner, service.KeyInput{Name: "reader", Scopes: []string{"licenses:read"}})
		wantStatus(t, rt.n.Do(t, "GET", activationsPath(rt.paid, one), nil, apptest.Key(reader)...), 200)
		r = rt.n.Do(t, "DELETE", activationsPath(rt.paid, one)+"/"+strconv.FormatInt(a.ID, 10), nil, apptest.Key(reader)...)
		if r.Status != 403 || r.Env.Code != "MISSING_SCOPE" {
			t.Fatalf("delete with a read-only key: %d %s", r.Status, r.Body)
		}

		r = rt.n.Do(t, "DELETE", activationsPath(rt.paid, one)+"/"+strconv.FormatInt(a.ID, 10), nil, apptest.Key(rt.key)...)
		wantStatus(t, r, 200, `"identifier":"alpha.example.org"`)
		if r.Env.Message != "Activation deleted successfully." {
			t.Fatalf("message %q", r.Env.Message)
		}
		if acts, _ := rt.activations(t, one, ""); len(acts) != 0 {
			t.Fatalf("left %+v", acts)
		}
		// The slot is free at once.
		wantStatus(t, rt.hasPaid(t, "one-domain", "beta.example.net", "shop/2.0"), 200)
		if r := rt.hasPaid(t, "one-domain", "alpha.example.org", "shop/2.0"); r.Status != 403 || r.Env.Code != licensing.CodeTooManyDomains {
			t.Fatalf("the removed identifier is new again: %d %s", r.Status, r.Body)
		}
		audit, err := rt.n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: rt.owner.OrgID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range audit {
			found = found || (e.Action == "license.activation.delete" && e.TargetID == one)
		}
		if !found {
			t.Fatal("no audit event license.activation.delete")
		}

		// Pages, oldest first, on a license whose sightings are flushed.
		for i := range 5 {
			wantStatus(t, rt.hasPaid(t, "basic", fmt.Sprintf("site%d.example.com", i), "ua"), 200)
		}
		if err := rt.n.Stack.Validator.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var all []activationOut
		q := "?per_page=2"
		for range 10 {
			page, next := rt.activations(t, basic, q)
			all = append(all, page...)
			if next == nil {
				break
			}
			q = "?per_page=2&cursor=" + *next
		}
		if len(all) != 5 {
			t.Fatalf("paged %d activations, want 5", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID <= all[i-1].ID {
				t.Fatalf("not oldest first: %+v", all)
			}
		}
		wantStatus(t, rt.n.Do(t, "GET", activationsPath(rt.paid, basic)+"?cursor=garbage", nil, apptest.Key(rt.key)...), 422)
	})
}

func setChurn(t *testing.T, n *apptest.Node, id, perDay int64) {
	t.Helper()
	v := &perDay
	if _, err := n.Store.UpdateLicense(context.Background(), id, core.LicenseUpdate{MaxNewActivationsPerDay: &v}); err != nil {
		t.Fatal(err)
	}
}

// The churn limit: after the first max_domains activations, at most N new
// ones a UTC day; a removed activation does not give its slot back; has-paid
// answers 403 and the native route 200 with the code.
func TestActivationChurnLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		ctx := context.Background()
		two := int64(2)
		l, err := rt.n.Service().CreateLicense(ctx, rt.owner.Actor(), rt.paid, service.LicenseInput{Title: service.Some("churn"),
			MaxDomains: service.Some(&two)})
		if err != nil {
			t.Fatal(err)
		}
		setChurn(t, rt.n, l.ID, 1)
		rt.keys["churn"] = l.UUID
		for _, d := range []string{"a.example.org", "b.example.net"} { // free
			wantStatus(t, rt.hasPaid(t, "churn", d, "ua"), 200)
		}
		// max_domains refuses a third base domain before churn applies:
		// delete one to make room.
		acts, _ := rt.activations(t, l.ID, "")
		wantStatus(t, rt.n.Do(t, "DELETE", activationsPath(rt.paid, l.ID)+"/"+strconv.FormatInt(acts[0].ID, 10), nil, apptest.Key(rt.key)...), 200)
		wantStatus(t, rt.hasPaid(t, "churn", "c.example.com", "ua"), 200) // the day's one new activation
		wantStatus(t, rt.n.Do(t, "DELETE", activationsPath(rt.paid, l.ID)+"/"+strconv.FormatInt(acts[1].ID, 10), nil, apptest.Key(rt.key)...), 200)
		r := rt.hasPaid(t, "churn", "d.example.com", "ua")
		if r.Status != 403 || r.Env.Code != licensing.CodeTooManyActivations ||
			r.Env.Message != "This license has reached its limit of new activations for today." {
			t.Fatalf("churn refusal: %d %s", r.Status, r.Body)
		}
		_, v := rt.native(t, check{license: "churn", domain: "d.example.com"}, nil)
		if v.Valid || v.Code != licensing.CodeTooManyActivations {
			t.Fatalf("native: %+v", v)
		}
		wantStatus(t, rt.hasPaid(t, "churn", "c.example.com", "ua"), 200) // known: fine
		rt.n.Clock.Advance(24 * time.Hour)
		wantStatus(t, rt.hasPaid(t, "churn", "d.example.com", "ua"), 200)
		if r := rt.hasPaid(t, "churn", "e.example.com", "ua"); r.Status != 403 {
			t.Fatalf("second new one on day two: %d %s", r.Status, r.Body)
		}
	})
}

type explained struct {
	validation
	Checks []licensing.Check `json:"checks"`
}

// counters reads everything a validation may count for a license.
func counters(t *testing.T, n *apptest.Node, id int64) string {
	t.Helper()
	ctx := context.Background()
	day := n.Clock.Now().UTC().Format(time.DateOnly)
	usage, err := n.Store.LicenseUsage(ctx, id, day, day)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := n.Store.ListActivations(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	churn, err := n.Store.ActivationChurn(ctx, id, day)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("usage %v pending %v activations %d churn %+v", usage, n.Stack.Validator.Pending(id), len(acts), churn)
}

// Explain evaluates every rule, counting nothing: a license breaking four
// rules shows the four; a valid one shows every rule passed; neither
// changes a counter.
func TestExplain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		ctx := context.Background()
		a := rt.owner.Actor()
		five := int64(5)
		mk := func(title string, in service.LicenseInput) *core.License {
			in.Title = service.Some(title)
			in.MaxUsagePerDay = service.Some(&five)
			in.MaxDomains = service.Some(&five)
			l, err := rt.n.Service().CreateLicense(ctx, a, rt.paid, in)
			if err != nil {
				t.Fatal(err)
			}
			setChurn(t, rt.n, l.ID, 1)
			rt.keys[title] = l.UUID
			return l
		}
		bad := mk("four", service.LicenseInput{AllowedIPs: service.Some(new("10.0.0.0/8")), AllowedCountries: service.Some(new("DE")),
			IsTestLicense: service.Some(true)})
		if _, err := rt.n.Service().SuspendLicense(ctx, a, rt.paid, bad.ID); err != nil {
			t.Fatal(err)
		}
		good := mk("good", service.LicenseInput{})
		before := map[int64]string{bad.ID: counters(t, rt.n, bad.ID), good.ID: counters(t, rt.n, good.ID)}

		r, _ := rt.native(t, check{license: "four", domain: "shop.example.com", client: "198.51.100.20"}, map[string]any{"explain": true})
		wantStatus(t, r, 200)
		var x explained
		r.Decode(t, &x)
		failing := map[string]string{}
		for _, c := range x.Checks {
			if !c.Passed {
				failing[c.Rule] = c.Code
			}
		}
		want := map[string]string{"status": licensing.CodeSuspended, "environment": licensing.CodeEnvironment,
			"ip": licensing.CodeIPNotAllowed, "country": licensing.CodeCountryNotAllowed}
		if fmt.Sprint(failing) != fmt.Sprint(want) || len(x.Checks) != 14 || x.Valid || x.Code != licensing.CodeSuspended {
			t.Fatalf("explained %s", r.Env.Data)
		}

		for range 3 {
			r, _ = rt.native(t, check{license: "good", domain: "new.example.org", client: "198.51.100.20"},
				map[string]any{"explain": true, "proof": true, "include_injectables": true})
			wantStatus(t, r, 200)
			r.Decode(t, &x)
			if !x.Valid || x.Code != licensing.CodeValid || len(x.Checks) != 14 || x.Proof != nil || x.Usage == nil || x.Usage.Today != 0 {
				t.Fatalf("explained %s", r.Env.Data)
			}
			for _, c := range x.Checks {
				if !c.Passed || c.Code != licensing.CodeValid || c.Detail == "" {
					t.Fatalf("check %+v", c)
				}
			}
		}
		if err := rt.n.Stack.Validator.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for id, was := range before {
			if now := counters(t, rt.n, id); now != was {
				t.Fatalf("license %d: explain changed %s to %s", id, was, now)
			}
		}
		// Without a key: 422 as a validation; an unknown key: no checks.
		r, _ = rt.native(t, check{license: "unknown", domain: "shop.example.com"}, map[string]any{"explain": true})
		wantStatus(t, r, 200, `"checks":[]`, licensing.CodeNotFound)
		r, _ = rt.native(t, check{license: "good", domain: "shop.example.com"}, map[string]any{"explain": []int{1}})
		wantStatus(t, r, 422, "explain")
		// A real validation after it counts as the first.
		_, v := rt.native(t, check{license: "good", domain: "new.example.org", client: "198.51.100.20"}, nil)
		if !v.Valid || v.Usage == nil || v.Usage.Today != 1 {
			t.Fatalf("validation after explain: %+v", v)
		}
	})
}

// Removing an activation on one node frees the slot on a PostgreSQL peer
// that had the license's snapshot cached: its next validation sees it.
func TestActivationDeleteOnPeer(t *testing.T) {
	b := postgresOnly(t)
	rt := newRuntime(t, b)
	a := rt.n
	peer := a.Peer(t)
	one := licenseID(t, rt, "one-domain")
	validate := func(n *apptest.Node, domain string) *apptest.Response {
		return n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys["one-domain"], "X-Devpayr-Domain", domain)
	}
	wantStatus(t, validate(a, "alpha.example.org"), 200)
	for range 2 { // the peer caches the snapshot, with alpha in it
		if r := validate(peer, "beta.example.net"); r.Status != 403 || r.Env.Code != licensing.CodeTooManyDomains {
			t.Fatalf("peer before: %d %s", r.Status, r.Body)
		}
		wantStatus(t, validate(peer, "alpha.example.org"), 200)
	}
	acts, _ := rt.activations(t, one, "")
	wantStatus(t, a.Do(t, "DELETE", activationsPath(rt.paid, one)+"/"+strconv.FormatInt(acts[0].ID, 10), nil, apptest.Key(rt.key)...), 200)
	peer.Sync(t, a)
	wantStatus(t, validate(peer, "beta.example.net"), 200)
	if r := validate(a, "alpha.example.org"); r.Status != 403 {
		t.Fatalf("the writer node, alpha after beta took the slot on the peer: %d %s", r.Status, r.Body)
	}
}

// A removed activation is announced (activation.deleted), and its return
// is announced again as activation.created, on a license with limits and
// on one without.
func TestActivationEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		h := newHooks(t, b, insecureWebhooks)
		rc := apptest.NewReceiver(t)
		h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"activation.created", "activation.deleted"}})
		ctx := context.Background()
		p, err := h.n.Service().CreateProject(ctx, h.owner.Actor(), service.ProjectInput{Name: service.Some("Shop"), HasPaid: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		one := int64(1)
		limited, err := h.n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID, service.LicenseInput{Title: service.Some("limited"),
			MaxDomains: service.Some(&one)})
		if err != nil {
			t.Fatal(err)
		}
		open, err := h.n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID, service.LicenseInput{Title: service.Some("open")})
		if err != nil {
			t.Fatal(err)
		}
		validate := func(l *core.License) {
			t.Helper()
			wantStatus(t, h.n.Do(t, "POST", "/api/v1/project/has-paid", "{}", "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", "shop.example.com"), 200)
		}
		types := func(got []apptest.Received) string {
			var out []string
			for _, g := range got {
				var ev struct {
					Type string
					Data struct {
						Object struct {
							Identifier string `json:"identifier"`
							LicenseID  int64  `json:"license_id"`
						}
					}
				}
				if err := json.Unmarshal(g.Body, &ev); err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%s %d %s", ev.Type, ev.Data.Object.LicenseID, ev.Data.Object.Identifier))
			}
			return strings.Join(out, ", ")
		}
		for i, l := range []*core.License{limited, open} {
			validate(l)
			validate(l)
			if err := h.n.Stack.Validator.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			rc.Wait(t, 3*i+1)
			page, err := h.n.Service().ListActivations(ctx, h.owner.Actor(), p.ID, l.ID, 0, 10)
			if err != nil || len(page) != 1 {
				t.Fatalf("activations %+v, %v", page, err)
			}
			h.do(t, "DELETE", activationsPath(p.ID, l.ID)+"/"+strconv.FormatInt(page[0].ID, 10), nil, 200)
			rc.Wait(t, 3*i+2)
			validate(l)
			if err := h.n.Stack.Validator.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			got := rc.Wait(t, 3*i+3)
			want := fmt.Sprintf("activation.created %[1]d shop.example.com, activation.deleted %[1]d shop.example.com, activation.created %[1]d shop.example.com", l.ID)
			if g := types(got[3*i:]); g != want {
				t.Fatalf("events %s, want %s", g, want)
			}
		}
	})
}
