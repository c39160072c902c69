package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/geoip/geoiptest"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// runtime is a fixture for validation: projects, domains and one license
// per rule under test.
type runtime struct {
	n       *apptest.Node
	owner   apptest.Account
	key     string
	paid    int64 // project with has_paid
	unpaid  int64 // project without
	keys    map[string]string
	domains map[string]int64
}

func newRuntime(t *testing.T, b storetest.Backend, opts ...apptest.Option) *runtime {
	t.Helper()
	geo := geoiptest.TempDB(t, map[string]string{"198.51.100.0/24": "NG", "203.0.113.0/24": "US"})
	opts = append([]apptest.Option{func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.GeoIPDB = geo
	}}, opts...)
	n := apptest.New(t, b, opts...)
	rt := &runtime{n: n, keys: map[string]string{}, domains: map[string]int64{}}
	rt.owner = n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, rt.key = n.CreateKey(t, rt.owner, service.KeyInput{})
	ctx := context.Background()
	a := rt.owner.Actor()
	mkProject := func(name string, paid, active bool) int64 {
		p, err := n.Service().CreateProject(ctx, a, service.ProjectInput{Name: service.Some(name), HasPaid: service.Some(paid), IsActive: service.Some(active)})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	rt.paid, rt.unpaid = mkProject("Paid", true, true), mkProject("Unpaid", false, true)
	inactive := mkProject("Inactive", true, false)
	for _, d := range []struct {
		host, env      string
		paid, verified bool
	}{
		{"shop.example.com", "production", true, true},
		{"staging.example.com", "staging", true, true},
		{"dev.example.com", "development", true, true},
		{"unpaid.example.com", "production", false, true},
		{"unverified.example.com", "production", true, false},
	} {
		dom, err := n.Service().CreateDomain(ctx, a, rt.paid, service.DomainInput{Domain: service.Some(d.host), Environment: service.Some(d.env),
			HasPaid: service.Some(d.paid), IsVerified: service.Some(d.verified)})
		if err != nil {
			t.Fatal(err)
		}
		rt.domains[d.host] = dom.ID
	}
	i64 := func(n int64) *int64 { return &n }
	licenses := []struct {
		name    string
		project int64
		in      service.LicenseInput
	}{
		{"basic", rt.paid, service.LicenseInput{}},
		{"revoked", rt.paid, service.LicenseInput{}},
		{"suspended", rt.paid, service.LicenseInput{}},
		{"expired", rt.paid, service.LicenseInput{}},
		{"pinned", rt.paid, service.LicenseInput{DomainID: service.Some(rt.domains["shop.example.com"])}},
		{"pinned-unpaid", rt.paid, service.LicenseInput{DomainID: service.Some(rt.domains["unpaid.example.com"])}},
		{"project-domains", rt.paid, service.LicenseInput{ValidateAgainst: service.Some(core.ValidateProjectDomains)}},
		{"one-domain", rt.paid, service.LicenseInput{MaxDomains: service.Some(i64(1))}},
		{"one-subdomain", rt.paid, service.LicenseInput{MaxDomains: service.Some(i64(5)), MaxSubdomainsPerDomain: service.Some(i64(1))}},
		{"test", rt.paid, service.LicenseInput{IsTestLicense: service.Some(true)}},
		{"ip", rt.paid, service.LicenseInput{AllowedIPs: service.Some(new("10.0.0.0/8, 198.51.100.7"))}},
		{"country", rt.paid, service.LicenseInput{AllowedCountries: service.Some(new("NG, GH"))}},
		{"capped", rt.paid, service.LicenseInput{MaxUsagePerDay: service.Some(i64(2))}},
		{"unpaid", rt.unpaid, service.LicenseInput{}},
		{"capped-unpaid", rt.unpaid, service.LicenseInput{MaxUsagePerDay: service.Some(i64(1))}},
		{"inactive", inactive, service.LicenseInput{}},
	}
	for _, l := range licenses {
		l.in.Title = service.Some(l.name)
		lic, err := n.Service().CreateLicense(ctx, a, l.project, l.in)
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		rt.keys[l.name] = lic.UUID
		switch l.name {
		case "revoked":
			_, err = n.Service().RevokeLicense(ctx, a, l.project, lic.ID)
		case "suspended":
			_, err = n.Service().SuspendLicense(ctx, a, l.project, lic.ID)
		case "expired":
			past := n.Clock.Now().Add(-time.Hour)
			pp := &past
			_, err = n.Store.UpdateLicense(ctx, lic.ID, core.LicenseUpdate{ExpiresAt: &pp})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rt.keys["unknown"] = licensing.NewKey(n.Clock.Now())
	return rt
}

type validation struct {
	Valid   bool   `json:"valid"`
	Code    string `json:"code"`
	HasPaid bool   `json:"has_paid"`
	License *struct {
		ID int64 `json:"id"`
	} `json:"license"`
	Usage *struct {
		Today int64 `json:"today"`
		Limit int64 `json:"limit"`
	} `json:"usage"`
	Proof *struct {
		Token string `json:"token"`
	} `json:"proof"`
	Injectables []map[string]any `json:"injectables"`
}

type check struct {
	name    string
	license string // fixture name; "" sends no key
	domain  string // X-Devpayr-Domain; "" sends none
	client  string // X-Forwarded-For through the trusted proxy
	query   string
	code    string
	status  int  // of the DevPayr route
	paid    bool // data.has_paid on the DevPayr route when 200
}

func (rt *runtime) devpayr(t *testing.T, c check) *apptest.Response {
	t.Helper()
	var h []string
	if c.license != "" {
		h = append(h, "X-LICENSE-KEY", rt.keys[c.license])
	}
	if c.domain != "" {
		h = append(h, "X-Devpayr-Domain", c.domain)
	}
	if c.client != "" {
		h = append(h, "X-Forwarded-For", c.client)
	}
	return rt.n.Do(t, "POST", "/api/v1/project/has-paid"+c.query, "[]", h...)
}

func (rt *runtime) native(t *testing.T, c check, extra map[string]any) (*apptest.Response, validation) {
	t.Helper()
	body := map[string]any{}
	if c.license != "" {
		body["license"] = rt.keys[c.license]
	}
	if c.domain != "" {
		body["domain"] = c.domain
	}
	if strings.Contains(c.query, "check_project") {
		body["check_project"] = true
	}
	for k, v := range extra {
		body[k] = v
	}
	var h []string
	if c.client != "" {
		h = append(h, "X-Forwarded-For", c.client)
	}
	r := rt.n.Do(t, "POST", "/api/v1/licenses/validate", body, h...)
	var v validation
	if r.Status == 200 {
		r.Decode(t, &v)
	}
	return r, v
}

func TestEveryResultCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		const domainMsg = "This license is not authorized for the current domain."
		checks := []check{
			{"valid on a paid domain", "basic", "shop.example.com", "", "", licensing.CodeValid, 200, true},
			{"valid, unregistered domain falls back to the project", "basic", "random.example.net", "", "", licensing.CodeValid, 200, true},
			{"valid on a fingerprint", "basic", "fp_0123456789abcdef0123456789abcdef", "", "", licensing.CodeValid, 200, true},
			{"valid with check_project and no domain", "basic", "", "", "?action=check_project", licensing.CodeValid, 200, true},
			{"unpaid domain", "basic", "unpaid.example.com", "", "", licensing.CodeUnpaid, 200, false},
			{"check_project overrides the domain", "basic", "unpaid.example.com", "", "?action=check_project", licensing.CodeValid, 200, true},
			{"key missing", "", "shop.example.com", "", "", licensing.CodeKeyMissing, 401, false},
			{"not found", "unknown", "shop.example.com", "", "", licensing.CodeNotFound, 404, false},
			{"revoked", "revoked", "shop.example.com", "", "", licensing.CodeRevoked, 403, false},
			{"revoked even when paid", "revoked", "shop.example.com", "", "?action=check_project", licensing.CodeRevoked, 403, false},
			{"suspended", "suspended", "shop.example.com", "", "", licensing.CodeSuspended, 403, false},
			{"expired", "expired", "shop.example.com", "", "", licensing.CodeExpired, 403, false},
			{"inactive project", "inactive", "shop.example.com", "", "", licensing.CodeProjectInactive, 403, false},
			{"domain required", "basic", "", "", "", licensing.CodeDomainRequired, 400, false},
			{"domain required by a pin", "pinned", "", "", "?action=check_project", licensing.CodeDomainRequired, 400, false},
			{"pinned domain", "pinned", "shop.example.com", "", "", licensing.CodeValid, 200, true},
			{"pinned domain, upper case", "pinned", "SHOP.Example.COM.", "", "", licensing.CodeValid, 200, true},
			{"pinned, other domain", "pinned", "other.example.com", "", "", licensing.CodeDomainNotAllowed, 403, false},
			{"pinned to an unpaid domain", "pinned-unpaid", "unpaid.example.com", "", "", licensing.CodeUnpaid, 200, false},
			{"project domains: registered and verified", "project-domains", "shop.example.com", "", "", licensing.CodeValid, 200, true},
			{"project domains: unverified", "project-domains", "unverified.example.com", "", "", licensing.CodeDomainNotAllowed, 403, false},
			{"project domains: unregistered", "project-domains", "random.example.net", "", "", licensing.CodeDomainNotAllowed, 403, false},
			{"project domains: local host is relaxed", "project-domains", "localhost", "", "", licensing.CodeValid, 200, true},
			{"first domain", "one-domain", "alpha.example.org", "", "", licensing.CodeValid, 200, true},
			{"same domain again", "one-domain", "alpha.example.org", "", "", licensing.CodeValid, 200, true},
			{"second domain", "one-domain", "beta.example.net", "", "", licensing.CodeTooManyDomains, 403, false},
			{"local hosts do not count", "one-domain", "myapp.test", "", "", licensing.CodeValid, 200, true},
			{"base domain", "one-subdomain", "example.co.uk", "", "", licensing.CodeValid, 200, true},
			{"first subdomain", "one-subdomain", "a.example.co.uk", "", "", licensing.CodeValid, 200, true},
			{"second subdomain", "one-subdomain", "b.example.co.uk", "", "", licensing.CodeTooManySubdomains, 403, false},
			{"subdomain of another base", "one-subdomain", "a.other.co.uk", "", "", licensing.CodeValid, 200, true},
			{"test license on localhost", "test", "localhost:3000", "", "", licensing.CodeValid, 200, true},
			{"test license on .test", "test", "shop.test", "", "", licensing.CodeValid, 200, true},
			{"test license on production", "test", "shop.example.com", "", "", licensing.CodeEnvironment, 403, false},
			{"production license on staging", "basic", "staging.example.com", "", "", licensing.CodeEnvironment, 403, false},
			{"production license on development", "basic", "dev.example.com", "", "", licensing.CodeEnvironment, 403, false},
			{"ip outside the list", "ip", "shop.example.com", "", "", licensing.CodeIPNotAllowed, 403, false},
			{"ip inside a CIDR", "ip", "shop.example.com", "10.20.30.40", "", licensing.CodeValid, 200, true},
			{"ip exact", "ip", "shop.example.com", "198.51.100.7", "", licensing.CodeValid, 200, true},
			{"country allowed", "country", "shop.example.com", "198.51.100.20", "", licensing.CodeValid, 200, true},
			{"country refused", "country", "shop.example.com", "203.0.113.5", "", licensing.CodeCountryNotAllowed, 403, false},
			{"country unknown is refused", "country", "shop.example.com", "192.0.2.1", "", licensing.CodeCountryNotAllowed, 403, false},
			{"capped 1", "capped", "shop.example.com", "", "", licensing.CodeValid, 200, true},
			{"capped 2", "capped", "shop.example.com", "", "", licensing.CodeValid, 200, true},
			{"capped 3", "capped", "shop.example.com", "", "", licensing.CodeUsageExceeded, 429, false},
			{"unpaid project", "unpaid", "shop.example.com", "", "?action=check_project", licensing.CodeUnpaid, 200, false},
			{"unpaid is not counted", "capped-unpaid", "x.example.com", "", "", licensing.CodeUnpaid, 200, false},
			{"unpaid again, still not counted", "capped-unpaid", "x.example.com", "", "", licensing.CodeUnpaid, 200, false},
		}
		t.Run("devpayr", func(t *testing.T) {
			rt := newRuntime(t, b)
			for _, c := range checks {
				r := rt.devpayr(t, c)
				if r.Status != c.status || r.Env.Message == "" {
					t.Fatalf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
				}
				if c.status == 200 {
					var d struct {
						HasPaid *bool  `json:"has_paid"`
						Code    string `json:"code"`
					}
					r.Decode(t, &d)
					if d.HasPaid == nil || *d.HasPaid != c.paid || d.Code != c.code {
						t.Fatalf("%s: data %s, want has_paid %v code %s", c.name, r.Env.Data, c.paid, c.code)
					}
				} else if r.Env.Code != c.code {
					t.Fatalf("%s: code %q, want %q: %s", c.name, r.Env.Code, c.code, r.Body)
				}
				// DevPayr's message for every domain refusal; a limit
				// reached adds a sentence naming it.
				if strings.HasPrefix(c.code, "DOMAIN_NOT") || strings.HasPrefix(c.code, "TOO_MANY") || c.code == licensing.CodeEnvironment {
					if !strings.HasPrefix(r.Env.Message, domainMsg) ||
						(c.code == licensing.CodeTooManyDomains) != strings.Contains(r.Env.Message, "max_domains") ||
						(c.code == licensing.CodeTooManySubdomains) != strings.Contains(r.Env.Message, "max_subdomains_per_domain") {
						t.Fatalf("%s: message %q", c.name, r.Env.Message)
					}
				}
				if c.code == licensing.CodeUsageExceeded && r.Header.Get("Retry-After") == "" {
					t.Fatalf("%s: no Retry-After", c.name)
				}
				if r.Header.Get("Access-Control-Allow-Origin") != "*" {
					t.Fatalf("%s: no CORS header", c.name)
				}
			}
		})
		t.Run("native", func(t *testing.T) {
			rt := newRuntime(t, b)
			for _, c := range checks {
				r, v := rt.native(t, c, nil)
				if c.code == licensing.CodeKeyMissing {
					if r.Status != 422 || r.Env.Errors["license"] == nil {
						t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
					}
					continue
				}
				if r.Status != 200 || v.Code != c.code || v.Valid != (c.code == licensing.CodeValid) {
					t.Fatalf("%s: %d %s, want code %s", c.name, r.Status, r.Body, c.code)
				}
				if c.code == licensing.CodeValid && !v.HasPaid {
					t.Fatalf("%s: valid but has_paid false", c.name)
				}
				if c.license != "unknown" && (v.License == nil || strings.Contains(string(r.Body), rt.keys[c.license])) {
					t.Fatalf("%s: the summary is missing or shows the key: %s", c.name, r.Body)
				}
			}
			// A project the license does not belong to.
			r, v := rt.native(t, check{license: "basic", domain: "shop.example.com"}, map[string]any{"project_id": rt.unpaid})
			if r.Status != 200 || v.Code != licensing.CodeProjectMismatch || v.License != nil {
				t.Fatalf("project mismatch: %s", r.Body)
			}
		})
	})
}

func TestLicenseRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b, func(c *config.Config) { c.LicenseRateLimit = 3; c.IPRateLimit = 2 })
		rt.n.Clock.Set(rt.n.Clock.Now().Truncate(time.Minute).Add(time.Second))
		c := check{license: "basic", domain: "shop.example.com"}
		for range 3 {
			if r := rt.devpayr(t, c); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		r := rt.devpayr(t, c)
		if r.Status != 429 || r.Env.Code != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("over the license limit: %d %s %v", r.Status, r.Body, r.Header)
		}
		if r, _ := rt.native(t, c, nil); r.Status != 429 {
			t.Fatalf("native over the limit: %d", r.Status)
		}
		// Another license is not affected; unknown keys count per IP.
		if r := rt.devpayr(t, check{license: "pinned", domain: "shop.example.com"}); r.Status != 200 {
			t.Fatalf("other license: %d", r.Status)
		}
		for range 2 {
			if r := rt.devpayr(t, check{license: "unknown", domain: "x.example.com"}); r.Status != 404 {
				t.Fatalf("unknown: %d", r.Status)
			}
		}
		if r := rt.devpayr(t, check{license: "unknown", domain: "x.example.com"}); r.Status != 429 {
			t.Fatalf("guessing is not throttled: %d", r.Status)
		}
	})
}

func TestRevocationSeenByNextValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		c := check{license: "basic", domain: "shop.example.com"}
		for range 3 { // cached now
			if r := rt.devpayr(t, c); r.Status != 200 {
				t.Fatal(r.Status)
			}
		}
		lid := licenseID(t, rt, "basic")
		path := fmt.Sprintf("/api/v1/project/%d/licenses/%d", rt.paid, lid)
		steps := []struct {
			method, path string
			body         any
			status       int
			code         string
		}{
			{"POST", path + "/revoke", nil, 403, licensing.CodeRevoked},
			{"POST", path + "/reactivate", nil, 200, licensing.CodeValid},
			{"POST", path + "/suspend", nil, 403, licensing.CodeSuspended},
			{"POST", path + "/reactivate", nil, 200, licensing.CodeValid},
			{"PATCH", path, map[string]any{"domain_id": rt.domains["unpaid.example.com"]}, 403, licensing.CodeDomainNotAllowed},
			{"PATCH", path, map[string]any{"domain_id": nil, "validate_against": "license_domains", "is_test_license": true}, 403, licensing.CodeEnvironment},
			{"PATCH", path, map[string]any{"is_test_license": false}, 200, licensing.CodeValid},
			{"PATCH", fmt.Sprintf("/api/v1/project/%d/domain/%d", rt.paid, rt.domains["shop.example.com"]), map[string]any{"has_paid": false}, 200, licensing.CodeUnpaid},
			{"PATCH", fmt.Sprintf("/api/v1/project/%d/domain/%d", rt.paid, rt.domains["shop.example.com"]), map[string]any{"environment": "staging"}, 403, licensing.CodeEnvironment},
			{"PATCH", fmt.Sprintf("/api/v1/project/%d", rt.paid), map[string]any{"is_active": false}, 403, licensing.CodeProjectInactive},
			{"PATCH", fmt.Sprintf("/api/v1/project/%d", rt.paid), map[string]any{"is_active": true}, 403, licensing.CodeEnvironment},
			{"DELETE", path, nil, 404, licensing.CodeNotFound},
		}
		for _, s := range steps {
			if r := rt.n.Do(t, s.method, s.path, s.body, apptest.Key(rt.key)...); r.Status != 200 {
				t.Fatalf("%s %s: %d %s", s.method, s.path, r.Status, r.Body)
			}
			r := rt.devpayr(t, c)
			got := r.Env.Code
			if r.Status == 200 {
				var d struct {
					Code string `json:"code"`
				}
				r.Decode(t, &d)
				got = d.Code
			}
			if r.Status != s.status || got != s.code {
				t.Fatalf("after %s %s: %d %s, want %d %s", s.method, s.path, r.Status, r.Body, s.status, s.code)
			}
		}
	})
}

func licenseID(t *testing.T, rt *runtime, name string) int64 {
	t.Helper()
	l, err := rt.n.Store.LicenseByDigest(context.Background(), licensing.KeyDigest(rt.keys[name]))
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// TestCapUnderConcurrency: 64 concurrent clients, a cap of 100: exactly
// 100 validations pass.
func TestCapUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b, func(c *config.Config) { c.LicenseRateLimit = 1 << 20 })
		ctx := context.Background()
		hundred := int64(100)
		lic, err := rt.n.Service().CreateLicense(ctx, rt.owner.Actor(), rt.paid, service.LicenseInput{Title: service.Some("hundred"), MaxUsagePerDay: service.Some(&hundred)})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 4 {
					r := rt.n.Do(t, "POST", "/api/v1/project/has-paid", "{}", "X-LICENSE-KEY", lic.UUID, "X-Devpayr-Domain", "shop.example.com")
					mu.Lock()
					codes[r.Status]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if codes[200] != 100 || codes[429] != 156 {
			t.Fatalf("statuses %v, want exactly 100 × 200 and 156 × 429", codes)
		}
		usage, err := rt.n.Store.LicenseUsage(ctx, lic.ID, "2000-01-01", "2100-01-01")
		if err != nil || len(usage) != 1 || usage[0].Count != 100 {
			t.Fatalf("stored usage %v, %v", usage, err)
		}
	})
}

// TestUncappedCountsFlushed: uncapped validations write nothing until the
// flush, then the day's count and the activations are stored.
func TestUncappedCountsFlushed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		ctx := context.Background()
		lid := licenseID(t, rt, "basic")
		for _, d := range []string{"a.example.org", "b.example.org", "a.example.org", "localhost", "fp_abc"} {
			if r := rt.devpayr(t, check{license: "basic", domain: d}); r.Status != 200 {
				t.Fatal(r.Status)
			}
		}
		if u, _ := rt.n.Store.LicenseUsage(ctx, lid, "2000-01-01", "2100-01-01"); len(u) != 0 {
			t.Fatalf("uncapped validations wrote synchronously: %v", u)
		}
		if p := rt.n.Stack.Validator.Pending(lid); p[rt.n.Clock.Now().UTC().Format(time.DateOnly)] != 5 {
			t.Fatalf("pending = %v", p)
		}
		if err := rt.n.Stack.Validator.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := rt.n.Store.LicenseUsage(ctx, lid, "2000-01-01", "2100-01-01")
		if err != nil || len(u) != 1 || u[0].Count != 5 {
			t.Fatalf("usage after flush: %v %v", u, err)
		}
		acts, err := rt.n.Store.ListActivations(ctx, lid)
		if err != nil || len(acts) != 3 {
			t.Fatalf("activations (local hosts excluded) = %+v %v", acts, err)
		}
	})
}

// TestDomainLimitedUsesCounted checks that every validation answered VALID
// is counted in the day's usage, also the one that first activates a domain
// of a license with max_domains or max_subdomains (those activations are
// written at once, the count with the uncapped others at the next flush).
func TestDomainLimitedUsesCounted(t *testing.T) {
	tests := []struct {
		license string
		domains []string
	}{
		{"basic", []string{"a.example.org", "a.example.org"}},
		{"one-domain", []string{"a.example.org", "a.example.org", "b.example.net", "www.a.example.org"}},
		{"one-subdomain", []string{"x.example.org", "x.example.org", "y.example.org", "example.org", "z.example.net"}},
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.license, func(t *testing.T) {
				lid := licenseID(t, rt, tt.license)
				var valid int64
				for _, d := range tt.domains {
					r := rt.devpayr(t, check{license: tt.license, domain: d})
					if r.Status == 200 {
						valid++
					}
				}
				if valid < 2 {
					t.Fatalf("only %d validations passed: the case tests nothing", valid)
				}
				if err := rt.n.Stack.Validator.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				u, err := rt.n.Store.LicenseUsage(ctx, lid, "2000-01-01", "2100-01-01")
				if err != nil {
					t.Fatal(err)
				}
				var got int64
				for _, d := range u {
					got += d.Count
				}
				if got != valid {
					t.Errorf("%d validations answered VALID, %d counted", valid, got)
				}
			})
		}
	})
}

func TestOfflineProof(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		r := rt.n.Do(t, "GET", "/api/v1/keys/license-signing", nil)
		var key struct {
			Alg       string `json:"alg"`
			KID       string `json:"kid"`
			PublicKey string `json:"public_key"`
			PEM       string `json:"pem"`
		}
		r.Decode(t, &key)
		pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize || key.Alg != "Ed25519" || !strings.Contains(key.PEM, "BEGIN PUBLIC KEY") {
			t.Fatalf("signing key: %s", r.Body)
		}
		_, v := rt.native(t, check{license: "pinned", domain: "shop.example.com"}, map[string]any{"proof": true, "proof_ttl": 3600})
		if v.Proof == nil {
			t.Fatal("no proof")
		}
		p, err := client.VerifyProof(pub, v.Proof.Token, rt.n.Clock.Now())
		if err != nil || p.LicenseID != v.License.ID || p.ProjectID != rt.paid || p.Domain != "shop.example.com" || p.KeyID != key.KID ||
			p.ExpiresAt.Unix() != rt.n.Clock.Now().Add(time.Hour).Unix() {
			t.Fatalf("proof %+v, %v", p, err)
		}
		if _, err := client.VerifyProof(pub, v.Proof.Token, rt.n.Clock.Now().Add(time.Hour)); err == nil {
			t.Fatal("an expired proof verifies")
		}
		// No proof for a failed validation; a bad ttl is 422.
		_, v = rt.native(t, check{license: "revoked", domain: "shop.example.com"}, map[string]any{"proof": true})
		if v.Proof != nil {
			t.Fatal("a revoked license got a proof")
		}
		if r, _ := rt.native(t, check{license: "basic", domain: "shop.example.com"}, map[string]any{"proof": true, "proof_ttl": 1}); r.Status != 422 {
			t.Fatalf("bad ttl: %d", r.Status)
		}
	})
}

func TestCORSPreflight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		for _, path := range []string{"/api/v1/project/has-paid", "/api/v1/injectable/stream", "/api/v1/licenses/validate"} {
			r := rt.n.Do(t, "OPTIONS", path, nil, "Origin", "https://customer.example", "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type,x-devpayr-domain,x-license-key,x-requested-with")
			h := r.Header
			if r.Status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
				t.Fatalf("%s: %d %v", path, r.Status, h)
			}
			allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
			for _, want := range []string{"x-license-key", "x-devpayr-domain", "x-requested-with", "content-type", "accept"} {
				if !strings.Contains(allowed, want) {
					t.Fatalf("%s: %s not allowed", path, want)
				}
			}
		}
	})
}

// TestPaymentStatusByAPIKey is GET /project/{p}/has-paid.
func TestPaymentStatusByAPIKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		_, noPay := n.CreateKey(t, rt.owner, service.KeyInput{Scopes: []string{"projects:read"}})
		p := fmt.Sprintf("/api/v1/project/%d/has-paid", rt.paid)
		tests := []struct {
			name    string
			key     string
			path    string
			headers []string
			status  int
			want    string
		}{
			{"project level", rt.key, p + "?action=check_project", nil, 200, `"has_paid":true`},
			{"unpaid project", rt.key, fmt.Sprintf("/api/v1/project/%d/has-paid?action=check_project", rt.unpaid), nil, 200, `"has_paid":false`},
			{"paid domain", rt.key, p, []string{"X-Devpayr-Domain", "shop.example.com"}, 200, `"has_paid":true`},
			{"unpaid domain", rt.key, p, []string{"x-devpayr-domain", "unpaid.example.com"}, 200, `"has_paid":false`},
			{"no domain", rt.key, p, nil, 400, "DOMAIN_REQUIRED"},
			{"unregistered domain", rt.key, p, []string{"X-Devpayr-Domain", "nope.example.com"}, 403, "not registered"},
			{"missing scope", noPay, p + "?action=check_project", nil, 403, "payments:read"},
			{"no key", "", p, nil, 401, "Missing required X-API-KEY header."},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				h := tc.headers
				if tc.key != "" {
					h = append(h, apptest.Key(tc.key)...)
				}
				wantStatus(t, n.Do(t, "GET", tc.path, nil, h...), tc.status, tc.want)
			})
		}
	})
}

func new[T any](v T) *T { return &v }

var _ = json.Marshal
