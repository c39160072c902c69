package httpapi_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/view"
)

// defaultCase is one defaultable field: the value the project and the
// organization default to, one sent explicitly, and how the license shows
// each (as JSON text).
type defaultCase struct {
	field                  string // the license_defaults key
	shown                  string // the license field that shows it
	project, org, explicit any
	wantProject, wantOrg   string
	wantExplicit, wantNull string
	// nullBody is what "no restriction" sends, when not {field: null}.
	nullBody map[string]any
}

func defaultCases(now time.Time) []defaultCase {
	at := func(d time.Duration) string {
		t := now.Add(d)
		b, _ := json.Marshal(view.Time(&t))
		return string(b)
	}
	day := 24 * time.Hour
	return []defaultCase{
		{field: "expires_in", shown: "expires_at", project: "30d", org: "7d", explicit: "2d",
			wantProject: at(30 * day), wantOrg: at(7 * day), wantExplicit: at(2 * day), wantNull: "null"},
		// expires_at: null is "no expiry" too, and takes no default.
		{field: "expires_in", shown: "expires_at", project: "30d", org: "7d", explicit: "2d",
			wantProject: at(30 * day), wantOrg: at(7 * day), wantExplicit: at(2 * day), wantNull: "null",
			nullBody: map[string]any{"expires_at": nil}},
		{field: "max_domains", shown: "max_domains", project: 2, org: 5, explicit: 9,
			wantProject: "2", wantOrg: "5", wantExplicit: "9", wantNull: "null"},
		{field: "max_subdomains_per_domain", shown: "max_subdomains_per_domain", project: 3, org: 4, explicit: 8,
			wantProject: "3", wantOrg: "4", wantExplicit: "8", wantNull: "null"},
		{field: "max_usage_per_day", shown: "max_usage_per_day", project: 100, org: 200, explicit: 50,
			wantProject: "100", wantOrg: "200", wantExplicit: "50", wantNull: "null"},
		{field: "max_concurrent", shown: "max_concurrent", project: 2, org: 3, explicit: 7,
			wantProject: "2", wantOrg: "3", wantExplicit: "7", wantNull: "null"},
		{field: "heartbeat_ttl", shown: "heartbeat_ttl", project: 120, org: 300, explicit: 60,
			wantProject: "120", wantOrg: "300", wantExplicit: "60", wantNull: "null"},
		{field: "allowed_countries", shown: "allowed_countries", project: "ng,us", org: []string{"GB"}, explicit: "fr",
			wantProject: `"NG, US"`, wantOrg: `"GB"`, wantExplicit: `"FR"`, wantNull: "null"},
		{field: "allowed_ips", shown: "allowed_ips", project: "10.0.0.1", org: "192.168.0.0/16", explicit: "127.0.0.1",
			wantProject: `"10.0.0.1"`, wantOrg: `"192.168.0.0/16"`, wantExplicit: `"127.0.0.1"`, wantNull: "null"},
		// A boolean default true: null is false (no restriction = the
		// built-in value), an explicit false is false.
		{field: "is_test_license", shown: "is_test_license", project: true, org: true, explicit: false,
			wantProject: "true", wantOrg: "true", wantExplicit: "false", wantNull: "false"},
		{field: "allow_configs", shown: "allow_configs", project: true, org: true, explicit: false,
			wantProject: "true", wantOrg: "true", wantExplicit: "false", wantNull: "false"},
	}
}

// licenseField creates a license and returns the JSON text of one field
// of the answer.
func licenseField(t *testing.T, c *catalog, project int64, body map[string]any, field string) string {
	t.Helper()
	r := c.n.Do(t, "POST", "/api/v1/project/"+id(project)+"/licenses", body, apptest.Key(c.key)...)
	if r.Status != 201 {
		t.Fatalf("create %v: status %d: %s", body, r.Status, r.Body)
	}
	var fields map[string]json.RawMessage
	r.Decode(t, &fields)
	return string(fields[field])
}

// TestLicenseDefaultsApplied: for every defaultable field, a license
// create that omits it takes the project's default, then the
// organization's; one that sends null has no restriction; one that sends a
// value keeps it.
func TestLicenseDefaultsApplied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		cases := defaultCases(c.n.Clock.Now())
		projDefs, orgDefs := map[string]any{}, map[string]any{}
		for _, tc := range cases {
			projDefs[tc.field], orgDefs[tc.field] = tc.project, tc.org
		}
		r := c.n.Do(t, "PUT", "/api/v1/organization/license-defaults", map[string]any{"license_defaults": orgDefs}, key...)
		if r.Status != 200 {
			t.Fatalf("set organization defaults: %d %s", r.Status, r.Body)
		}
		r = c.n.Do(t, "PUT", "/api/v1/project/"+id(c.p1), map[string]any{"license_defaults": projDefs}, key...)
		if r.Status != 200 {
			t.Fatalf("set project defaults: %d %s", r.Status, r.Body)
		}
		for i, tc := range cases {
			t.Run(tc.field+strconv.Itoa(i), func(t *testing.T) {
				title := func(what string) map[string]any {
					return map[string]any{"title": tc.field + " " + what + " " + strconv.Itoa(i)}
				}
				if got := licenseField(t, c, c.p1, title("omitted"), tc.shown); got != tc.wantProject {
					t.Errorf("omitted, project default: %s = %s, want %s", tc.shown, got, tc.wantProject)
				}
				if got := licenseField(t, c, c.p2, title("fallback"), tc.shown); got != tc.wantOrg {
					t.Errorf("omitted, organization default: %s = %s, want %s", tc.shown, got, tc.wantOrg)
				}
				null := title("null")
				null[tc.field] = nil
				if tc.nullBody != nil {
					null = title("null")
					for k, v := range tc.nullBody {
						null[k] = v
					}
				}
				if got := licenseField(t, c, c.p1, null, tc.shown); got != tc.wantNull {
					t.Errorf("null: %s = %s, want %s", tc.shown, got, tc.wantNull)
				}
				explicit := title("explicit")
				explicit[tc.field] = tc.explicit
				if got := licenseField(t, c, c.p1, explicit, tc.shown); got != tc.wantExplicit {
					t.Errorf("explicit: %s = %s, want %s", tc.shown, got, tc.wantExplicit)
				}
			})
		}
	})
}

// projectDefaults reads a project's license_defaults through the API.
func projectDefaults(t *testing.T, c *catalog, project int64) map[string]any {
	t.Helper()
	r := c.n.Do(t, "GET", "/api/v1/project/"+id(project), nil, apptest.Key(c.key)...)
	if r.Status != 200 {
		t.Fatalf("show project: %d %s", r.Status, r.Body)
	}
	var v struct {
		LicenseDefaults map[string]any `json:"license_defaults"`
	}
	r.Decode(t, &v)
	if v.LicenseDefaults == nil {
		t.Fatalf("license_defaults is not an object: %s", r.Env.Data)
	}
	return v.LicenseDefaults
}

// TestProjectLicenseDefaultsMergePatch: an update changes the fields it
// names, a field set to null removes that default, the object set to null
// removes them all; the project's create takes them too.
func TestProjectLicenseDefaultsMergePatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		r := c.n.Do(t, "POST", "/api/v1/project", map[string]any{"name": "With defaults",
			"license_defaults": map[string]any{"max_domains": 3, "allowed_ips": "10.0.0.1, 10.0.0.2", "expires_in": " 1Y "}}, key...)
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var p struct {
			ID              int64          `json:"id"`
			LicenseDefaults map[string]any `json:"license_defaults"`
		}
		r.Decode(t, &p)
		want := map[string]any{"max_domains": 3.0, "allowed_ips": "10.0.0.1, 10.0.0.2", "expires_in": "1y"}
		if !equalMaps(p.LicenseDefaults, want) {
			t.Fatalf("created defaults = %v, want %v", p.LicenseDefaults, want)
		}
		steps := []struct {
			patch any
			want  map[string]any
		}{
			{map[string]any{"max_domains": 4, "allow_configs": true}, map[string]any{"max_domains": 4.0, "allowed_ips": "10.0.0.1, 10.0.0.2",
				"expires_in": "1y", "allow_configs": true}},
			{map[string]any{"allowed_ips": nil, "expires_in": "never"}, map[string]any{"max_domains": 4.0, "expires_in": "never", "allow_configs": true}},
			// An empty list is kept: "any", overriding the organization's.
			{map[string]any{"allowed_countries": ""}, map[string]any{"max_domains": 4.0, "expires_in": "never", "allow_configs": true,
				"allowed_countries": ""}},
			{map[string]any{}, map[string]any{"max_domains": 4.0, "expires_in": "never", "allow_configs": true, "allowed_countries": ""}},
			{nil, map[string]any{}},
		}
		for i, st := range steps {
			r := c.n.Do(t, "PATCH", "/api/v1/project/"+id(p.ID), map[string]any{"license_defaults": st.patch}, key...)
			if r.Status != 200 {
				t.Fatalf("step %d: %d %s", i, r.Status, r.Body)
			}
			if got := projectDefaults(t, c, p.ID); !equalMaps(got, st.want) {
				t.Fatalf("step %d: defaults = %v, want %v", i, got, st.want)
			}
		}
		// "never" overrides an organization-wide expiry; "" an allow-list.
		c.n.Do(t, "PUT", "/api/v1/organization/license-defaults", map[string]any{"license_defaults": map[string]any{
			"expires_in": "7d", "allowed_countries": "NG"}}, key...)
		c.n.Do(t, "PATCH", "/api/v1/project/"+id(p.ID), map[string]any{"license_defaults": map[string]any{
			"expires_in": "never", "allowed_countries": ""}}, key...)
		r = c.n.Do(t, "POST", "/api/v1/project/"+id(p.ID)+"/licenses", map[string]any{"title": "Never"}, key...)
		if r.Status != 201 || !strings.Contains(string(r.Env.Data), `"expires_at":null`) ||
			!strings.Contains(string(r.Env.Data), `"allowed_countries":null`) {
			t.Fatalf("overrides: %d %s", r.Status, r.Body)
		}
	})
}

func equalMaps(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestLicenseDefaultsRefused: bad defaults are refused with the license
// rules' messages under license_defaults.<field>, on the project and the
// organization routes, and nothing is written.
func TestLicenseDefaultsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		c.n.Do(t, "PATCH", "/api/v1/project/"+id(c.p1), map[string]any{"license_defaults": map[string]any{"max_domains": 1}}, key...)
		cases := []struct {
			name  string
			value any // the license_defaults value
			field string
			msg   string
		}{
			{"negative", map[string]any{"max_domains": -1}, "license_defaults.max_domains", "The license defaults.max domains field must be at least 0."},
			{"not an integer", map[string]any{"max_usage_per_day": "many"}, "license_defaults.max_usage_per_day",
				"The license defaults.max usage per day field must be an integer."},
			{"ttl out of range", map[string]any{"heartbeat_ttl": 5}, "license_defaults.heartbeat_ttl",
				"The license defaults.heartbeat ttl field must be between 30 and 86400 seconds."},
			{"bad duration", map[string]any{"expires_in": "soon"}, "license_defaults.expires_in", "The license defaults.expires in field must be a positive duration"},
			{"bad country", map[string]any{"allowed_countries": "XX"}, "license_defaults.allowed_countries",
				"The license defaults.allowed countries field must be a comma-separated list of ISO 3166-1 alpha-2 codes"},
			{"bad ip", map[string]any{"allowed_ips": "10.0.0.300"}, "license_defaults.allowed_ips",
				"The license defaults.allowed ips field must be a comma-separated list of valid IP addresses"},
			{"bad boolean", map[string]any{"is_test_license": "maybe"}, "license_defaults.is_test_license",
				"The license defaults.is test license field must be true or false."},
			{"unknown field", map[string]any{"title": "x"}, "license_defaults.title", "The license defaults.title field is not a license default"},
			{"not an object", 3, "license_defaults", "The license defaults field must be a JSON object."},
			{"NUL byte", map[string]any{"allowed_ips": "10.0.0.1\x00"}, "license_defaults", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, route := range []struct{ method, path string }{
					{"PATCH", "/api/v1/project/" + id(c.p1)}, {"PUT", "/api/v1/organization/license-defaults"},
					{"POST", "/api/v1/project"},
				} {
					body := map[string]any{"license_defaults": tc.value, "name": "Refused"}
					r := c.n.Do(t, route.method, route.path, body, key...)
					if r.Status != 422 {
						t.Fatalf("%s %s: status %d, want 422: %s", route.method, route.path, r.Status, r.Body)
					}
					msgs := r.Env.Errors[tc.field]
					if len(msgs) == 0 || !strings.HasPrefix(msgs[0], tc.msg) {
						t.Fatalf("%s %s: errors %v, want %s: %q", route.method, route.path, r.Env.Errors, tc.field, tc.msg)
					}
				}
				if got := projectDefaults(t, c, c.p1); !equalMaps(got, map[string]any{"max_domains": 1.0}) {
					t.Fatalf("project defaults changed: %v", got)
				}
				org, err := c.n.Service().OrganizationLicenseDefaults(t.Context(), c.owner.Actor())
				if err != nil || org != (core.LicenseDefaults{}) {
					t.Fatalf("organization defaults changed: %+v %v", org, err)
				}
			})
		}
	})
}

// TestOrganizationLicenseDefaultsAccess: owners and admins change the
// organization's defaults with projects:write; a developer, a viewer, or a
// key without the scope is refused and nothing is written. PUT replaces.
func TestOrganizationLicenseDefaultsAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		admin := c.n.CreateUser(t, "Acme", "admin@acme.test", core.RoleAdmin)
		dev := c.n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		viewer := c.n.CreateUser(t, "Acme", "viewer@acme.test", core.RoleViewer)
		_, adminKey := c.n.CreateKey(t, admin, service.KeyInput{Name: "admin"})
		_, devKey := c.n.CreateKey(t, dev, service.KeyInput{Name: "dev"})
		_, viewerKey := c.n.CreateKey(t, viewer, service.KeyInput{Name: "viewer"})
		const path = "/api/v1/organization/license-defaults"
		body := map[string]any{"license_defaults": map[string]any{"max_domains": 2}}
		for _, tc := range []struct {
			name, key string
			status    int
			code      string
		}{
			{"developer", devKey, 403, core.ReasonOwnerRequired},
			{"viewer", viewerKey, 403, core.ReasonOwnerRequired},
			{"no projects:write", c.readOnly, 403, core.ReasonMissingScope},
			{"no key", "", 401, ""},
		} {
			var hdr []string
			if tc.key != "" {
				hdr = apptest.Key(tc.key)
			}
			r := c.n.Do(t, "PUT", path, body, hdr...)
			if r.Status != tc.status || (tc.code != "" && r.Env.Code != tc.code) {
				t.Fatalf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
			}
		}
		if r := c.n.Do(t, "GET", path, nil, apptest.Key(c.readOnly)...); r.Status != 200 ||
			!strings.Contains(string(r.Env.Data), `"license_defaults":{}`) {
			t.Fatalf("read-only key reads: %d %s", r.Status, r.Body)
		}
		if r := c.n.Do(t, "PUT", path, body, apptest.Key(adminKey)...); r.Status != 200 {
			t.Fatalf("admin: %d %s", r.Status, r.Body)
		}
		r := c.n.Do(t, "PUT", path, map[string]any{"license_defaults": map[string]any{"allow_configs": true}}, apptest.Key(c.key)...)
		if r.Status != 200 || string(r.Env.Data) != `{"license_defaults":{"allow_configs":true}}` {
			t.Fatalf("owner replaces: %d %s", r.Status, r.Body)
		}
		if r := c.n.Do(t, "PUT", path, map[string]any{}, apptest.Key(c.key)...); r.Status != 422 ||
			r.Env.Errors["license_defaults"] == nil {
			t.Fatalf("empty body: %d %s", r.Status, r.Body)
		}
		if r := c.n.Do(t, "PUT", path, map[string]any{"license_defaults": nil}, apptest.Key(c.key)...); r.Status != 200 ||
			string(r.Env.Data) != `{"license_defaults":{}}` {
			t.Fatalf("null clears: %d %s", r.Status, r.Body)
		}
		// Another organization's defaults never apply.
		c.n.Do(t, "PUT", path, body, apptest.Key(c.otherKey)...)
		if got := licenseField(t, c, c.p1, map[string]any{"title": "Ours"}, "max_domains"); got != "null" {
			t.Fatalf("another organization's default applied: %s", got)
		}
	})
}

// TestLicenseDefaultsBadText: a NUL byte or invalid UTF-8 in the defaults,
// as an object or as a string holding one, is a 422 naming
// license_defaults, on every route that takes them; nothing is written.
func TestLicenseDefaultsBadText(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := append(apptest.Key(c.key), "Content-Type", "application/json")
		for _, body := range []string{
			`{"license_defaults":{"allowed_ips":"10.0.0.1\u0000"}}`,
			"{\"license_defaults\":{\"allowed_ips\":\"10.0.0.1\xff\"}}",
			`{"license_defaults":"{\"allowed_ips\":\"10.0.0.1\\u0000\"}"}`,
			`{"license_defaults":{"max_domains\u0000":1}}`,
		} {
			for _, route := range []struct{ method, path string }{
				{"PATCH", "/api/v1/project/" + id(c.p1)}, {"PUT", "/api/v1/organization/license-defaults"},
			} {
				r := c.n.Do(t, route.method, route.path, body, key...)
				if r.Status != 422 || r.Env.Errors["license_defaults"] == nil {
					t.Fatalf("%s %s %q: %d %s", route.method, route.path, body, r.Status, r.Body)
				}
			}
		}
		if got := projectDefaults(t, c, c.p1); len(got) != 0 {
			t.Fatalf("project defaults written: %v", got)
		}
	})
}
