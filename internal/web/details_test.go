package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// TestProjectDeleteTypedName: deleting a project asks for its name; a
// wrong, empty or bad name is 422 under the confirmation field and deletes
// nothing; the name typed exactly deletes it.
func TestProjectDeleteTypedName(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := itoa(createProject(t, n, acc, "Pro Plugin"))
		path := "/projects/" + pid + "/delete"
		wantText(t, c.get(path), "Delete the project Pro Plugin?", "Type Pro Plugin to confirm")
		for _, typed := range []string{"", "pro plugin", "Pro", "Pro Plugin\x00", "Pro \xffPlugin"} {
			p := c.post(path, url.Values{"confirm_name": {typed}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := fieldError(p, "confirm_name"); got == "" && !strings.Contains(p.text(), "Name to confirm") {
				t.Errorf("typed %q: no message naming the field:\n%s", typed, p.text())
			}
			if _, err := n.Store.Project(context.Background(), mustID(t, pid)); err != nil {
				t.Fatalf("typed %q: the project is gone: %v", typed, err)
			}
		}
		wantRedirect(t, c.post(path, url.Values{"confirm_name": {"  Pro Plugin "}}), "/projects")
		if _, err := n.Store.Project(context.Background(), mustID(t, pid)); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("after a confirmed delete: %v", err)
		}
	})
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOrganizationRenameAndDelete: an owner renames the organization
// (bad names 422 naming the field, nothing changed), others cannot, and
// deleting it needs its name: its keys stop working at once, a member of
// another organization lands there, the owner of only this one is signed
// out.
func TestOrganizationRenameAndDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		dev := signIn(t, n, "dev@acme.test")
		n.CreateUser(t, "Globex", "gus@globex.test", core.RoleOwner)
		n.CreateUser(t, "Beta", "bob@beta.test", core.RoleOwner)
		if _, _, err := n.Service().JoinOrganization(context.Background(), acc.Actor(), "bob@beta.test", "Acme", core.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		createProject(t, n, acc, "Plugin")
		_, secret := n.CreateKey(t, acc, service.KeyInput{Name: "deploy"})
		orgName := func() string {
			o, err := n.Store.Organization(context.Background(), acc.OrgID)
			if err != nil {
				t.Fatal(err)
			}
			return o.Name
		}

		wantText(t, c.get("/settings"), "Organization name", "Delete organization…")
		wantRedirect(t, c.post("/settings/organization", url.Values{"org_name": {"Acme Software"}}), "/settings")
		if got := orgName(); got != "Acme Software" {
			t.Fatalf("renamed to %q", got)
		}
		for _, bad := range []string{"", "   ", strings.Repeat("x", 101), "a\x00b", "a\xffb", "globex"} {
			p := c.post("/settings/organization", url.Values{"org_name": {bad}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if !strings.Contains(p.text(), "rganization name") {
				t.Errorf("%q: the message does not name the field:\n%s", bad, p.text())
			}
			if got := orgName(); got != "Acme Software" {
				t.Fatalf("%q: renamed to %q", bad, got)
			}
		}
		wantStatus(t, dev.post("/settings/organization", url.Values{"org_name": {"Hijack"}}), http.StatusForbidden)
		wantStatus(t, dev.get("/settings/organization/delete"), http.StatusForbidden)
		wantStatus(t, dev.post("/settings/organization/delete", url.Values{"confirm_name": {"Acme Software"}}), http.StatusForbidden)

		// Deleting: the name is asked for.
		wantText(t, c.get("/settings/organization/delete"), "Delete the organization Acme Software?")
		for _, typed := range []string{"", "acme software", "Acme\x00"} {
			wantStatus(t, c.post("/settings/organization/delete", url.Values{"confirm_name": {typed}}), http.StatusUnprocessableEntity)
		}
		if got := orgName(); got != "Acme Software" {
			t.Fatalf("deleted without the name: %q", got)
		}
		api := func() *apptest.Response { return n.Do(t, "GET", "/api/v1/projects", nil, "X-API-KEY", secret) }
		if got := api(); got.Status != http.StatusOK {
			t.Fatalf("the key before the deletion: %d %s", got.Status, got.Body)
		}
		bobc := signIn(t, n, "bob@beta.test")
		bobc.post("/org", url.Values{"org_id": {itoa(acc.OrgID)}})

		p := c.post("/settings/organization/delete", url.Values{"confirm_name": {"Acme Software"}})
		wantRedirect(t, p, "/login")
		// Refused on the very next request (the key was cached by the
		// request above), as DevPayr refuses an unknown key.
		if got := api(); got.Status != http.StatusForbidden || got.Env.Code != "INVALID_API_KEY" {
			t.Fatalf("the organization's key after its deletion: %d %s", got.Status, got.Body)
		}
		if _, err := n.Store.Organization(context.Background(), acc.OrgID); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("the organization after its deletion: %v", err)
		}
		// Ada belonged to Acme only: signed out. Bob is in Beta now.
		wantStatus(t, c.get("/projects"), http.StatusSeeOther)
		bp := bobc.get("/projects")
		wantStatus(t, bp, http.StatusOK)
		wantText(t, bp, "Beta")
		evs, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: acc.OrgID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if !strings.Contains(strings.Join(actions, " "), "organization.delete") || !strings.Contains(strings.Join(actions, " "), "organization.rename") {
			t.Fatalf("audit events %v", actions)
		}
	})
}

// TestKeySecretTryIt: the Try it snippet exports the real secret while it
// is shown, on a page that is not stored.
func TestKeySecretTryIt(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, _ := owner(t, n, "Acme", "ada@acme.test")
		c.get("/api-keys/new")
		p := c.follow(c.post("/api-keys", url.Values{"name": {"deploy"}, "scopes": {"projects:read"}, "env": {"live"}}))
		secret := shownSecret(t, p)
		if !strings.Contains(p.text(), "export LATCHKEY_API_KEY='"+secret+"'") {
			t.Fatalf("the snippet does not hold the secret:\n%s", p.Body)
		}
		if cc := p.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
	})
}
