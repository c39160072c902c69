package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// forEachBackend runs fn against SQLite and, when configured, PostgreSQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

type keyView struct {
	ID                 int64    `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	PublicID           string   `json:"public_id"`
	Last4              string   `json:"last4"`
	Display            string   `json:"display"`
	ProjectID          *int64   `json:"project_id"`
	UserID             int64    `json:"user_id"`
	Scopes             []string `json:"scopes"`
	Env                string   `json:"env"`
	AllowedIPs         []string `json:"allowed_ips"`
	RateLimitPerMinute *int     `json:"rate_limit_per_minute"`
	Status             string   `json:"status"`
	ExpiresAt          *string  `json:"expires_at"`
	RevokedAt          *string  `json:"revoked_at"`
	RotatedToID        *int64   `json:"rotated_to_id"`
	LastUsedAt         *string  `json:"last_used_at"`
	LastUsedIP         *string  `json:"last_used_ip"`
	Secret             string   `json:"secret"`
}

type keyPage struct {
	Data       []keyView `json:"data"`
	NextCursor *string   `json:"next_cursor"`
}

func wantStatus(t *testing.T, r *apptest.Response, status int, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	for _, c := range contains {
		if !strings.Contains(string(r.Body), c) {
			t.Fatalf("body %s does not contain %q", r.Body, c)
		}
	}
	if r.Status >= 400 && r.Env.Message == "" {
		t.Fatalf("error without a message: %s", r.Body)
	}
}

// setup creates an owner with a full key and a second organization.
type fixture struct {
	n        *apptest.Node
	owner    apptest.Account
	ownerKey string
	other    apptest.Account
	otherKey string
}

func newFixture(t *testing.T, b storetest.Backend, opts ...apptest.Option) *fixture {
	t.Helper()
	n := apptest.New(t, b, opts...)
	f := &fixture{n: n}
	f.owner = n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, f.ownerKey = n.CreateKey(t, f.owner, service.KeyInput{Name: "owner key"})
	f.other = n.CreateUser(t, "Globex", "owner@globex.test", core.RoleOwner)
	_, f.otherKey = n.CreateKey(t, f.other, service.KeyInput{Name: "globex key"})
	return f
}

func TestAuthentication(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		ctx := context.Background()
		k, secret := n.CreateKey(t, f.owner, service.KeyInput{Name: "pair"})
		revokedK, revoked := n.CreateKey(t, f.owner, service.KeyInput{Name: "revoked"})
		if _, err := n.Service().RevokeAPIKey(ctx, f.owner.Actor(), revokedK.ID); err != nil {
			t.Fatal(err)
		}
		exp := n.Clock.Now().Add(time.Hour)
		_, expiring := n.CreateKey(t, f.owner, service.KeyInput{Name: "expiring", ExpiresAt: &exp})
		n.Clock.Advance(2 * time.Hour)
		garbage := keys.Mint(core.EnvLive).Secret // well formed, never stored
		flipped := []byte(secret)
		flipped[12] ^= 1 // breaks the checksum
		viewer := n.CreateUser(t, "Acme", "viewer@acme.test", core.RoleViewer)
		_, viewerKey := n.CreateKey(t, viewer, service.KeyInput{})
		_, auditOnly := n.CreateKey(t, f.owner, service.KeyInput{Scopes: []string{"audit:read"}})

		const invalid = "Invalid or expired API key."
		tests := []struct {
			name    string
			headers []string
			status  int
			want    string
		}{
			{"no credential", nil, 401, "Missing required X-API-KEY header."},
			{"empty header", []string{"X-API-KEY", ""}, 401, "Missing required X-API-KEY header."},
			{"X-API-KEY", []string{"X-API-KEY", secret}, 200, ""},
			{"lower-case header name", []string{"x-api-key", secret}, 200, ""},
			{"PHP casing", []string{"X-Api-Key", secret}, 200, ""},
			{"bearer", []string{"Authorization", "Bearer " + secret}, 200, ""},
			{"bearer lower-case scheme", []string{"authorization", "bearer " + secret}, 200, ""},
			{"devdraft pair", []string{"Authorization", "Bearer " + k.PublicID, "X-Secret-Key", secret}, 200, ""},
			{"devdraft pair, lower case", []string{"authorization", "Bearer " + k.PublicID, "x-secret-key", secret}, 200, ""},
			{"devdraft pair, wrong public id", []string{"Authorization", "Bearer " + revokedK.PublicID, "X-Secret-Key", secret}, 403, invalid},
			{"devdraft public id without secret", []string{"Authorization", "Bearer " + k.PublicID}, 401, "Missing required X-API-KEY header."},
			{"malformed", []string{"X-API-KEY", "hello"}, 403, invalid},
			{"devpayr-style key", []string{"X-API-KEY", "gk_1_1764854584_8df72c5f159622ddf04c8a7e0590fb79"}, 403, invalid},
			{"bad checksum", []string{"X-API-KEY", string(flipped)}, 403, invalid},
			{"unknown", []string{"X-API-KEY", garbage}, 403, invalid},
			{"revoked", []string{"X-API-KEY", revoked}, 403, invalid},
			{"expired", []string{"X-API-KEY", expiring}, 403, invalid},
			{"missing scope", []string{"X-API-KEY", auditOnly}, 403, "api_keys:read"},
			{"viewer reads", []string{"X-API-KEY", viewerKey}, 200, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, "GET", "/api/v1/api-keys", nil, tc.headers...)
				wantStatus(t, r, tc.status, tc.want)
				if tc.status >= 400 && r.Env.Status != "error" {
					t.Fatalf("error envelope status = %q", r.Env.Status)
				}
			})
		}
		// A viewer's key holds only read scopes, whatever it asks for.
		r := n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}, apptest.Key(viewerKey)...)
		wantStatus(t, r, 403, "api_keys:write")
	})
}

func TestKeyNeverOutlivesOwnerRights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		ctx := context.Background()
		dev := n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		_, devKey := n.CreateKey(t, dev, service.KeyInput{})
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "a"}, apptest.Key(devKey)...), 201)

		// Demoted to viewer: the key keeps its stored scopes but may only read.
		if err := n.Service().ChangeMemberRole(ctx, f.owner.Actor(), dev.UserID, core.RoleViewer); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "b"}, apptest.Key(devKey)...), 403, "api_keys:write")
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(devKey)...), 200)

		// Disabled: refused on the next request.
		if err := n.Service().SetUserDisabled(ctx, f.owner.Actor(), dev.UserID, true); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(devKey)...), 403, "Invalid or expired API key.")
		if err := n.Service().SetUserDisabled(ctx, f.owner.Actor(), dev.UserID, false); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(devKey)...), 200)

		// Removed: refused on the next request, and the key is revoked.
		if err := n.Service().RemoveMember(ctx, f.owner.Actor(), dev.UserID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(devKey)...), 403, "Invalid or expired API key.")
	})
}

func TestCreateKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b, func(c *config.Config) { c.MaxBodyBytes = 4096 })
		n := f.n
		ctx := context.Background()
		p := &core.Project{OrgID: f.owner.OrgID, Name: "Plugin", Slug: "plugin", IsActive: true}
		if err := n.Store.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		gp := &core.Project{OrgID: f.other.OrgID, Name: "Theirs", Slug: "theirs", IsActive: true}
		if err := n.Store.CreateProject(ctx, gp); err != nil {
			t.Fatal(err)
		}
		_, narrow := n.CreateKey(t, f.owner, service.KeyInput{Scopes: []string{"api_keys:write", "licenses:read"}})
		future := n.Clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
		past := n.Clock.Now().Add(-time.Hour).Format(time.RFC3339)

		tests := []struct {
			name   string
			key    string
			body   any
			status int
			want   []string
		}{
			{"minimal", f.ownerKey, map[string]any{"name": "ci"}, 201, []string{`"secret":"sk_live_`, `"public_id":"pk_live_`, `"status":"active"`}},
			{"full", f.ownerKey, map[string]any{"name": "full", "description": "d", "project_id": p.ID, "scopes": []string{"licenses:read", "licenses:write"},
				"env": "test", "expires_at": future, "allowed_ips": []string{"10.0.0.0/8", "2001:db8::1"}, "rate_limit_per_minute": 100},
				201, []string{`"secret":"sk_test_`, `"scopes":["licenses:read","licenses:write"]`, `"allowed_ips":["10.0.0.0/8","2001:db8::1/128"]`, `"rate_limit_per_minute":100`}},
			{"scopes as comma string", f.ownerKey, map[string]any{"name": "s", "scopes": "audit:read, licenses:read"}, 201, []string{`"scopes":["licenses:read","audit:read"]`}},
			{"null project is global", f.ownerKey, map[string]any{"name": "g", "project_id": nil}, 201, []string{`"project_id":null`}},
			{"missing name", f.ownerKey, map[string]any{"description": "x"}, 422, []string{`"name":["The name field is required."]`}},
			{"empty body", f.ownerKey, "", 422, []string{"name field is required"}},
			{"php empty array", f.ownerKey, "[]", 422, []string{"name field is required"}},
			{"long name", f.ownerKey, map[string]any{"name": strings.Repeat("n", 256)}, 422, []string{"not be greater than 255"}},
			{"unknown scope", f.ownerKey, map[string]any{"name": "x", "scopes": []string{"licenses:read", "root"}}, 422, []string{`scope \"root\" is not a valid scope`}},
			{"empty scopes", f.ownerKey, map[string]any{"name": "x", "scopes": []string{}}, 422, []string{"at least one scope"}},
			{"past expiry", f.ownerKey, map[string]any{"name": "x", "expires_at": past}, 422, []string{`"expires_at":["The expires at field must be a date after now."]`}},
			{"not a date", f.ownerKey, map[string]any{"name": "x", "expires_at": "soon"}, 422, []string{"must be a valid date"}},
			{"malformed cidr", f.ownerKey, map[string]any{"name": "x", "allowed_ips": []string{"10.0.0.0/33"}}, 422, []string{"allowed_ips", "10.0.0.0/33"}},
			{"bad ip", f.ownerKey, map[string]any{"name": "x", "allowed_ips": "1.2.3"}, 422, []string{"invalid IP address"}},
			{"bad env", f.ownerKey, map[string]any{"name": "x", "env": "prod"}, 422, []string{"env field must be one of live, test"}},
			{"negative rate", f.ownerKey, map[string]any{"name": "x", "rate_limit_per_minute": -1}, 422, []string{"rate limit per minute"}},
			{"rate not a number", f.ownerKey, map[string]any{"name": "x", "rate_limit_per_minute": "many"}, 422, []string{"must be an integer"}},
			{"unknown project", f.ownerKey, map[string]any{"name": "x", "project_id": 99999}, 422, []string{"selected project id is invalid"}},
			{"other tenant's project", f.ownerKey, map[string]any{"name": "x", "project_id": gp.ID}, 422, []string{"selected project id is invalid"}},
			{"wider than caller", narrow, map[string]any{"name": "x", "scopes": []string{"projects:write"}}, 403, []string{"projects:write"}},
			{"narrow default", narrow, map[string]any{"name": "x"}, 201, []string{`"scopes":["licenses:read","api_keys:write"]`}},
			{"malformed json", f.ownerKey, `{"name": `, 400, []string{"not valid JSON"}},
			{"json array", f.ownerKey, `[1,2]`, 400, []string{"must be a JSON object"}},
			{"too large", f.ownerKey, `{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, []string{"larger than 4096 bytes"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := countKeys(t, n, f.owner)
				r := n.Do(t, "POST", "/api/v1/api-keys", tc.body, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want...)
				after := countKeys(t, n, f.owner)
				if tc.status == 201 {
					var v keyView
					r.Decode(t, &v)
					if !keys.Valid(v.Secret) || !strings.HasSuffix(v.Secret, v.Last4) || v.Display != "sk_"+v.Env+"_…"+v.Last4 {
						t.Fatalf("created %+v", v)
					}
					if after != before+1 {
						t.Fatalf("keys %d → %d", before, after)
					}
					// The secret is shown once: never in a later read.
					show := n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(v.ID, 10), nil, apptest.Key(f.ownerKey)...)
					wantStatus(t, show, 200)
					if strings.Contains(string(show.Body), v.Secret) || strings.Contains(string(show.Body), `"secret"`) {
						t.Fatal("a read shows the secret")
					}
				} else if after != before {
					t.Fatalf("a failed create changed the key count %d → %d", before, after)
				}
				if tc.status == 422 && len(r.Env.Errors) == 0 {
					t.Fatalf("422 without field errors: %s", r.Body)
				}
			})
		}
	})
}

func countKeys(t *testing.T, n *apptest.Node, acc apptest.Account) int {
	t.Helper()
	ks, err := n.Store.ListAPIKeys(context.Background(), core.APIKeyFilter{OrgID: acc.OrgID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}

func TestListShowAndPaginate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		var want []int64
		for i := range 24 {
			k, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: fmt.Sprintf("k%02d", i)})
			want = append(want, k.ID)
		}
		var seen []int64
		cursor := ""
		pages := 0
		for {
			path := "/api/v1/api-keys?per_page=10&action=check_project&include=injectables"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := n.Do(t, "GET", path, nil, apptest.Key(f.ownerKey)...)
			wantStatus(t, r, 200)
			var pg keyPage
			r.Decode(t, &pg)
			pages++
			for _, k := range pg.Data {
				seen = append(seen, k.ID)
				if k.Secret != "" {
					t.Fatal("a listing shows a secret")
				}
			}
			if pg.NextCursor == nil {
				break
			}
			cursor = *pg.NextCursor
		}
		// 24 created + the owner's own key, newest first, each once.
		if pages != 3 || len(seen) != 25 || !slices.IsSortedFunc(seen, func(a, b int64) int { return int(b - a) }) {
			t.Fatalf("%d pages, ids %v", pages, seen)
		}
		for _, id := range want {
			if !slices.Contains(seen, id) {
				t.Fatalf("key %d missing from the pages", id)
			}
		}
		// A forged cursor, and one from another tenant's listing, are 422.
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys?cursor=eyJpZCI6MX0", nil, apptest.Key(f.ownerKey)...), 422, "cursor")
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys?cursor=%21%21%21", nil, apptest.Key(f.ownerKey)...), 422, "cursor")
		r := n.Do(t, "GET", "/api/v1/api-keys?per_page=1", nil, apptest.Key(f.otherKey)...)
		var pg keyPage
		r.Decode(t, &pg)
		if len(pg.Data) != 1 || pg.NextCursor != nil {
			t.Fatalf("other tenant sees %d keys", len(pg.Data))
		}
		own := n.Do(t, "GET", "/api/v1/api-keys?per_page=1", nil, apptest.Key(f.ownerKey)...)
		var ownPage keyPage
		own.Decode(t, &ownPage)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys?cursor="+*ownPage.NextCursor, nil, apptest.Key(f.otherKey)...), 422, "cursor")

		// Show: 404 for unknown, non-numeric and foreign IDs.
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(want[0], 10), nil, apptest.Key(f.ownerKey)...), 200, `"name":"k00"`)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/999999", nil, apptest.Key(f.ownerKey)...), 404)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/abc", nil, apptest.Key(f.ownerKey)...), 404)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(want[0], 10), nil, apptest.Key(f.otherKey)...), 404)
	})
}

func TestDeveloperManagesOnlyOwnKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		dev := n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		devK, devKey := n.CreateKey(t, dev, service.KeyInput{})
		ownerK, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "owner's"})
		r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(devKey)...)
		var pg keyPage
		r.Decode(t, &pg)
		if len(pg.Data) != 1 || pg.Data[0].ID != devK.ID {
			t.Fatalf("developer sees %+v", pg.Data)
		}
		id := strconv.FormatInt(ownerK.ID, 10)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/api-keys/" + id}, {"PATCH", "/api/v1/api-keys/" + id}, {"POST", "/api/v1/api-keys/" + id + "/revoke"},
			{"DELETE", "/api/v1/api-keys/" + id}, {"POST", "/api/v1/api-keys/" + id + "/rotate"}, {"GET", "/api/v1/api-keys/" + id + "/usage"},
		} {
			wantStatus(t, n.Do(t, c.method, c.path, map[string]any{"name": "x"}, apptest.Key(devKey)...), 404)
		}
		// The owner (and admins) see and manage everyone's keys.
		r = n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(devK.ID, 10), nil, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 200)
	})
}

func TestCrossTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		ctx := context.Background()
		theirs, theirSecret := n.CreateKey(t, f.other, service.KeyInput{Name: "theirs"})
		id := strconv.FormatInt(theirs.ID, 10)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/api-keys/" + id}, {"PATCH", "/api/v1/api-keys/" + id}, {"POST", "/api/v1/api-keys/" + id + "/revoke"},
			{"DELETE", "/api/v1/api-keys/" + id}, {"POST", "/api/v1/api-keys/" + id + "/rotate"}, {"GET", "/api/v1/api-keys/" + id + "/usage"},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				wantStatus(t, n.Do(t, c.method, c.path, map[string]any{"name": "pwned", "scopes": []string{"audit:read"}}, apptest.Key(f.ownerKey)...), 404)
			})
		}
		// Nothing of theirs changed, and their key still works.
		k, err := n.Store.APIKey(ctx, theirs.ID)
		if err != nil || k.Name != "theirs" || k.RevokedAt != nil || k.RotatedTo != 0 {
			t.Fatalf("their key changed: %+v %v", k, err)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(theirSecret)...), 200)
		// Their audit log shows nothing of ours, ours nothing of theirs.
		r := n.Do(t, "GET", "/api/v1/audit", nil, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 200)
		if strings.Contains(string(r.Body), "globex") {
			t.Fatalf("audit log leaks another tenant: %s", r.Body)
		}

		// A project-scoped key cannot touch another project of its own
		// organization.
		p1 := &core.Project{OrgID: f.owner.OrgID, Name: "One", Slug: "one", IsActive: true}
		p2 := &core.Project{OrgID: f.owner.OrgID, Name: "Two", Slug: "two", IsActive: true}
		for _, p := range []*core.Project{p1, p2} {
			if err := n.Store.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		_, scoped := n.CreateKey(t, f.owner, service.KeyInput{Name: "p1", ProjectID: p1.ID})
		inP2, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "p2", ProjectID: p2.ID})
		global, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "global"})
		r = n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(scoped)...)
		var pg keyPage
		r.Decode(t, &pg)
		for _, k := range pg.Data {
			if k.ProjectID == nil || *k.ProjectID != p1.ID {
				t.Fatalf("project-scoped key lists key %d of project %v", k.ID, k.ProjectID)
			}
		}
		for _, other := range []int64{inP2.ID, global.ID} {
			wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(other, 10), nil, apptest.Key(scoped)...), 404)
			wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(other, 10)+"/revoke", nil, apptest.Key(scoped)...), 404)
		}
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x", "project_id": p2.ID}, apptest.Key(scoped)...),
			403, "API key does not match project owner.")
		r = n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}, apptest.Key(scoped)...)
		wantStatus(t, r, 201, fmt.Sprintf(`"project_id":%d`, p1.ID))
	})
}

func TestUpdateKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		exp := n.Clock.Now().Add(time.Hour)
		k, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "before", Scopes: []string{"licenses:read"}, ExpiresAt: &exp})
		_, narrow := n.CreateKey(t, f.owner, service.KeyInput{Scopes: []string{"api_keys:read", "api_keys:write", "licenses:read"}})
		path := "/api/v1/api-keys/" + strconv.FormatInt(k.ID, 10)
		future := n.Clock.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)

		tests := []struct {
			name   string
			key    string
			body   any
			status int
			want   []string
		}{
			{"rename", f.ownerKey, map[string]any{"name": "after", "description": "desc"}, 200, []string{`"name":"after"`, `"description":"desc"`}},
			{"scopes", f.ownerKey, map[string]any{"scopes": []string{"licenses:read", "domains:read"}}, 200, []string{`"scopes":["licenses:read","domains:read"]`}},
			{"clear expiry", f.ownerKey, map[string]any{"expires_at": nil}, 200, []string{`"expires_at":null`}},
			{"set expiry", f.ownerKey, map[string]any{"expires_at": future}, 200, []string{`"expires_at":"`}},
			{"ips", f.ownerKey, map[string]any{"allowed_ips": "192.0.2.0/24"}, 200, []string{`"allowed_ips":["192.0.2.0/24"]`}},
			{"clear ips", f.ownerKey, map[string]any{"allowed_ips": []string{}}, 200, []string{`"allowed_ips":[]`}},
			{"rate", f.ownerKey, map[string]any{"rate_limit_per_minute": 42}, 200, []string{`"rate_limit_per_minute":42`}},
			{"empty name", f.ownerKey, map[string]any{"name": " "}, 422, []string{"name field is required"}},
			{"unknown scope", f.ownerKey, map[string]any{"scopes": []string{"nope"}}, 422, []string{"not a valid scope"}},
			{"null scopes", f.ownerKey, map[string]any{"scopes": nil}, 422, []string{"at least one scope"}},
			{"past expiry", f.ownerKey, map[string]any{"expires_at": "2001-01-01"}, 422, []string{"date after now"}},
			{"widen beyond caller", narrow, map[string]any{"scopes": []string{"projects:write"}}, 403, []string{"projects:write"}},
			{"within caller", narrow, map[string]any{"scopes": []string{"licenses:read"}}, 200, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, "PATCH", path, tc.body, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want...)
			})
		}
		// A key holding more than the caller cannot be changed by it at all.
		_, wide := n.CreateKey(t, f.owner, service.KeyInput{Name: "wide"})
		wideK, _ := n.Store.ListAPIKeys(context.Background(), core.APIKeyFilter{OrgID: f.owner.OrgID, Limit: 1})
		_ = wide
		wantStatus(t, n.Do(t, "PATCH", "/api/v1/api-keys/"+strconv.FormatInt(wideK[0].ID, 10), map[string]any{"expires_at": future}, apptest.Key(narrow)...),
			403, "beyond your own rights")
		// Revoked keys are final.
		wantStatus(t, n.Do(t, "POST", path+"/revoke", "[]", apptest.Key(f.ownerKey)...), 200, `"status":"revoked"`)
		wantStatus(t, n.Do(t, "PATCH", path, map[string]any{"name": "again"}, apptest.Key(f.ownerKey)...), 409, "revoked")
	})
}

func TestRevokeIsImmediate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		for _, how := range []struct{ method, suffix string }{{"POST", "/revoke"}, {"DELETE", ""}} {
			t.Run(how.method, func(t *testing.T) {
				k, secret := n.CreateKey(t, f.owner, service.KeyInput{})
				// Warm the cache: the key is now served from memory.
				for range 3 {
					wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(secret)...), 200)
				}
				r := n.Do(t, how.method, "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+how.suffix, nil, apptest.Key(f.ownerKey)...)
				wantStatus(t, r, 200, `"status":"revoked"`)
				wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(secret)...), 403, "Invalid or expired API key.")
				// Revoking again is a no-op that succeeds.
				wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/revoke", "{}", apptest.Key(f.ownerKey)...), 200)
			})
		}
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/424242/revoke", nil, apptest.Key(f.ownerKey)...), 404)
	})
}

func TestRotateWithGrace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		old, oldSecret := n.CreateKey(t, f.owner, service.KeyInput{Name: "rotating", Scopes: []string{"api_keys:read", "audit:read"}})
		path := "/api/v1/api-keys/" + strconv.FormatInt(old.ID, 10)
		wantStatus(t, n.Do(t, "POST", path+"/rotate", map[string]any{"grace_seconds": 86401}, apptest.Key(f.ownerKey)...), 422, "grace seconds")
		wantStatus(t, n.Do(t, "POST", path+"/rotate", map[string]any{"grace_seconds": "x"}, apptest.Key(f.ownerKey)...), 422, "integer")
		r := n.Do(t, "POST", path+"/rotate", map[string]any{"grace_seconds": 600}, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 201, `"secret":"sk_live_`)
		var out struct {
			Key      keyView `json:"key"`
			Previous keyView `json:"previous"`
		}
		r.Decode(t, &out)
		if out.Key.Name != "rotating" || !slices.Equal(out.Key.Scopes, []string{"api_keys:read", "audit:read"}) || out.Key.ID == old.ID {
			t.Fatalf("successor = %+v", out.Key)
		}
		if out.Previous.RotatedToID == nil || *out.Previous.RotatedToID != out.Key.ID || out.Previous.ExpiresAt == nil {
			t.Fatalf("previous = %+v", out.Previous)
		}
		// During the grace both work.
		n.Clock.Advance(599 * time.Second)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(oldSecret)...), 200)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(out.Key.Secret)...), 200)
		// At its end only the new one does.
		n.Clock.Advance(time.Second)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(oldSecret)...), 403, "Invalid or expired API key.")
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(out.Key.Secret)...), 200)
		// A key is rotated once; revoked and expired keys not at all.
		wantStatus(t, n.Do(t, "POST", path+"/rotate", nil, apptest.Key(f.ownerKey)...), 409)

		// The grace never outlasts the key's own expiry.
		exp := n.Clock.Now().Add(5 * time.Minute)
		short, shortSecret := n.CreateKey(t, f.owner, service.KeyInput{ExpiresAt: &exp})
		r = n.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(short.ID, 10)+"/rotate", map[string]any{"grace_seconds": 3600}, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 201)
		n.Clock.Advance(5 * time.Minute)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(shortSecret)...), 403)
		// Grace 0: the old key stops at once.
		now0, now0Secret := n.CreateKey(t, f.owner, service.KeyInput{})
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(now0Secret)...), 200)
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(now0.ID, 10)+"/rotate", "{}", apptest.Key(f.ownerKey)...), 201)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(now0Secret)...), 403)

		// Rotation cannot hand the caller a key with more rights than it has.
		_, narrow := n.CreateKey(t, f.owner, service.KeyInput{Scopes: []string{"api_keys:read", "api_keys:write"}})
		full, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "full"})
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(full.ID, 10)+"/rotate", nil, apptest.Key(narrow)...), 403, "beyond your own rights")
	})
}

func TestRateLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b, func(c *config.Config) { c.IPRateLimit = 3 })
		n := f.n
		_, limited := n.CreateKey(t, f.owner, service.KeyInput{RateLimit: 2})
		n.Clock.Set(n.Clock.Now().Truncate(time.Minute).Add(10 * time.Second))
		for i := range 2 {
			r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(limited)...)
			wantStatus(t, r, 200)
			if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(1-i) {
				t.Fatalf("remaining = %q after %d requests", got, i+1)
			}
			if r.Header.Get("X-RateLimit-Limit") != "2" {
				t.Fatalf("limit header = %q", r.Header.Get("X-RateLimit-Limit"))
			}
		}
		r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(limited)...)
		wantStatus(t, r, 429, "Too Many Attempts.")
		if r.Header.Get("Retry-After") != "50" || r.Header.Get("X-RateLimit-Remaining") != "0" ||
			r.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(n.Clock.Now().Truncate(time.Minute).Add(time.Minute).Unix(), 10) {
			t.Fatalf("429 headers: %v", r.Header)
		}
		// Another key is not affected; the next minute resets.
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(f.ownerKey)...), 200)
		n.Clock.Advance(50 * time.Second)
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(limited)...), 200)

		// Unauthenticated failures are limited per client IP.
		for range 3 {
			wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, "X-API-KEY", "nope"), 403)
		}
		r = n.Do(t, "GET", "/api/v1/api-keys", nil)
		wantStatus(t, r, 429)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After on the IP limit")
		}
		// The budget counts only failures, but once it is spent the
		// address is refused whatever it presents (TestThrottleBeforeWork).
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(f.ownerKey)...), 429)
	})
}

func TestAllowedIPs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		// Requests come from 127.0.0.1, which is also the trusted proxy.
		f := newFixture(t, b, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
		n := f.n
		_, office := n.CreateKey(t, f.owner, service.KeyInput{AllowedIPs: []string{"10.0.0.0/8", "2001:db8::/32"}})
		_, local := n.CreateKey(t, f.owner, service.KeyInput{AllowedIPs: []string{"127.0.0.1"}})
		tests := []struct {
			name    string
			key     string
			headers []string
			status  int
		}{
			{"proxy says 10.1.2.3", office, []string{"X-Forwarded-For", "10.1.2.3"}, 200},
			{"proxy says ipv6", office, []string{"X-Forwarded-For", "2001:db8::7"}, 200},
			{"proxy says elsewhere", office, []string{"X-Forwarded-For", "192.0.2.1"}, 403},
			{"spoofed hop before the real client", office, []string{"X-Forwarded-For", "10.0.0.1, 192.0.2.1"}, 403},
			{"no forwarding", office, nil, 403},
			{"local key direct", local, nil, 200},
			{"local key via proxy for another client", local, []string{"X-Forwarded-For", "10.1.2.3"}, 403},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, "GET", "/api/v1/api-keys", nil, append(apptest.Key(tc.key), tc.headers...)...)
				wantStatus(t, r, tc.status)
				if tc.status == 403 && r.Env.Code != "IP_NOT_ALLOWED" {
					t.Fatalf("code = %q", r.Env.Code)
				}
			})
		}
		// Without trusted proxies, X-Forwarded-For is ignored.
		plain := newFixture(t, b)
		_, office2 := plain.n.CreateKey(t, plain.owner, service.KeyInput{AllowedIPs: []string{"10.0.0.0/8"}})
		wantStatus(t, plain.n.Do(t, "GET", "/api/v1/api-keys", nil, append(apptest.Key(office2), "X-Forwarded-For", "10.1.2.3")...), 403)
	})
}

func TestUsageAndAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		r := n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "tracked"}, append(apptest.Key(f.ownerKey), "User-Agent", "audit-test/1.0")...)
		wantStatus(t, r, 201)
		var k keyView
		r.Decode(t, &k)
		for range 5 {
			wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(k.Secret)...), 200)
		}
		// Before any flush, this node already reports the use.
		r = n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10), nil, apptest.Key(f.ownerKey)...)
		var shown keyView
		r.Decode(t, &shown)
		if shown.LastUsedAt == nil || shown.LastUsedIP == nil || *shown.LastUsedIP != "127.0.0.1" {
			t.Fatalf("last used = %v %v", shown.LastUsedAt, shown.LastUsedIP)
		}
		if err := n.Stack.Usage.Flush(context.Background(), n.Store); err != nil {
			t.Fatal(err)
		}
		stored, err := n.Store.APIKey(context.Background(), k.ID)
		if err != nil || stored.LastUsedAt == nil || stored.LastUsedIP != "127.0.0.1" {
			t.Fatalf("flushed key = %+v, %v", stored, err)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(k.Secret)...), 200) // one more, pending
		r = n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/usage?days=7", nil, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 200)
		var usage struct {
			Days []struct {
				Day   string `json:"day"`
				Count int64  `json:"count"`
			} `json:"days"`
			Total int64 `json:"total"`
		}
		r.Decode(t, &usage)
		if len(usage.Days) != 7 || usage.Total != 6 || usage.Days[6].Count != 6 || usage.Days[6].Day != n.Clock.Now().UTC().Format(time.DateOnly) {
			t.Fatalf("usage = %+v", usage)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/usage?days=0", nil, apptest.Key(f.ownerKey)...), 422, "days")

		id := strconv.FormatInt(k.ID, 10)
		wantStatus(t, n.Do(t, "PATCH", "/api/v1/api-keys/"+id, map[string]any{"name": "renamed"}, apptest.Key(f.ownerKey)...), 200)
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+id+"/rotate", map[string]any{"grace_seconds": 10}, apptest.Key(f.ownerKey)...), 201)
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+id+"/revoke", nil, apptest.Key(f.ownerKey)...), 200)
		r = n.Do(t, "GET", "/api/v1/audit?action=api_key.&target_id="+id, nil, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 200)
		var events struct {
			Data []struct {
				Action    string         `json:"action"`
				Actor     string         `json:"actor"`
				ActorType string         `json:"actor_type"`
				IP        string         `json:"ip"`
				UserAgent string         `json:"user_agent"`
				Details   map[string]any `json:"details"`
			} `json:"data"`
		}
		r.Decode(t, &events)
		var actions []string
		for _, e := range events.Data {
			actions = append(actions, e.Action)
			if e.ActorType != "api_key" || !strings.HasPrefix(e.Actor, "pk_live_") || e.IP != "127.0.0.1" {
				t.Fatalf("event %+v", e)
			}
			if strings.Contains(fmt.Sprint(e.Details), k.Secret) {
				t.Fatal("an audit event holds a secret")
			}
		}
		if !slices.Equal(actions, []string{"api_key.revoke", "api_key.rotate", "api_key.update", "api_key.create"}) {
			t.Fatalf("actions = %v", actions)
		}
		if events.Data[3].UserAgent != "audit-test/1.0" {
			t.Fatalf("user agent = %q", events.Data[3].UserAgent)
		}
		wantStatus(t, n.Do(t, "GET", "/api/v1/audit?since=yesterday", nil, apptest.Key(f.ownerKey)...), 422, "since")
	})
}
