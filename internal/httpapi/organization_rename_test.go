package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestRenameOrganizationAPI: PATCH /api/v1/organization renames the
// organization for an owner's live, organization-wide key; bad names are
// 422 naming name, other keys are refused, and a refusal changes nothing.
func TestRenameOrganizationAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		n := apptest.New(t, b)
		owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
		admin := n.CreateUser(t, "Acme", "admin@acme.test", core.RoleAdmin)
		n.CreateUser(t, "Globex", "owner@globex.test", core.RoleOwner)
		_, key := n.CreateKey(t, owner, service.KeyInput{Name: "owner"})
		_, adminKey := n.CreateKey(t, admin, service.KeyInput{Name: "admin"})
		_, readKey := n.CreateKey(t, owner, service.KeyInput{Name: "read", Scopes: []string{"projects:read"}})
		_, testKey := n.CreateKey(t, owner, service.KeyInput{Name: "test", Env: core.EnvTest})
		proj, err := n.Service().CreateProject(context.Background(), owner.Actor(), service.ProjectInput{Name: service.Some("Plugin")})
		if err != nil {
			t.Fatal(err)
		}
		p := proj.ID
		_, bound := n.CreateKey(t, owner, service.KeyInput{Name: "bound", ProjectID: p})
		auth := func(k string) []string { return []string{"X-API-KEY", k} }
		name := func() string {
			t.Helper()
			o, err := n.Store.Organization(context.Background(), owner.OrgID)
			if err != nil {
				t.Fatal(err)
			}
			return o.Name
		}

		r := n.Do(t, "PATCH", "/api/v1/organization", map[string]any{"name": "  Acme Software  "}, auth(key)...)
		wantStatus(t, r, 200, `"name":"Acme Software"`)
		if got := name(); got != "Acme Software" {
			t.Fatalf("name %q after a rename", got)
		}

		for _, tc := range []struct {
			what string
			body string
		}{
			{"empty", `{"name":""}`},
			{"blank", `{"name":"   "}`},
			{"missing", `{}`},
			{"too long", `{"name":"` + strings.Repeat("é", 101) + `"}`},
			{"NUL", `{"name":"a\u0000b"}`},
			{"invalid UTF-8", "{\"name\":\"a\xffb\"}"},
			{"taken", `{"name":"GLOBEX"}`},
		} {
			r := n.Do(t, "PATCH", "/api/v1/organization", tc.body, auth(key)...)
			if r.Status != 422 || len(r.Env.Errors["name"]) == 0 {
				t.Errorf("%s: %d %s, want 422 naming name", tc.what, r.Status, r.Body)
			}
		}
		for _, tc := range []struct {
			what, key string
			status    int
		}{{"admin", adminKey, 403}, {"no projects:write", readKey, 403}, {"test key", testKey, 403}, {"project-bound", bound, 403}, {"no key", "", 401}} {
			h := auth(tc.key)
			if tc.key == "" {
				h = nil
			}
			r := n.Do(t, "PATCH", "/api/v1/organization", map[string]any{"name": "Hijacked"}, h...)
			if r.Status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.what, r.Status, r.Body, tc.status)
			}
		}
		if got := name(); got != "Acme Software" {
			t.Fatalf("name %q after refused renames", got)
		}
		evs, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: owner.OrgID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		renames := 0
		for _, e := range evs {
			if e.Action == "organization.rename" {
				renames++
			}
		}
		if renames != 1 {
			t.Fatalf("%d organization.rename events, want 1", renames)
		}
	})
}
