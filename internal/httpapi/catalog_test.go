package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

type licenseView struct {
	ID               int64   `json:"id"`
	ProjectID        int64   `json:"project_id"`
	DomainID         *int64  `json:"domain_id"`
	Title            string  `json:"title"`
	UUID             string  `json:"uuid"`
	Status           string  `json:"status"`
	ExpiresAt        *string `json:"expires_at"`
	MaxDomains       *int64  `json:"max_domains"`
	AllowedIPs       *string `json:"allowed_ips"`
	AllowedCountries *string `json:"allowed_countries"`
	IsTestLicense    bool    `json:"is_test_license"`
}

// catalog is a fixture with two projects in one organization, a third in
// another, and keys of every shape.
type catalog struct {
	n                      *apptest.Node
	owner, other           apptest.Account
	key, otherKey          string // global keys of each organization
	p1, p2, foreign        int64  // projects: two of ours, one of theirs
	scopedKey              string // bound to p1
	readOnly, noPayments   string
	limited                string // a rate limit of 1 per minute, used up
	d1, d2, foreignDomain  int64
	lic1, lic2, foreignLic int64
}

func newCatalog(t *testing.T, b storetest.Backend, opts ...apptest.Option) *catalog {
	t.Helper()
	n := apptest.New(t, b, opts...)
	c := &catalog{n: n}
	c.owner = n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, c.key = n.CreateKey(t, c.owner, service.KeyInput{Name: "global"})
	c.other = n.CreateUser(t, "Globex", "owner@globex.test", core.RoleOwner)
	_, c.otherKey = n.CreateKey(t, c.other, service.KeyInput{Name: "theirs"})
	ctx := context.Background()
	mk := func(acc apptest.Account, name string) int64 {
		p, err := n.Service().CreateProject(ctx, acc.Actor(), service.ProjectInput{Name: service.Some(name)})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	c.p1, c.p2, c.foreign = mk(c.owner, "Pro Plugin"), mk(c.owner, "Theme"), mk(c.other, "Their app")
	_, c.scopedKey = n.CreateKey(t, c.owner, service.KeyInput{Name: "p1 only", ProjectID: c.p1})
	_, c.readOnly = n.CreateKey(t, c.owner, service.KeyInput{Scopes: []string{"projects:read", "licenses:read", "domains:read"}})
	_, c.noPayments = n.CreateKey(t, c.owner, service.KeyInput{Scopes: []string{"projects:read", "projects:write", "domains:read", "domains:write"}})
	_, c.limited = n.CreateKey(t, c.owner, service.KeyInput{RateLimit: 1})
	n.Clock.Set(n.Clock.Now().Truncate(time.Minute).Add(time.Second))
	n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(c.limited)...) // uses the minute's only request
	dom := func(acc apptest.Account, p int64, host string) int64 {
		d, err := n.Service().CreateDomain(ctx, acc.Actor(), p, service.DomainInput{Domain: service.Some(host), Environment: service.Some("production")})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	c.d1, c.d2, c.foreignDomain = dom(c.owner, c.p1, "shop.example.com"), dom(c.owner, c.p2, "theme.example.com"), dom(c.other, c.foreign, "globex.example")
	lic := func(acc apptest.Account, p int64, title string) int64 {
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), p, service.LicenseInput{Title: service.Some(title)})
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	c.lic1, c.lic2, c.foreignLic = lic(c.owner, c.p1, "Customer A"), lic(c.owner, c.p2, "Customer B"), lic(c.other, c.foreign, "Theirs")
	return c
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// TestAccessMatrix runs every project route through the failures all of
// them share, in DevPayr's order.
func TestAccessMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		p, d, l := id(c.p1), id(c.d1), id(c.lic1)
		routes := []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/project/" + p, nil},
			{"PUT", "/api/v1/project/" + p, map[string]any{"name": "x"}},
			{"PATCH", "/api/v1/project/" + p, map[string]any{"name": "x"}},
			{"DELETE", "/api/v1/project/" + p, nil},
			{"GET", "/api/v1/project/" + p + "/domains", nil},
			{"POST", "/api/v1/project/" + p + "/domains", map[string]any{"domain": "new.example.com", "environment": "production"}},
			{"GET", "/api/v1/project/" + p + "/domain/" + d, nil},
			{"GET", "/api/v1/project/" + p + "/domains/" + d, nil},
			{"PUT", "/api/v1/project/" + p + "/domain/" + d, map[string]any{"is_verified": true}},
			{"DELETE", "/api/v1/project/" + p + "/domains/" + d, nil},
			{"GET", "/api/v1/project/" + p + "/licenses", nil},
			{"POST", "/api/v1/project/" + p + "/licenses", map[string]any{"title": "new"}},
			{"PATCH", "/api/v1/project/" + p + "/licenses/" + l, map[string]any{"title": "renamed"}},
			{"POST", "/api/v1/project/" + p + "/licenses/" + l + "/revoke", nil},
			{"POST", "/api/v1/project/" + p + "/licenses/" + l + "/suspend", nil},
			{"POST", "/api/v1/project/" + p + "/licenses/" + l + "/reactivate", nil},
			{"DELETE", "/api/v1/project/" + p + "/licenses/" + l, nil},
		}
		for _, rt := range routes {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				wantStatus(t, c.n.Do(t, rt.method, rt.path, rt.body), 401, "Missing required X-API-KEY header.")
				wantStatus(t, c.n.Do(t, rt.method, rt.path, rt.body, "X-API-KEY", "sk_live_nope"), 403, "Invalid or expired API key.")
				wantStatus(t, c.n.Do(t, rt.method, rt.path, rt.body, apptest.Key(c.otherKey)...), 403, "API key does not match project owner.")
				r := c.n.Do(t, rt.method, rt.path, rt.body, apptest.Key(c.limited)...)
				wantStatus(t, r, 429)
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				// A scoped key of p1 on p2's equivalent route.
				other := strings.Replace(rt.path, "/project/"+p, "/project/"+id(c.p2), 1)
				wantStatus(t, c.n.Do(t, rt.method, other, rt.body, apptest.Key(c.scopedKey)...), 403, "API key does not match project owner.")
				missing := strings.Replace(rt.path, "/project/"+p, "/project/999999", 1)
				wantStatus(t, c.n.Do(t, rt.method, missing, rt.body, apptest.Key(c.key)...), 404)
				nonNumeric := strings.Replace(rt.path, "/project/"+p, "/project/abc", 1)
				wantStatus(t, c.n.Do(t, rt.method, nonNumeric, rt.body, apptest.Key(c.key)...), 404)
			})
		}
	})
}

func TestProjects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b, func(cfg *config.Config) { cfg.MaxBodyBytes = 2048 })
		n := c.n
		tests := []struct {
			name   string
			key    string
			method string
			path   string
			body   any
			status int
			want   []string
		}{
			{"list", c.key, "GET", "/api/v1/projects?action=check_project&include=injectables", nil, 200, []string{`"name":"Pro Plugin"`, `"name":"Theme"`, `"next_cursor":null`}},
			{"list hides other tenants", c.key, "GET", "/api/v1/projects", nil, 200, nil},
			{"create minimal", c.key, "POST", "/api/v1/project", map[string]any{"name": "New Product"}, 201, []string{`"slug":"new-product"`, `"has_paid":false`, `"meta":{}`}},
			{"create full", c.key, "POST", "/api/v1/project", map[string]any{"name": "Full", "slug": "full_1", "description": "d",
				"default_redirect_url": "https://acme.test/buy", "webhook_url": "https://hooks.acme.test/x", "webhook_secret": "whsec",
				"logo_url": "https://acme.test/logo.png", "meta": `{"tier":"gold"}`, "has_paid": true}, 201,
				[]string{`"slug":"full_1"`, `"meta":{"tier":"gold"}`, `"has_paid":true`, `"has_webhook_secret":true`}},
			{"slug taken", c.key, "POST", "/api/v1/project", map[string]any{"name": "Dup", "slug": "pro-plugin"}, 422, []string{"slug has already been taken"}},
			{"auto slug avoids taken", c.key, "POST", "/api/v1/project", map[string]any{"name": "Pro Plugin"}, 201, []string{`"slug":"pro-plugin-2"`}},
			{"bad slug", c.key, "POST", "/api/v1/project", map[string]any{"name": "x", "slug": "has space"}, 422, []string{"letters, numbers, dashes, and underscores"}},
			{"name required", c.key, "POST", "/api/v1/project", map[string]any{"description": "x"}, 422, []string{`"name":["The name field is required."]`}},
			{"empty body", c.key, "POST", "/api/v1/project", "", 422, []string{"name field is required"}},
			{"bad url", c.key, "POST", "/api/v1/project", map[string]any{"name": "x", "webhook_url": "ftp://x"}, 422, []string{"webhook url field must be a valid URL"}},
			{"meta not an object", c.key, "POST", "/api/v1/project", map[string]any{"name": "x", "meta": "[1,2]"}, 422, []string{"meta field must be a JSON object"}},
			{"name too long", c.key, "POST", "/api/v1/project", map[string]any{"name": strings.Repeat("x", 256)}, 422, []string{"255"}},
			{"too large", c.key, "POST", "/api/v1/project", map[string]any{"name": strings.Repeat("x", 3000)}, 413, nil},
			{"scoped key cannot create", c.scopedKey, "POST", "/api/v1/project", map[string]any{"name": "x"}, 403, []string{"Only global API keys can create projects."}},
			{"read-only cannot create", c.readOnly, "POST", "/api/v1/project", map[string]any{"name": "x"}, 403, []string{"projects:write"}},
			{"has_paid needs payments:write", c.noPayments, "POST", "/api/v1/project", map[string]any{"name": "x", "has_paid": true}, 403, []string{"payments:write"}},
			{"show", c.key, "GET", "/api/v1/project/" + id(c.p1), nil, 200, []string{`"name":"Pro Plugin"`}},
			{"show hides secrets", c.key, "GET", "/api/v1/project/" + id(c.p1), nil, 200, nil},
			{"update put", c.key, "PUT", "/api/v1/project/" + id(c.p2), map[string]any{"description": "new"}, 200, []string{`"description":"new"`, `"name":"Theme"`}},
			{"update patch", c.key, "PATCH", "/api/v1/project/" + id(c.p2), map[string]any{"name": "Theme 2", "description": nil}, 200, []string{`"name":"Theme 2"`, `"description":null`}},
			{"update empty name", c.key, "PATCH", "/api/v1/project/" + id(c.p2), map[string]any{"name": ""}, 422, []string{"name field is required"}},
			{"update has_paid without scope", c.noPayments, "PATCH", "/api/v1/project/" + id(c.p2), map[string]any{"has_paid": true}, 403, []string{"payments:write"}},
			{"update has_paid", c.key, "PATCH", "/api/v1/project/" + id(c.p2), map[string]any{"has_paid": "1"}, 200, []string{`"has_paid":true`}},
			{"update bad boolean", c.key, "PATCH", "/api/v1/project/" + id(c.p2), map[string]any{"has_paid": "maybe"}, 422, []string{"must be true or false"}},
			{"scoped key lists own project only", c.scopedKey, "GET", "/api/v1/projects", nil, 200, []string{`"name":"Pro Plugin"`}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, tc.method, tc.path, tc.body, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want...)
				for _, hidden := range []string{"user_id", "deleted_at", "\"webhook_secret\"", "license_key_id", "whsec"} {
					if strings.Contains(string(r.Body), hidden) {
						t.Fatalf("response shows hidden field %s: %s", hidden, r.Body)
					}
				}
			})
		}
		r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(c.scopedKey)...)
		if strings.Contains(string(r.Body), "Theme") {
			t.Fatalf("a scoped key lists another project: %s", r.Body)
		}
		if strings.Contains(string(n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(c.key)...).Body), "Their app") {
			t.Fatal("a listing shows another tenant's project")
		}

		// Delete: 200 JSON, then the project, its licenses and its scoped
		// keys are gone.
		wantStatus(t, n.Do(t, "DELETE", "/api/v1/project/"+id(c.p1), nil, apptest.Key(c.key)...), 200, `"deleted":true`)
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+id(c.p1), nil, apptest.Key(c.key)...), 404)
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+id(c.p1)+"/licenses", nil, apptest.Key(c.key)...), 404)
		wantStatus(t, n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(c.scopedKey)...), 403, "Invalid or expired API key.")
		wantStatus(t, n.Do(t, "DELETE", "/api/v1/project/"+id(c.p1), nil, apptest.Key(c.key)...), 404)
	})
}

func TestDomains(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		n := c.n
		p := "/api/v1/project/" + id(c.p1)
		tests := []struct {
			name   string
			key    string
			method string
			path   string
			body   any
			status int
			want   []string
		}{
			{"list", c.key, "GET", p + "/domains", nil, 200, []string{`"domain":"shop.example.com"`}},
			{"create", c.key, "POST", p + "/domains", map[string]any{"domain": "App.Example.com", "environment": "staging", "is_primary": true}, 201,
				[]string{`"domain":"app.example.com"`, `"environment":"staging"`, `"is_primary":true`, `"is_active":true`}},
			{"create localhost", c.key, "POST", p + "/domains", map[string]any{"domain": "localhost:3000", "environment": "development"}, 201, nil},
			{"create ipv6", c.key, "POST", p + "/domains", map[string]any{"domain": "[::1]:8080", "environment": "development"}, 201, nil},
			{"create ipv4", c.key, "POST", p + "/domains", map[string]any{"domain": "203.0.113.5:443", "environment": "production"}, 201, nil},
			{"duplicate", c.key, "POST", p + "/domains", map[string]any{"domain": "shop.example.com", "environment": "production"}, 422, []string{"domain has already been taken"}},
			{"bad host", c.key, "POST", p + "/domains", map[string]any{"domain": "not a host", "environment": "production"}, 422, []string{`"domain":["The domain field must be a valid domain`}},
			{"bare name", c.key, "POST", p + "/domains", map[string]any{"domain": "intranet", "environment": "production"}, 422, []string{"valid domain"}},
			{"missing fields", c.key, "POST", p + "/domains", "{}", 422, []string{"domain field is required", "environment field is required"}},
			{"bad environment", c.key, "POST", p + "/domains", map[string]any{"domain": "x.example.com", "environment": "prod"}, 422, []string{"selected environment is invalid"}},
			{"has_paid needs payments:write", c.noPayments, "POST", p + "/domains", map[string]any{"domain": "y.example.com", "environment": "production", "has_paid": true}, 403, []string{"payments:write"}},
			{"read-only cannot create", c.readOnly, "POST", p + "/domains", map[string]any{"domain": "z.example.com", "environment": "production"}, 403, []string{"domains:write"}},
			{"show singular", c.key, "GET", p + "/domain/" + id(c.d1), nil, 200, []string{`"message":"Domain successfully loaded."`, `"environment":"production"`}},
			{"show plural", c.key, "GET", p + "/domains/" + id(c.d1), nil, 200, []string{"Domain successfully loaded."}},
			{"show other project's domain", c.key, "GET", p + "/domain/" + id(c.d2), nil, 403, []string{"does not belong to this project"}},
			{"show missing", c.key, "GET", p + "/domain/999999", nil, 404, nil},
			{"show non-numeric", c.key, "GET", p + "/domain/x", nil, 404, nil},
			{"update", c.key, "PUT", p + "/domain/" + id(c.d1), map[string]any{"is_verified": "true", "environment": "staging"}, 200, []string{`"is_verified":true`, `"environment":"staging"`}},
			{"update plural patch", c.key, "PATCH", p + "/domains/" + id(c.d1), map[string]any{"is_locked": 1}, 200, []string{`"is_locked":true`}},
			{"update other project's domain", c.key, "PUT", p + "/domain/" + id(c.d2), map[string]any{"is_verified": true}, 404, nil},
			{"update bad host", c.key, "PUT", p + "/domain/" + id(c.d1), map[string]any{"domain": "x y"}, 422, nil},
			{"delete other project's domain", c.key, "DELETE", p + "/domains/" + id(c.d2), nil, 403, nil},
			{"delete", c.key, "DELETE", p + "/domains/" + id(c.d1), nil, 200, []string{`"message":"Domain deleted successfully."`}},
			{"delete again", c.key, "DELETE", p + "/domain/" + id(c.d1), nil, 404, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantStatus(t, n.Do(t, tc.method, tc.path, tc.body, apptest.Key(tc.key)...), tc.status, tc.want...)
			})
		}
		// The list shows exactly DevPayr's fields.
		r := n.Do(t, "GET", p+"/domains", nil, apptest.Key(c.key)...)
		var pg struct {
			Data []map[string]any `json:"data"`
		}
		r.Decode(t, &pg)
		if len(pg.Data) != 4 || len(pg.Data[0]) != 8 {
			t.Fatalf("domain list = %v", pg.Data)
		}
		// Only one primary domain.
		primaries := 0
		for _, d := range pg.Data {
			if d["is_primary"] == true {
				primaries++
			}
		}
		if primaries != 1 {
			t.Fatalf("%d primary domains", primaries)
		}
	})
}

func TestCreateLicense(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		n := c.n
		path := "/api/v1/project/" + id(c.p1) + "/licenses"
		future := n.Clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
		uuidV7 := regexp.MustCompile(`"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)
		tests := []struct {
			name   string
			key    string
			body   any
			status int
			want   []string
		}{
			{"minimal", c.key, map[string]any{"title": "Minimal"}, 201, []string{`"status":"active"`, `"domain_id":null`, `"expires_at":null`}},
			{"seed example", c.key, map[string]any{"title": "Gold", "domain_id": c.d1, "expires_at": future, "max_domains": 3,
				"max_subdomains_per_domain": 0, "max_usage_per_day": 1000, "allowed_ips": "127.0.0.1, 102.90.101.2",
				"allowed_countries": "ng, US, GB", "is_test_license": false, "allow_configs": true}, 201,
				[]string{fmt.Sprintf(`"domain_id":%d`, c.d1), `"max_domains":3`, `"max_subdomains_per_domain":0`, `"max_usage_per_day":1000`,
					`"allowed_ips":"127.0.0.1, 102.90.101.2"`, `"allowed_countries":"NG, US, GB"`, `"allow_configs":true`}},
			{"numeric strings", c.key, map[string]any{"title": "Strings", "max_domains": "5", "is_test_license": "1"}, 201, []string{`"max_domains":5`, `"is_test_license":true`}},
			{"cidr and array lists", c.key, map[string]any{"title": "Lists", "allowed_ips": []string{"10.0.0.0/8", "2001:db8::1"}, "allowed_countries": []string{"de"}}, 201,
				[]string{`"allowed_ips":"10.0.0.0/8, 2001:db8::1"`, `"allowed_countries":"DE"`}},
			{"nulls", c.key, map[string]any{"title": "Nulls", "domain_id": nil, "expires_at": nil, "max_domains": nil, "allowed_ips": nil}, 201, nil},
			{"title required", c.key, map[string]any{"max_domains": 1}, 422, []string{`"title":["The title field is required."]`}},
			{"php empty array", c.key, "[]", 422, []string{"title field is required"}},
			{"title too long", c.key, map[string]any{"title": strings.Repeat("t", 256)}, 422, []string{"must not be greater than 255 characters"}},
			{"title taken", c.key, map[string]any{"title": "Customer A"}, 422, []string{"title has already been taken"}},
			{"domain of another project", c.key, map[string]any{"title": "x", "domain_id": c.d2}, 422, []string{"selected domain id is invalid"}},
			{"domain of another tenant", c.key, map[string]any{"title": "x", "domain_id": c.foreignDomain}, 422, []string{"selected domain id is invalid"}},
			{"missing domain", c.key, map[string]any{"title": "x", "domain_id": 999999}, 422, []string{"selected domain id is invalid"}},
			{"not a date", c.key, map[string]any{"title": "x", "expires_at": "next week"}, 422, []string{"expires at field must be a valid date"}},
			{"past date", c.key, map[string]any{"title": "x", "expires_at": "2020-01-01"}, 422, []string{"must be a date after now"}},
			{"negative limit", c.key, map[string]any{"title": "x", "max_usage_per_day": -1}, 422, []string{"max usage per day field must be at least 0"}},
			{"fractional limit", c.key, map[string]any{"title": "x", "max_domains": 1.5}, 422, []string{"max domains field must be an integer"}},
			{"bad ip", c.key, map[string]any{"title": "x", "allowed_ips": "127.0.0.1, 300.1.1.1"}, 422, []string{`\"300.1.1.1\" is not one`}},
			{"bad country", c.key, map[string]any{"title": "x", "allowed_countries": "NG, UK"}, 422, []string{`\"UK\" is not one (the ISO code of the United Kingdom is GB)`}},
			{"bad boolean", c.key, map[string]any{"title": "x", "allow_configs": "perhaps"}, 422, []string{"allow configs field must be true or false"}},
			{"many problems at once", c.key, map[string]any{"max_domains": -2, "allowed_countries": "ZZ"}, 422, []string{"title", "max_domains", "allowed_countries"}},
			{"read-only", c.readOnly, map[string]any{"title": "x"}, 403, []string{"licenses:write"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := licenseCount(t, n, c.p1)
				r := n.Do(t, "POST", path, tc.body, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want...)
				after := licenseCount(t, n, c.p1)
				if tc.status == 201 {
					if !uuidV7.Match(r.Body) || after != before+1 {
						t.Fatalf("created: %s (count %d → %d)", r.Body, before, after)
					}
					for _, hidden := range []string{"uuid_hash", "validate_against", "user_id", "key_digest"} {
						if strings.Contains(string(r.Body), hidden) {
							t.Fatalf("hidden field %s shown", hidden)
						}
					}
				} else if after != before {
					t.Fatalf("a failed create changed the count %d → %d", before, after)
				}
			})
		}
	})
}

func licenseCount(t *testing.T, n *apptest.Node, project int64) int64 {
	t.Helper()
	counts, err := n.Store.CountLicenses(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, v := range counts {
		total += v
	}
	return total
}

func TestLicenseLifecycleAndCheckOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		n := c.n
		p1, p2 := "/api/v1/project/"+id(c.p1), "/api/v1/project/"+id(c.p2)
		l1 := p1 + "/licenses/" + id(c.lic1)
		exp := n.Clock.Now().Add(time.Hour)
		short, err := n.Service().CreateLicense(context.Background(), c.owner.Actor(), c.p1,
			service.LicenseInput{Title: service.Some("Short"), ExpiresAt: service.Some(&exp)})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name   string
			key    string
			method string
			path   string
			body   any
			status int
			want   []string
		}{
			// show: a license of another project is 404 before any key check.
			{"show", c.key, "GET", l1, nil, 200, []string{`"title":"Customer A"`, `"status":"active"`}},
			{"show license of other project", c.key, "GET", p1 + "/licenses/" + id(c.lic2), nil, 404, nil},
			{"show: 404 before the key's project check", c.scopedKey, "GET", p2 + "/licenses/" + id(c.lic1), nil, 404, nil},
			{"show: 404 before the owner check", c.otherKey, "GET", p1 + "/licenses/" + id(c.foreignLic), nil, 404, nil},
			{"show: then the owner check", c.otherKey, "GET", l1, nil, 403, []string{"API key does not match project owner."}},
			{"show missing", c.key, "GET", p1 + "/licenses/999999", nil, 404, nil},
			{"show non-numeric", c.key, "GET", p1 + "/licenses/abc", nil, 404, nil},
			// revoke: key checks, then membership (403), then state (403).
			{"revoke license of other project", c.key, "POST", p1 + "/licenses/" + id(c.lic2) + "/revoke", nil, 403, []string{"does not belong to this project"}},
			{"revoke missing", c.key, "POST", p1 + "/licenses/999999/revoke", nil, 404, nil},
			{"revoke with php body", c.key, "POST", l1 + "/revoke", "[]", 200, []string{`"status":"revoked"`, `"message":"License revoked successfully."`}},
			{"revoke again", c.key, "POST", l1 + "/revoke", "{}", 403, []string{"not active"}},
			{"suspend revoked", c.key, "POST", l1 + "/suspend", nil, 403, []string{"not active"}},
			{"reactivate", c.key, "POST", l1 + "/reactivate?action=check_project&include=injectables", nil, 200, []string{`"status":"active"`, `"revoked_at":null`}},
			{"reactivate active", c.key, "POST", l1 + "/reactivate", nil, 403, []string{"not revoked"}},
			{"suspend", c.key, "POST", l1 + "/suspend", nil, 200, []string{`"status":"suspended"`, `"suspended_at":"`}},
			{"reactivate suspended", c.key, "POST", l1 + "/reactivate", nil, 200, []string{`"status":"active"`, `"suspended_at":null`}},
			{"update", c.key, "PATCH", l1, map[string]any{"title": "Customer A+", "max_domains": 2, "allowed_countries": "de,fr"}, 200,
				[]string{`"title":"Customer A+"`, `"max_domains":2`, `"allowed_countries":"DE, FR"`}},
			{"update clears", c.key, "PATCH", l1, map[string]any{"max_domains": nil, "allowed_countries": ""}, 200, []string{`"max_domains":null`, `"allowed_countries":null`}},
			{"update pins domain", c.key, "PATCH", l1, map[string]any{"domain_id": c.d1}, 200, []string{fmt.Sprintf(`"domain_id":%d`, c.d1)}},
			{"update bad domain", c.key, "PATCH", l1, map[string]any{"domain_id": c.d2}, 422, []string{"selected domain id is invalid"}},
			{"update title taken", c.key, "PATCH", p1 + "/licenses/" + id(short.ID), map[string]any{"title": "Customer A+"}, 422, []string{"already been taken"}},
			{"update other project's license", c.key, "PATCH", p1 + "/licenses/" + id(c.lic2), map[string]any{"title": "x"}, 404, nil},
			{"read-only cannot revoke", c.readOnly, "POST", l1 + "/revoke", nil, 403, []string{"licenses:write"}},
			// delete: a license of another project is 422.
			{"delete license of other project", c.key, "DELETE", p1 + "/licenses/" + id(c.lic2), nil, 422, []string{"license"}},
			{"delete", c.key, "DELETE", l1, nil, 200, []string{`"deleted":true`}},
			{"delete again", c.key, "DELETE", l1, nil, 404, nil},
		}
		for _, s := range steps {
			r := n.Do(t, s.method, s.path, s.body, apptest.Key(s.key)...)
			if r.Status != s.status {
				t.Fatalf("%s: status %d, want %d: %s", s.name, r.Status, s.status, r.Body)
			}
			for _, w := range s.want {
				if !strings.Contains(string(r.Body), w) {
					t.Fatalf("%s: body %s lacks %q", s.name, r.Body, w)
				}
			}
		}
		// An expired license cannot be reactivated.
		sp := p1 + "/licenses/" + id(short.ID)
		wantStatus(t, n.Do(t, "POST", sp+"/revoke", nil, apptest.Key(c.key)...), 200)
		n.Clock.Advance(2 * time.Hour)
		wantStatus(t, n.Do(t, "POST", sp+"/reactivate", nil, apptest.Key(c.key)...), 403, "expired")
		wantStatus(t, n.Do(t, "GET", sp, nil, apptest.Key(c.key)...), 200, `"is_expired":true`)

		// Every change is in the audit log.
		r := n.Do(t, "GET", "/api/v1/audit?action=license.&per_page=100", nil, apptest.Key(c.key)...)
		for _, a := range []string{"license.create", "license.revoke", "license.reactivate", "license.suspend", "license.update", "license.delete"} {
			if !strings.Contains(string(r.Body), `"action":"`+a+`"`) {
				t.Fatalf("no %s event in %s", a, r.Body)
			}
		}
	})
}

func TestWalkAllPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		n := c.n
		for i := range 120 {
			r := n.Do(t, "POST", "/api/v1/project/"+id(c.p2)+"/licenses", map[string]any{"title": fmt.Sprintf("Bulk %03d", i)}, apptest.Key(c.key)...)
			wantStatus(t, r, 201)
		}
		seen := map[int64]bool{}
		var order []int64
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("more pages than licenses")
			}
			path := "/api/v1/project/" + id(c.p2) + "/licenses?per_page=50&include=injectables"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := n.Do(t, "GET", path, nil, apptest.Key(c.key)...)
			wantStatus(t, r, 200)
			var pg struct {
				Data       []licenseView `json:"data"`
				NextCursor *string       `json:"next_cursor"`
			}
			r.Decode(t, &pg)
			for _, l := range pg.Data {
				if seen[l.ID] {
					t.Fatalf("license %d seen twice", l.ID)
				}
				seen[l.ID] = true
				order = append(order, l.ID)
			}
			if pg.NextCursor == nil {
				break
			}
			cursor = *pg.NextCursor
		}
		if len(seen) != 121 { // 120 + the fixture's Customer B
			t.Fatalf("saw %d licenses, want 121", len(seen))
		}
		for i := 1; i < len(order); i++ {
			if order[i] >= order[i-1] {
				t.Fatalf("not newest first at %d: %v", i, order[i-1:i+1])
			}
		}
		// Defaults and limits of per_page.
		for q, want := range map[string]int{"": 20, "?per_page=500": 50, "?per_page=-3": 20, "?per_page=x": 20, "?per_page=7": 7} {
			r := n.Do(t, "GET", "/api/v1/project/"+id(c.p2)+"/licenses"+q, nil, apptest.Key(c.key)...)
			var pg struct {
				Data []licenseView `json:"data"`
			}
			r.Decode(t, &pg)
			if len(pg.Data) != want {
				t.Fatalf("per_page %q: %d items, want %d", q, len(pg.Data), want)
			}
		}
		// A cursor of another project's listing, and a forged one, are 422.
		r := n.Do(t, "GET", "/api/v1/project/"+id(c.p2)+"/licenses?per_page=1", nil, apptest.Key(c.key)...)
		var pg struct {
			NextCursor *string `json:"next_cursor"`
		}
		r.Decode(t, &pg)
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+id(c.p1)+"/licenses?cursor="+*pg.NextCursor, nil, apptest.Key(c.key)...), 422, "cursor")
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+id(c.p2)+"/licenses?cursor=eyJsaWNlbnNlcy5pZCI6M30", nil, apptest.Key(c.key)...), 422, "cursor")
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+id(c.p2)+"/licenses?status=lost", nil, apptest.Key(c.key)...), 422, "status")
	})
}

// TestCacheNeverStale proves both halves of the read cache: it does serve
// reads (a change made behind the service's back is not seen), and every
// write through the service makes the next read fresh.
func TestCacheNeverStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		n := c.n
		ctx := context.Background()
		list := "/api/v1/project/" + id(c.p1) + "/licenses"
		show := list + "/" + id(c.lic1)
		get := func(path string) string {
			r := n.Do(t, "GET", path, nil, apptest.Key(c.key)...)
			wantStatus(t, r, 200)
			return string(r.Body)
		}
		if !strings.Contains(get(show), "Customer A") || !strings.Contains(get(list), "Customer A") {
			t.Fatal("fixture license missing")
		}
		// Behind the service's back: the cache still answers the old title.
		newTitle := "Changed directly"
		if _, err := n.Store.UpdateLicense(ctx, c.lic1, core.LicenseUpdate{Title: &newTitle}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(get(show), "Customer A") || !strings.Contains(get(list), "Customer A") {
			t.Fatal("reads are not cached")
		}
		// Through the API, every kind of write is seen by the very next read.
		writes := []struct {
			method, path string
			body         any
			show, list   string
		}{
			{"POST", list, map[string]any{"title": "Fresh"}, "", `"title":"Fresh"`},
			{"POST", show + "/revoke", nil, `"status":"revoked"`, `"status":"revoked"`},
			{"POST", show + "/reactivate", nil, `"status":"active"`, `"status":"active"`},
			{"PATCH", show, map[string]any{"title": "Renamed"}, `"title":"Renamed"`, `"title":"Renamed"`},
			{"POST", show + "/suspend", nil, `"status":"suspended"`, `"status":"suspended"`},
			{"DELETE", show, nil, "", ""},
		}
		for _, w := range writes {
			wantStatus(t, n.Do(t, w.method, w.path, w.body, apptest.Key(c.key)...), map[string]int{"POST": 200, "PATCH": 200, "DELETE": 200}[w.method]+
				map[bool]int{true: 1, false: 0}[w.path == list])
			if w.show != "" && !strings.Contains(get(show), w.show) {
				t.Fatalf("after %s %s, show is stale: %s", w.method, w.path, get(show))
			}
			if w.list != "" && !strings.Contains(get(list), w.list) {
				t.Fatalf("after %s %s, list is stale", w.method, w.path)
			}
		}
		wantStatus(t, n.Do(t, "GET", show, nil, apptest.Key(c.key)...), 404)
		if strings.Contains(get(list), "Renamed") {
			t.Fatal("list shows a deleted license")
		}
		// Project and domain reads too.
		pp := "/api/v1/project/" + id(c.p1)
		get(pp)
		wantStatus(t, n.Do(t, "PATCH", pp, map[string]any{"description": "v2"}, apptest.Key(c.key)...), 200)
		if !strings.Contains(get(pp), `"description":"v2"`) {
			t.Fatal("project show is stale")
		}
		get(pp + "/domains")
		wantStatus(t, n.Do(t, "POST", pp+"/domains", map[string]any{"domain": "fresh.example.com", "environment": "production"}, apptest.Key(c.key)...), 201)
		if !strings.Contains(get(pp+"/domains"), "fresh.example.com") {
			t.Fatal("domain list is stale")
		}
		// A key that loses the scope is refused even for a cached read.
		_, narrow := n.CreateKey(t, c.owner, service.KeyInput{Scopes: []string{"licenses:read", "projects:read"}})
		wantStatus(t, n.Do(t, "GET", list, nil, apptest.Key(narrow)...), 200)
		k, _ := n.Store.ListAPIKeys(ctx, core.APIKeyFilter{OrgID: c.owner.OrgID, Limit: 1})
		scopes := []string{"projects:read"}
		if _, err := n.Service().UpdateAPIKey(ctx, c.owner.Actor(), k[0].ID, service.KeyUpdate{Scopes: &scopes}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, n.Do(t, "GET", list, nil, apptest.Key(narrow)...), 403, "licenses:read")
	})
}

func TestCacheAcrossNodes(t *testing.T) {
	b := storetest.Backend{Name: "postgres", Open: storetest.OpenPostgres}
	c := newCatalog(t, b)
	peer := c.n.Peer(t)
	show := "/api/v1/project/" + id(c.p1) + "/licenses/" + id(c.lic1)
	wantStatus(t, peer.Do(t, "GET", show, nil, apptest.Key(c.key)...), 200, `"status":"active"`)
	wantStatus(t, c.n.Do(t, "POST", show+"/revoke", nil, apptest.Key(c.key)...), 200)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := peer.Do(t, "GET", show, nil, apptest.Key(c.key)...)
		if strings.Contains(string(r.Body), `"status":"revoked"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the peer still serves the stale license: %s", r.Body)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBodyQuirks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b, func(cfg *config.Config) { cfg.MaxBodyBytes = 1024 })
		n := c.n
		show := "/api/v1/project/" + id(c.p1) + "/licenses/" + id(c.lic1)
		for _, body := range []any{nil, "", "[]", "{}", "null", " \n "} {
			wantStatus(t, n.Do(t, "POST", show+"/revoke", body, apptest.Key(c.key)...), 200)
			wantStatus(t, n.Do(t, "POST", show+"/reactivate", body, apptest.Key(c.key)...), 200)
		}
		wantStatus(t, n.Do(t, "POST", show+"/revoke", `{"a":`, apptest.Key(c.key)...), 400, "not valid JSON")
		wantStatus(t, n.Do(t, "POST", show+"/revoke", `["x"]`, apptest.Key(c.key)...), 400, "JSON object")
		wantStatus(t, n.Do(t, "POST", show+"/revoke", `{"pad":"`+strings.Repeat("x", 2000)+`"}`, apptest.Key(c.key)...), 413)
		// The /v1 alias of some DevPayr docs.
		wantStatus(t, n.Do(t, "GET", "/v1/project/"+id(c.p1), nil, apptest.Key(c.key)...), 200, `"name":"Pro Plugin"`)
		// Unknown routes answer JSON, never HTML.
		r := n.Do(t, "GET", "/api/v1/nope", nil, apptest.Key(c.key)...)
		wantStatus(t, r, 404)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
		_ = http.StatusOK
	})
}
