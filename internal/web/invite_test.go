package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/web"
)

// mailPublicURL is --public-url of the nodes that send mail: links in
// mails point there, and tests open their path on the node.
const mailPublicURL = "http://latchkey.test"

// withSMTP configures a node to send mail through srv.
func withSMTP(srv *mailtest.Server) apptest.Option {
	return func(c *config.Config) {
		c.SMTPURL, c.SMTPPassword, c.SMTPCAFile = srv.URL(), mailtest.Password, srv.CAFile
		c.MailFrom, c.PublicURL = "Latchkey <no-reply@latchkey.test>", mailPublicURL
	}
}

var mailLinkRE = regexp.MustCompile(`http://latchkey\.test(/[a-z-]+/[0-9A-Za-z]+)`)

// mailedPath returns the path of the one link in a received mail's text
// part, checking the HTML part links to the same place.
func mailedPath(t testing.TB, m mailtest.Received) string {
	t.Helper()
	got := mailLinkRE.FindStringSubmatch(m.Parts["text/plain"])
	if got == nil {
		t.Fatalf("no link in the mail:\n%s", m.Parts["text/plain"])
	}
	if !strings.Contains(m.Parts["text/html"], `href="`+got[0]+`"`) {
		t.Fatalf("the HTML part does not link to %s:\n%s", got[0], m.Parts["text/html"])
	}
	return got[1]
}

var inviteURLRE = regexp.MustCompile(`<code id="invite-url">([^<]+)</code>`)

// inviteLink invites email as role without SMTP and returns the path of
// the link the page shows.
func inviteLink(t testing.TB, c *client, email, role string) string {
	t.Helper()
	p := c.post("/team", url.Values{"email": {email}, "role": {role}})
	wantStatus(t, p, http.StatusOK)
	m := inviteURLRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no invitation link on the page:\n%s", p.Body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || u.Host == "" {
		t.Fatalf("invitation link %q: %v", m[1], err)
	}
	return u.Path
}

// acceptInvitation opens an invitation's link in a new browser and creates
// the account; the browser is signed in.
func acceptInvitation(t testing.TB, n *apptest.Node, path, name, pass string) *client {
	t.Helper()
	c := newClient(t, n)
	wantText(t, c.get(path), "Create account and join")
	p := c.post(path, url.Values{"name": {name}, "password": {pass}})
	wantRedirect(t, p, "/projects")
	c.get("/projects")
	return c
}

func auditActions(t testing.TB, n *apptest.Node, orgID int64, prefix string) []string {
	t.Helper()
	events, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: orgID, Action: prefix, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Action)
	}
	return out
}

// TestInvitationByMail: an owner invites by email; the mail (plain text and
// HTML, over STARTTLS) carries a one-time link, valid 7 days, with which a
// new person creates an account and an existing one signs in and joins.
// Invitations are resent (a new link; the old one dies), revoked and
// expire; a failed mail shows the link and says why.
func TestInvitationByMail(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			srv := mailtest.New(t, mailtest.StartTLS)
			n := apptest.New(t, b, withSMTP(srv))
			c, acc := owner(t, n, "Acme", "ada@acme.test")
			bea := n.CreateUser(t, "Beta", "bea@beta.test", core.RoleOwner) // an account elsewhere
			sent := 0
			invite := func(email, role string) string {
				t.Helper()
				p := c.post("/team", url.Values{"email": {email}, "role": {role}})
				wantRedirect(t, p, "/team")
				if got := flashOf(c.follow(p)); !strings.Contains(got, "was sent to "+email) {
					t.Fatalf("flash %q", got)
				}
				sent++
				m := srv.Wait(t, sent)[sent-1]
				if m.To != email || !m.TLS || !m.Authed || !strings.Contains(m.Header.Get("Subject"), "Acme") {
					t.Fatalf("mail %+v", m)
				}
				return mailedPath(t, m)
			}

			// A new person: the form's mistakes, then the account.
			newLink := invite("new@acme.test", "admin")
			if !strings.HasPrefix(newLink, "/invite/") {
				t.Fatalf("link %q", newLink)
			}
			team := c.get("/team")
			wantText(t, team, "Pending invitations", "new@acme.test", "Resend", "Revoke")
			if members, err := n.Store.ListMembers(ctx, acc.OrgID); err != nil || len(members) != 1 {
				t.Fatalf("members = %v, %v: someone joined without opening the link", members, err)
			}
			nc := newClient(t, n)
			wantText(t, nc.get(newLink), "Join Acme", "new@acme.test", "Create account and join")
			p := nc.post(newLink, url.Values{"name": {""}, "password": {"short"}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if fieldError(p, "name") != web.HumanMessage("The name field is required.") || fieldError(p, "password") != web.HumanMessage("The password field must be at least 8 characters.") {
				t.Fatalf("errors: %q %q", fieldError(p, "name"), fieldError(p, "password"))
			}
			p = nc.post(newLink, url.Values{"name": {"New \x00"}, "password": {password}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			p = nc.post(newLink, url.Values{"name": {"Newton"}, "password": {password}})
			wantRedirect(t, p, "/projects")
			wantText(t, nc.get("/projects"), "Acme", "admin")
			// One use.
			wantStatus(t, newClient(t, n).get(newLink), http.StatusNotFound)
			wantText(t, newClient(t, n).get(newLink), "This invitation link does not work")
			wantStatus(t, newClient(t, n).post(newLink, url.Values{"name": {"Again"}, "password": {password}}), http.StatusForbidden) // no form token: refused before anything

			// An existing account signs in (the whole sign-in) and joins.
			beaLink := invite("bea@beta.test", "viewer")
			bc := newClient(t, n)
			p = bc.get(beaLink)
			wantText(t, p, "has an account here: sign in with it to join", "Sign in to join")
			wantNoText(t, p, "Create account")
			bc.get("/login?next=" + url.QueryEscape(beaLink))
			p = bc.post("/login", url.Values{"email": {"bea@beta.test"}, "password": {password}, "next": {beaLink}})
			wantRedirect(t, p, beaLink)
			wantText(t, bc.get(beaLink), "Join Acme")
			// Someone else signed in is told so, and cannot use it.
			wantText(t, nc.get(beaLink), "You are signed in as new@acme.test, and this invitation is for bea@beta.test")
			p = nc.post(beaLink+"/join", nil)
			wantRedirect(t, p, beaLink)
			if _, err := n.Store.Membership(ctx, acc.OrgID, bea.UserID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("joined by someone else: %v", err)
			}
			bc.get(beaLink)
			p = bc.post(beaLink+"/join", nil)
			wantRedirect(t, p, "/projects")
			wantText(t, bc.follow(p), "You joined Acme as viewer.")
			if m, err := n.Store.Membership(ctx, acc.OrgID, bea.UserID); err != nil || m.Role != core.RoleViewer {
				t.Fatalf("membership %+v, %v", m, err)
			}
			wantStatus(t, bc.post(beaLink+"/join", nil), http.StatusNotFound)

			// Resent: a new mail with a new link; the old one is dead.
			oldLink := invite("cy@acme.test", "developer")
			invs, err := n.Service().ListInvitations(ctx, acc.Actor())
			if err != nil || len(invs) != 1 {
				t.Fatalf("invitations %+v, %v", invs, err)
			}
			p = c.post("/team/invitations/"+itoa(invs[0].ID)+"/resend", nil)
			wantRedirect(t, p, "/team")
			sent++
			resent := mailedPath(t, srv.Wait(t, sent)[sent-1])
			if resent == oldLink {
				t.Fatal("resending kept the link")
			}
			wantStatus(t, newClient(t, n).get(oldLink), http.StatusNotFound)
			wantStatus(t, newClient(t, n).get(resent), http.StatusOK)

			// Revoked: the link stops working.
			p = c.post("/team/invitations/"+itoa(invs[0].ID)+"/revoke", nil)
			wantRedirect(t, p, "/team")
			wantText(t, c.follow(p), "The invitation was withdrawn")
			wantStatus(t, newClient(t, n).get(resent), http.StatusNotFound)
			wantStatus(t, c.post("/team/invitations/"+itoa(invs[0].ID)+"/revoke", nil), http.StatusNotFound)
			// Only owners manage invitations.
			wantStatus(t, nc.post("/team/invitations/"+itoa(invs[0].ID)+"/resend", nil), http.StatusForbidden)

			// Expired after 7 days: refused, and listed as expired.
			late := invite("dee@acme.test", "viewer")
			n.Clock.Advance(7*24*time.Hour + time.Second)
			wantStatus(t, newClient(t, n).get(late), http.StatusNotFound)
			c = signIn(t, n, "ada@acme.test") // the first session is past its idle limit
			wantText(t, c.get("/team"), "dee@acme.test", "expired")

			// A mail that fails: the owner is told why, and gets the link.
			srv.FailWith("mailbox unavailable")
			p = c.post("/team", url.Values{"email": {"eve@acme.test"}, "role": {"viewer"}})
			wantStatus(t, p, http.StatusOK)
			wantText(t, p, "the email could not be sent", "mailbox unavailable")
			m := inviteURLRE.FindStringSubmatch(p.Body)
			if m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), mailPublicURL+"/invite/") {
				t.Fatalf("no link shown after the failed mail:\n%s", p.Body)
			}
			wantStatus(t, newClient(t, n).get(strings.TrimPrefix(html.UnescapeString(m[1]), mailPublicURL)), http.StatusOK)

			got := strings.Join(auditActions(t, n, acc.OrgID, "invitation."), " ")
			for _, a := range []string{"invitation.create", "invitation.accept", "invitation.resend", "invitation.revoke"} {
				if !strings.Contains(got, a) {
					t.Fatalf("audit %q lacks %s", got, a)
				}
			}
		})
	}
}

// TestInvitationWithoutMail: without SMTP the page shows the link to copy
// (no mail is tried), and the link works the same.
func TestInvitationWithoutMail(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		wantText(t, c.get("/team"), "You get a link to hand over", "Create invitation link")
		path := inviteLink(t, c, "new@acme.test", "developer")
		nc := acceptInvitation(t, n, path, "Newton", password)
		wantText(t, nc.get("/projects"), "Acme", "developer")
		if m, err := n.Store.ListMembers(context.Background(), acc.OrgID); err != nil || len(m) != 2 {
			t.Fatalf("members %v, %v", m, err)
		}
		// Two browsers racing on one link: exactly one account joins.
		race := inviteLink(t, c, "race@acme.test", "viewer")
		a, b := newClient(t, n), newClient(t, n)
		a.get(race)
		b.get(race)
		statuses := make(chan int, 2)
		for _, rc := range []*client{a, b} {
			go func() { statuses <- rc.post(race, url.Values{"name": {"Racer"}, "password": {password}}).Status }()
		}
		got := []int{<-statuses, <-statuses}
		if (got[0] == http.StatusSeeOther) == (got[1] == http.StatusSeeOther) {
			t.Fatalf("concurrent accepts: %v, want one 303", got)
		}
		if m, err := n.Store.ListMembers(context.Background(), acc.OrgID); err != nil || len(m) != 3 {
			t.Fatalf("members after the race: %v, %v", m, err)
		}

		// Invalid tokens of every shape: a clean 404.
		for _, tok := range []string{"x", strings.Repeat("a", 200), "%00", "%ff%fe"} {
			wantStatus(t, newClient(t, n).get("/invite/"+tok), http.StatusNotFound)
		}
	})
}
