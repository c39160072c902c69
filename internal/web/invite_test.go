package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/web"
)

// acceptingSignIn signs in a person who has pending invitations: the first
// attempt shows them, the second answers them (accept: tick every one).
func acceptingSignIn(t testing.TB, n *apptest.Node, email, pass string, accept bool) *client {
	t.Helper()
	c := newClient(t, n)
	c.get("/login")
	p := c.post("/login", url.Values{"email": {email}, "password": {pass}})
	wantStatus(t, p, http.StatusOK)
	wantText(t, p, "You have been invited to join an organization.")
	form := url.Values{"email": {email}, "password": {pass}}
	for _, m := range regexpAll(p.Body, `name="invitation" value="(\d+)"`) {
		form.Add("invitation", m)
		if accept {
			form.Add("accept", m)
		}
	}
	if len(form["invitation"]) == 0 {
		t.Fatalf("no invitation offered:\n%s", p.Body)
	}
	p = c.post("/login", form)
	if p.Status != http.StatusSeeOther || p.Location != "/projects" {
		t.Fatalf("answering the invitations of %s: %d %q\n%s", email, p.Status, p.Location, p.Body)
	}
	c.get("/projects")
	return c
}

func regexpAll(body, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestInvitations: adding a member by email answers the same whether or
// not the email has an account, and attaches nobody: the person joins only
// by accepting at their next sign-in.
func TestInvitations(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		ctx := context.Background()
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		bea := n.CreateUser(t, "Beta", "bea@beta.test", core.RoleOwner) // an account elsewhere

		// The same form errors for an existing and an unknown email.
		for _, email := range []string{"bea@beta.test", "nobody@acme.test"} {
			t.Run("errors/"+email, func(t *testing.T) {
				for _, tc := range []struct {
					form url.Values
					msg  string
				}{
					{url.Values{"email": {email}, "role": {"admin"}}, "The password field is required."},
					{url.Values{"email": {email}, "role": {"admin"}, "password": {"short"}}, "The password field must be at least 8 characters."},
				} {
					p := c.post("/team", tc.form)
					wantStatus(t, p, http.StatusUnprocessableEntity)
					if got := fieldError(p, "password"); got != web.HumanMessage(tc.msg) {
						t.Fatalf("password: %q, want %q", got, tc.msg)
					}
					if got := fieldError(p, "email"); got != "" {
						t.Fatalf("email error %q tells about the account", got)
					}
				}
			})
		}

		// The same answer for both; neither is a member yet.
		answers := map[string]string{}
		for _, email := range []string{"bea@beta.test", "new@acme.test"} {
			p := c.post("/team", url.Values{"email": {email}, "role": {"admin"}, "name": {"N"}, "password": {"chosen by ada"}})
			wantRedirect(t, p, "/team")
			answers[email] = strings.ReplaceAll(flashOf(c.follow(p)), email, "EMAIL")
		}
		if answers["bea@beta.test"] != answers["new@acme.test"] {
			t.Fatalf("the answers differ:\n%s\n%s", answers["bea@beta.test"], answers["new@acme.test"])
		}
		members, err := n.Store.ListMembers(ctx, acc.OrgID)
		if err != nil || len(members) != 1 {
			t.Fatalf("members = %v, %v: someone was attached without accepting", members, err)
		}
		team := c.get("/team")
		wantText(t, team, "Pending invitations", "bea@beta.test", "new@acme.test")
		// The audit log does not tell either.
		events, err := n.Store.ListAudit(ctx, core.AuditFilter{OrgID: acc.OrgID, Action: "member.", Limit: 10})
		if err != nil || len(events) != 2 {
			t.Fatalf("audit = %v, %v", events, err)
		}
		if strings.Contains(string(events[0].Details), "new_user") || strings.ReplaceAll(string(events[0].Details), "new@acme.test", "E") !=
			strings.ReplaceAll(string(events[1].Details), "bea@beta.test", "E") {
			t.Fatalf("audit details differ: %s / %s", events[0].Details, events[1].Details)
		}

		// Bea keeps her own password, and declines: she stays out of Acme.
		if p := newSignInWith(t, n, "bea@beta.test", "chosen by ada"); p.Status != http.StatusUnauthorized {
			t.Fatalf("the owner's password opened an existing account: %d", p.Status)
		}
		bc := acceptingSignIn(t, n, "bea@beta.test", password, false)
		wantText(t, bc.get("/projects"), "Beta")
		if _, err := n.Store.Membership(ctx, acc.OrgID, bea.UserID); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("declined, yet a member: %v", err)
		}
		wantRedirect(t, newSignIn(t, n, "bea@beta.test"), "/projects") // answered: not asked again

		// The new account signs in with the password the owner chose, and
		// accepts: a member with the invited role, landing in Acme.
		nc := acceptingSignIn(t, n, "new@acme.test", "chosen by ada", true)
		wantText(t, nc.get("/projects"), "Acme", "admin")
		wantNoText(t, c.get("/team"), "Pending invitations")
		wantText(t, c.get("/team"), "new@acme.test")

		// A withdrawn invitation is not offered.
		wantRedirect(t, c.post("/team", url.Values{"email": {"bea@beta.test"}, "role": {"viewer"}, "password": {password}}), "/team")
		p := c.post("/team/invitations/"+itoa(bea.UserID)+"/cancel", nil)
		wantRedirect(t, p, "/team")
		wantText(t, c.follow(p), "The invitation was withdrawn.")
		wantRedirect(t, newSignIn(t, n, "bea@beta.test"), "/projects")
		wantStatus(t, c.post("/team/invitations/"+itoa(bea.UserID)+"/cancel", nil), http.StatusNotFound)
		// Only owners see and withdraw invitations.
		wantRedirect(t, c.post("/team", url.Values{"email": {"bea@beta.test"}, "role": {"viewer"}, "password": {password}}), "/team")
		wantNoText(t, nc.get("/team"), "Pending invitations")
		// nc is an admin: not an owner.
		wantStatus(t, nc.post("/team/invitations/"+itoa(bea.UserID)+"/cancel", nil), http.StatusForbidden)
	})
}

func newSignInWith(t testing.TB, n *apptest.Node, email, pass string) *page {
	t.Helper()
	c := newClient(t, n)
	c.get("/login")
	return c.post("/login", url.Values{"email": {email}, "password": {pass}})
}
