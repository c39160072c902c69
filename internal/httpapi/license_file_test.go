package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The conformance check reads the license file answer as text, as it
// reads JSON.
func init() {
	openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.FileBodyDecoder)
}

// fileFixture is the runtime fixture with an SDK client, an anonymous one
// (runtime routes) and a verifier holding the node's JWK Set.
type fileFixture struct {
	*runtime
	c, anon *client.Client
	v       *client.Verifier
	org     int64
}

func newFileFixture(t *testing.T, b storetest.Backend) *fileFixture {
	t.Helper()
	rt := newRuntime(t, b)
	c, err := client.New(rt.n.URL, rt.key, client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	anon, _ := client.New(rt.n.URL, "", client.WithRetries(0))
	r := rt.n.Do(t, "GET", "/.well-known/jwks.json", nil)
	keys, err := client.ParseKeySet(r.Body)
	if err != nil {
		t.Fatalf("jwks: %v %s", err, r.Body)
	}
	v := &client.Verifier{Keys: keys, Now: rt.n.Clock.Now, ProjectID: rt.paid, Skew: -1}
	return &fileFixture{runtime: rt, c: c, anon: anon, v: v, org: rt.owner.OrgID}
}

// checkouts counts the checkouts recorded: audit entries and events.
func (f *fileFixture) checkouts(t *testing.T) (audits, events int) {
	t.Helper()
	ctx := context.Background()
	a, err := f.n.Store.ListAudit(ctx, core.AuditFilter{OrgID: f.org, Action: "license.checked_out", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.n.Store.ListEvents(ctx, core.EventFilter{OrgID: f.org, Type: service.EventLicenseCheckedOut, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(a), len(e)
}

func (f *fileFixture) filePath(project, license int64) string {
	return "/api/v1/project/" + id(project) + "/licenses/" + id(license) + "/file"
}

func TestLicenseFileCheckout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFileFixture(t, b)
		ctx := context.Background()
		now := f.n.Clock.Now()
		basic := licenseID(t, f.runtime, "basic")

		dl, err := f.c.Licenses.File(ctx, f.paid, basic, &client.LicenseFileOptions{Identifier: "shop.example.com", TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if dl.Encrypted || !dl.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Second)) || !strings.HasPrefix(string(dl.File), licensing.ArmorBegin+"\n") {
			t.Fatalf("download %+v\n%s", dl, dl.File)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(dl.File)), "\n") {
			if len(line) > 64 && !strings.HasPrefix(line, "-----") {
				t.Fatalf("armour line of %d columns", len(line))
			}
		}
		v := *f.v
		v.Identifier = "shop.example.com"
		lf, err := v.LicenseFile(ctx, dl.File, "")
		if err != nil {
			t.Fatal(err)
		}
		if lf.LicenseID != basic || lf.ProjectID != f.paid || lf.Domain != "shop.example.com" || lf.Result != client.CodeValid ||
			lf.License.Title != "basic" || lf.License.ProjectName != "Paid" || lf.KeyID != dl.KeyID || lf.Encrypted ||
			!lf.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Second)) {
			t.Fatalf("license file %+v", lf)
		}
		// The same file, another domain or expired: refused.
		v.Identifier = "pirate.example.net"
		if _, err := v.LicenseFile(ctx, dl.File, ""); !errors.Is(err, client.ErrClaims) {
			t.Fatalf("another identifier: %v", err)
		}
		v.Identifier, v.Now = "", func() time.Time { return now.Add(time.Hour) }
		if _, err := v.LicenseFile(ctx, dl.File, ""); !errors.Is(err, client.ErrProofExpired) {
			t.Fatalf("expired: %v", err)
		}
		// A proof is not a file, nor a file a proof: the typ is pinned.
		token, _ := licensing.Unarmor(dl.File)
		if _, err := f.v.Proof(ctx, token); !errors.Is(err, client.ErrClaims) {
			t.Fatalf("a file verified as a proof: %v", err)
		}
		if a, e := f.checkouts(t); a != 1 || e != 1 {
			t.Fatalf("one checkout recorded %d audits, %d events", a, e)
		}
		ev, err := f.n.Store.ListEvents(ctx, core.EventFilter{OrgID: f.org, Type: service.EventLicenseCheckedOut, Limit: 1})
		if err != nil || ev[0].ResourceType != "license" || ev[0].ResourceID != basic || !strings.Contains(string(ev[0].Data), `"title":"basic"`) ||
			strings.Contains(string(ev[0].Data), f.keys["basic"]) {
			t.Fatalf("event %+v %s, %v", ev, ev[0].Data, err)
		}

		// Without Accept: application/json, the file itself, as an attachment.
		req, _ := http.NewRequest("GET", f.n.URL+f.filePath(f.paid, basic), nil)
		req.Header.Set("X-API-KEY", f.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pem-file" ||
			resp.Header.Get("Content-Disposition") != `attachment; filename="license-`+id(basic)+`.lic"` || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("file answer %d %v", resp.StatusCode, resp.Header)
		}
		lf, err = f.v.LicenseFile(ctx, body, "")
		if err != nil || lf.Domain != "" || !lf.ExpiresAt.Equal(now.Add(service.DefaultLicenseFileTTL).Truncate(time.Second)) {
			t.Fatalf("default file %+v, %v", lf, err)
		}
		if a, e := f.checkouts(t); a != 2 || e != 2 {
			t.Fatalf("two checkouts recorded %d audits, %d events", a, e)
		}
	})
}

// TestLicenseFileNeverOutlivesItsLicense: exp is the license's expiry when
// that comes before now + ttl.
func TestLicenseFileNeverOutlivesItsLicense(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFileFixture(t, b)
		ctx := context.Background()
		exp := f.n.Clock.Now().Add(2 * time.Hour).Truncate(time.Second)
		l, err := f.c.Licenses.Create(ctx, f.paid, client.LicenseCreate{Title: "short", ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		dl, err := f.c.Licenses.File(ctx, f.paid, l.ID, &client.LicenseFileOptions{TTL: 365 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		lf, err := f.v.LicenseFile(ctx, dl.File, "")
		if err != nil || !lf.ExpiresAt.Equal(exp) || !dl.ExpiresAt.Equal(exp) || lf.LicenseExpiresAt == nil || !lf.LicenseExpiresAt.Equal(exp) {
			t.Fatalf("file of a license expiring at %v: %+v, %v", exp, lf, err)
		}
		// The runtime route bounds it the same way.
		rdl, err := f.anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: l.UUID, Domain: "shop.example.com", TTL: 300 * 24 * time.Hour})
		if err != nil || !rdl.ExpiresAt.Equal(exp) {
			t.Fatalf("runtime file: %+v, %v", rdl, err)
		}
	})
}

// TestLicenseFileRefusals: bad input is a 422 naming the field, a license
// that cannot be valid gets no file, and the key's rights are enforced;
// none of them records a checkout.
func TestLicenseFileRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFileFixture(t, b)
		basic := licenseID(t, f.runtime, "basic")
		unpaidLicense := licenseID(t, f.runtime, "unpaid")
		_, readOnly := f.n.CreateKey(t, f.owner, service.KeyInput{Name: "reader", Scopes: []string{"licenses:read"}})
		_, otherProject := f.n.CreateKey(t, f.owner, service.KeyInput{Name: "unpaid project", ProjectID: f.unpaid})
		_, ownProject := f.n.CreateKey(t, f.owner, service.KeyInput{Name: "paid project", ProjectID: f.paid})
		stranger := f.n.CreateUser(t, "Other", "owner@other.test", core.RoleOwner)
		_, strangerKey := f.n.CreateKey(t, stranger, service.KeyInput{})

		tests := []struct {
			name   string
			path   string
			key    string
			status int
			field  string // of a 422
			code   string
		}{
			{"ttl below the minimum", f.filePath(f.paid, basic) + "?ttl=59", f.key, 422, "ttl", ""},
			{"ttl above the maximum", f.filePath(f.paid, basic) + "?ttl=31536001", f.key, 422, "ttl", ""},
			{"ttl that overflows a duration", f.filePath(f.paid, basic) + "?ttl=9223372036854775807", f.key, 422, "ttl", ""},
			{"ttl zero", f.filePath(f.paid, basic) + "?ttl=0", f.key, 422, "ttl", ""},
			{"ttl negative", f.filePath(f.paid, basic) + "?ttl=-60", f.key, 422, "ttl", ""},
			{"ttl not an integer", f.filePath(f.paid, basic) + "?ttl=1h", f.key, 422, "ttl", ""},
			{"ttl with a NUL", f.filePath(f.paid, basic) + "?ttl=60%00", f.key, 422, "ttl", ""},
			{"identifier too long", f.filePath(f.paid, basic) + "?identifier=" + strings.Repeat("a", 256), f.key, 422, "identifier", ""},
			{"identifier not UTF-8", f.filePath(f.paid, basic) + "?identifier=%ff", f.key, 422, "identifier", ""},
			{"revoked", f.filePath(f.paid, licenseID(t, f.runtime, "revoked")), f.key, 403, "", core.ReasonInvalidState},
			{"suspended", f.filePath(f.paid, licenseID(t, f.runtime, "suspended")), f.key, 403, "", core.ReasonInvalidState},
			{"expired", f.filePath(f.paid, licenseID(t, f.runtime, "expired")), f.key, 403, "", core.ReasonInvalidState},
			{"licenses:read only", f.filePath(f.paid, basic), readOnly, 403, "", core.ReasonMissingScope},
			{"key of another project", f.filePath(f.paid, basic), otherProject, 403, "", ""},
			{"key of another organization", f.filePath(f.paid, basic), strangerKey, 403, "", ""},
			{"license of another project", f.filePath(f.paid, unpaidLicense), f.key, 404, "", ""},
			{"unknown license", f.filePath(f.paid, 987654), f.key, 404, "", ""},
			{"no key", f.filePath(f.paid, basic), "", 401, "", ""},
			// A bad ttl is reported after the access checks (DevPayr's order).
			{"bad ttl, key of another project", f.filePath(f.paid, basic) + "?ttl=1", otherProject, 403, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var h []string
				if tt.key != "" {
					h = []string{"X-API-KEY", tt.key}
				}
				r := f.n.Do(t, "GET", tt.path, nil, h...)
				if r.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
				}
				if tt.field != "" && len(r.Env.Errors[tt.field]) == 0 {
					t.Fatalf("no error on %s: %s", tt.field, r.Body)
				}
				if tt.code != "" && r.Env.Code != tt.code {
					t.Fatalf("code %q, want %q: %s", r.Env.Code, tt.code, r.Body)
				}
				if a, e := f.checkouts(t); a != 0 || e != 0 {
					t.Fatalf("a refusal recorded %d audits, %d events", a, e)
				}
			})
		}
		if r := f.n.Do(t, "GET", f.filePath(f.paid, basic), nil, "X-API-KEY", ownProject); r.Status != 200 {
			t.Fatalf("the project's own key: %d %s", r.Status, r.Body)
		}
	})
}

// TestLicenseFileEncryption: with the project's license_file_encryption
// the file is a JWE that opens only with the license's key.
func TestLicenseFileEncryption(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFileFixture(t, b)
		ctx := context.Background()
		// A runtime checkout first: the license's validation snapshot, with
		// its project, is cached; the update below must reach it.
		if rdl, err := f.anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: f.keys["pinned"], Domain: "shop.example.com"}); err != nil || rdl.Encrypted {
			t.Fatalf("before: %+v, %v", rdl, err)
		}
		p, err := f.c.Projects.Update(ctx, f.paid, client.ProjectUpdate{LicenseFileEncryption: client.Ptr(true)})
		if err != nil || !p.LicenseFileEncryption {
			t.Fatalf("update: %+v, %v", p, err)
		}
		if p, err := f.c.Projects.Get(ctx, f.paid); err != nil || !p.LicenseFileEncryption {
			t.Fatalf("read back: %+v, %v", p, err)
		}
		basic := licenseID(t, f.runtime, "basic")
		dl, err := f.c.Licenses.File(ctx, f.paid, basic, nil)
		if err != nil || !dl.Encrypted {
			t.Fatalf("download %+v, %v", dl, err)
		}
		token, err := licensing.Unarmor(dl.File)
		if err != nil || strings.Count(token, ".") != 4 {
			t.Fatalf("not a compact JWE: %q %v", token, err)
		}
		lf, err := f.v.LicenseFile(ctx, dl.File, f.keys["basic"])
		if err != nil || !lf.Encrypted || lf.LicenseID != basic {
			t.Fatalf("with the key: %+v, %v", lf, err)
		}
		if _, err := f.v.LicenseFile(ctx, dl.File, ""); !errors.Is(err, client.ErrLicenseFileEncrypted) {
			t.Fatalf("without a key: %v", err)
		}
		if _, err := f.v.LicenseFile(ctx, dl.File, f.keys["pinned"]); !errors.Is(err, client.ErrLicenseFileKey) {
			t.Fatalf("another license's key: %v", err)
		}
		// The runtime route encrypts too, under the key the copy sent.
		rdl, err := f.anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: f.keys["pinned"], Domain: "shop.example.com"})
		if err != nil || !rdl.Encrypted {
			t.Fatalf("runtime: %+v, %v", rdl, err)
		}
		if lf, err := f.v.LicenseFile(ctx, rdl.File, f.keys["pinned"]); err != nil || lf.Domain != "shop.example.com" {
			t.Fatalf("runtime file: %+v, %v", lf, err)
		}
		// Off again: plain files.
		if _, err := f.c.Projects.Update(ctx, f.paid, client.ProjectUpdate{LicenseFileEncryption: client.Ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if dl, err := f.c.Licenses.File(ctx, f.paid, basic, nil); err != nil || dl.Encrypted {
			t.Fatalf("after turning it off: %+v, %v", dl, err)
		}
	})
}

// TestRuntimeLicenseFile: the copy's own checkout is a counted validation
// and only VALID gets a file.
func TestRuntimeLicenseFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFileFixture(t, b)
		ctx := context.Background()
		dl, err := f.anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: f.keys["pinned"], Domain: "shop.example.com", TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		v := *f.v
		v.Identifier = "shop.example.com"
		if lf, err := v.LicenseFile(ctx, dl.File, ""); err != nil || lf.LicenseID != licenseID(t, f.runtime, "pinned") {
			t.Fatalf("file %+v, %v", lf, err)
		}
		audits, err := f.n.Store.ListAudit(ctx, core.AuditFilter{OrgID: f.org, Action: "license.checked_out", Limit: 10})
		if err != nil || len(audits) != 1 || audits[0].ActorType != core.ActorLicense {
			t.Fatalf("audit %+v, %v", audits, err)
		}
		var details map[string]any
		if err := json.Unmarshal(audits[0].Details, &details); err != nil || details["via"] != "runtime" ||
			details["identifier"] != "shop.example.com" || details["kid"] != dl.KeyID {
			t.Fatalf("audit details %s, %v", audits[0].Details, err)
		}
		// GET with the key in the header and ttl in the query: the file.
		r := f.n.Do(t, "GET", "/api/v1/licenses/file?ttl=600", nil, "X-LICENSE-KEY", f.keys["basic"], "X-Devpayr-Domain", "shop.example.com")
		if r.Status != 200 {
			t.Fatalf("GET: %d %s", r.Status, r.Body)
		}

		tests := []struct {
			name    string
			license string
			domain  string
			body    string
			status  int
			code    string
			field   string
		}{
			{"revoked", "revoked", "shop.example.com", `{}`, 403, licensing.CodeRevoked, ""},
			{"suspended", "suspended", "shop.example.com", `{}`, 403, licensing.CodeSuspended, ""},
			{"expired", "expired", "shop.example.com", `{}`, 403, licensing.CodeExpired, ""},
			{"another domain", "pinned", "pirate.example.net", `{}`, 403, licensing.CodeDomainNotAllowed, ""},
			{"unpaid", "unpaid", "shop.example.com", `{}`, 403, licensing.CodeUnpaid, ""},
			{"unknown key", "unknown", "shop.example.com", `{}`, 404, licensing.CodeNotFound, ""},
			{"no key", "", "shop.example.com", `{}`, 422, "", "license"},
			{"ttl too short", "basic", "shop.example.com", `{"ttl":59}`, 422, "", "ttl"},
			{"ttl not an integer", "basic", "shop.example.com", `{"ttl":"soon"}`, 422, "", "ttl"},
			{"ttl huge", "basic", "shop.example.com", `{"ttl":99999999999999999}`, 422, "", "ttl"},
		}
		before := usage(t, f, "basic")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := []string{"X-Devpayr-Domain", tt.domain}
				if tt.license != "" {
					h = append(h, "X-LICENSE-KEY", f.keys[tt.license])
				}
				r := f.n.Do(t, "POST", "/api/v1/licenses/file", tt.body, h...)
				if r.Status != tt.status || (tt.code != "" && r.Env.Code != tt.code) || (tt.field != "" && len(r.Env.Errors[tt.field]) == 0) {
					t.Fatalf("%d %s, want %d %s %s", r.Status, r.Body, tt.status, tt.code, tt.field)
				}
			})
		}
		if a, e := f.checkouts(t); a != 2 || e != 2 {
			t.Fatalf("refusals recorded checkouts: %d audits, %d events", a, e)
		}
		if got := usage(t, f, "basic"); got != before {
			t.Fatalf("a refused ttl counted a use: %d, then %d", before, got)
		}
		// The SDK reports a refusal as an *Error with the code.
		_, err = f.anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: f.keys["revoked"], Domain: "shop.example.com"})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Code != client.CodeRevoked || !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("revoked: %v", err)
		}
	})
}

// usage is the license's validations counted so far.
func usage(t *testing.T, f *fileFixture, name string) int64 {
	t.Helper()
	ctx := context.Background()
	if err := f.n.Stack.Validator.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := f.n.Store.LicenseUsage(ctx, licenseID(t, f.runtime, name), "2000-01-01", "2100-01-01")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, d := range u {
		n += d.Count
	}
	return n
}
