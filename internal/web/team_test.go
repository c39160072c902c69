package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

func TestTeamPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		n.CreateUser(t, "Beta", "bea@beta.test", core.RoleOwner)
		wantText(t, c.get("/team"), "ada@acme.test", "Invite a member")

		for _, tc := range []struct {
			name   string
			form   url.Values
			fields map[string]string
		}{
			{"bad email and role", url.Values{"email": {"nope"}, "role": {"king"}}, map[string]string{
				"email": "The email field must be a valid email address.", "role": "The role must be one of owner, admin, developer, viewer."}},
			{"already a member", url.Values{"email": {"ada@acme.test"}, "role": {"viewer"}},
				map[string]string{"email": "This person is already a member of the organization."}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := c.post("/team", tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				for f, msg := range tc.fields {
					if got := fieldError(p, f); got != web.HumanMessage(msg) {
						t.Errorf("%s: %q, want %q", f, got, msg)
					}
				}
			})
		}

		// A new account, invited; it joins from the link (see
		// TestInvitationByMail for the rest).
		dev := acceptInvitation(t, n, inviteLink(t, c, "dev@acme.test", "developer"), "Dev", password)
		ctx := context.Background()
		devUser, _ := n.Store.UserByEmail(ctx, "dev@acme.test")
		devAcc := apptest.Account{OrgID: acc.OrgID, UserID: devUser.ID}
		_, devSecret := n.CreateKey(t, devAcc, service.KeyInput{Name: "dev key"})

		// Non-owners cannot manage members.
		p := dev.post("/team", url.Values{"email": {"x@acme.test"}, "role": {"owner"}})
		wantStatus(t, p, http.StatusForbidden)
		wantText(t, p, "Only an owner of the organization can manage its members.")
		wantNoText(t, dev.get("/team"), "Invite a member")

		// The role is read on every request: demoted, the next post is refused.
		wantStatus(t, dev.post("/projects", url.Values{"name": {"Dev project"}}), http.StatusSeeOther)
		p = c.post("/team/"+itoa(devUser.ID)+"/role", url.Values{"role": {"viewer"}})
		wantRedirect(t, p, "/team")
		wantText(t, c.follow(p), "dev@acme.test is now viewer.")
		p = dev.post("/projects", url.Values{"name": {"Another"}})
		wantStatus(t, p, http.StatusForbidden)
		wantText(t, dev.get("/projects"), "viewer")

		// The last owner cannot step down.
		p = c.post("/team/"+itoa(acc.UserID)+"/role", url.Values{"role": {"admin"}})
		wantRedirect(t, p, "/team")
		wantText(t, c.follow(p), "The organization needs at least one owner")

		// Removed: their session and their keys stop at once.
		wantText(t, c.get("/team/"+itoa(devUser.ID)+"/remove"), "Remove dev@acme.test from the organization?")
		p = c.post("/team/"+itoa(devUser.ID)+"/remove", nil)
		wantRedirect(t, p, "/team")
		wantNoText(t, c.follow(p), "<strong>dev@acme.test</strong>")
		wantRedirect(t, dev.get("/projects"), "/login?next=%2Fprojects")
		if r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(devSecret)...); r.Status != 403 {
			t.Fatalf("removed member's key: %d", r.Status)
		}
		wantStatus(t, c.post("/team/"+itoa(devUser.ID)+"/remove", nil), http.StatusNotFound)
		wantStatus(t, c.get("/team/abc/remove"), http.StatusNotFound)
	})
}

func TestOrganizationSwitch(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		acme := n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
		beta := n.CreateUser(t, "Beta", "bea@beta.test", core.RoleOwner)
		if err := n.Store.CreateMembership(context.Background(), &core.Membership{OrgID: beta.OrgID, UserID: acme.UserID,
			Role: core.RoleViewer}); err != nil {
			t.Fatal(err)
		}
		acmeProject := createProject(t, n, acme, "Acme Plugin")
		createProject(t, n, beta, "Beta Theme")
		lonely := n.CreateUser(t, "Gamma", "gus@gamma.test", core.RoleOwner)

		c := signIn(t, n, "ada@acme.test")
		home := c.get("/projects")
		wantText(t, home, "Acme Plugin")
		wantNoText(t, home, "Beta Theme")
		if !strings.Contains(home.Body, `name="org_id"`) || !strings.Contains(home.Body, ">Beta</option>") {
			t.Fatal("no organization switcher")
		}
		p := c.post("/org", url.Values{"org_id": {itoa(beta.OrgID)}})
		wantRedirect(t, p, "/projects")
		home = c.follow(p)
		wantText(t, home, "Switched to Beta.", "Beta Theme", "viewer")
		wantNoText(t, home, "Acme Plugin", "New project")
		// Another organization's project is not found from here.
		wantStatus(t, c.get("/projects/"+itoa(acmeProject)), http.StatusNotFound)

		for _, id := range []string{itoa(lonely.OrgID), "abc", "-1", ""} {
			p = c.post("/org", url.Values{"org_id": {id}})
			wantRedirect(t, p, "/projects")
			wantText(t, c.follow(p), "Beta Theme")
		}
		// A one-organization user has no switcher.
		if strings.Contains(signIn(t, n, "gus@gamma.test").get("/projects").Body, `name="org_id"`) {
			t.Error("switcher for a single organization")
		}
	})
}

func TestAuditPage(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := createProject(t, n, acc, "Pro Plugin")
		wantRedirect(t, c.post("/projects/"+itoa(pid)+"/licenses", url.Values{"title": {"Customer A"}}),
			"/projects/"+itoa(pid)+"/licenses/1")
		p := c.get("/audit")
		wantText(t, p, "license.create", "project.create", "user.sign_in", "ada@acme.test", "title=\"Customer A\"")

		p = c.get("/audit?action=license.&actor_type=user&project_id=" + itoa(pid))
		wantText(t, p, "license.create")
		wantNoText(t, p, "<code>project.create</code>", "<code>user.sign_in</code>")

		p = c.get("/audit?since=yesterday&project_id=abc&actor_type=robot")
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if fieldError(p, "since") != web.HumanMessage("The since field must be a valid date.") {
			t.Errorf("since: %q", fieldError(p, "since"))
		}
		day := n.Clock.Now().Format("2006-01-02")
		wantText(t, c.get("/audit?since="+day+"&until="+day), "license.create")

		other, _ := owner(t, n, "Beta", "bea@beta.test")
		wantNoText(t, other.get("/audit"), "Customer A")
	})
}

// TestBadInput sends what a browser (or anyone) could: it gets a clear
// answer, never a 500 (the client helper fails the test on any 5xx).
func TestBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := itoa(createProject(t, n, acc, "Pro Plugin"))
		for _, tc := range []struct {
			method, path string
			form         url.Values
			status       int
		}{
			{"GET", "/projects/abc", nil, 404},
			{"GET", "/projects/0", nil, 404},
			{"GET", "/projects/99999999999999999999", nil, 404},
			{"GET", "/projects/424242", nil, 404},
			{"GET", "/projects/" + pid + "/licenses/abc", nil, 404},
			{"GET", "/projects/" + pid + "/licenses/424242", nil, 404},
			{"GET", "/projects/" + pid + "/licenses?before=xyz&status=bogus&search=" + strings.Repeat("%25", 300), nil, 422},
			{"GET", "/projects/" + pid + "/domains/1/edit", nil, 404},
			{"GET", "/projects/" + pid + "/injectables/7/edit", nil, 404},
			{"GET", "/api-keys/0", nil, 404},
			{"GET", "/api-keys/77", nil, 404},
			{"GET", "/api-keys?before=-3", nil, 200},
			{"GET", "/projects?after=zz", nil, 200},
			{"GET", "/licenses?project=abc", nil, 422},
			{"GET", "/licenses?project=424242", nil, 303},
			{"GET", "/no/such/page", nil, 404},
			{"GET", "/static/nope.css", nil, 404},
			{"POST", "/projects/" + pid + "/licenses", url.Values{"title": {"x"}, "max_domains": {"99999999999999999999999"},
				"expires_at": {"9999-99-99"}, "domain_id": {"-1"}}, 422},
			{"POST", "/projects/" + pid + "/licenses/424242/suspend", nil, 404},
			{"POST", "/projects/" + pid + "/edit", url.Values{"name": {"\x00"}}, 422},
			{"POST", "/api-keys/424242/rotate", url.Values{"grace_seconds": {"60"}}, 404},
			{"POST", "/team/424242/role", url.Values{"role": {"viewer"}}, 404},
			{"POST", "/projects/" + pid, nil, 404},
			{"DELETE", "/projects/" + pid, nil, 404},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				var p *page
				if tc.method == "POST" {
					p = c.post(tc.path, tc.form)
				} else {
					p = c.do(tc.method, tc.path, nil, "")
				}
				if p.Status != tc.status {
					t.Fatalf("status %d, want %d\n%s", p.Status, tc.status, p.text())
				}
			})
		}
		// A form larger than any form needs.
		big := url.Values{"name": {strings.Repeat("x", 2<<20)}, "_csrf": {c.csrf}}
		p := c.do("POST", "/projects", strings.NewReader(big.Encode()), "application/x-www-form-urlencoded")
		wantStatus(t, p, http.StatusRequestEntityTooLarge)
	})
}
