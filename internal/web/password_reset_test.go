package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/web"
)

// TestPasswordReset: "Forgot password?" answers the same for any email and
// mails a one-time link (over implicit TLS) only to an account's; the new
// password ends every session of the user, on every node; the link works
// once, for one hour, and a second link dies with the first use.
func TestPasswordReset(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := mailtest.New(t, mailtest.Implicit)
			n := apptest.New(t, b, withSMTP(srv))
			acc := n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
			first, second := signIn(t, n, "ada@acme.test"), signIn(t, n, "ada@acme.test")
			var peer *client
			if b.Name == "postgres" {
				peer = signIn(t, n.Peer(t, withSMTP(srv)), "ada@acme.test")
			}

			anon := newClient(t, n)
			wantText(t, anon.get("/login"), "Forgot password?")
			wantText(t, anon.get("/forgot-password"), "Send reset link")
			ask := func(email string) *page {
				t.Helper()
				c := newClient(t, n)
				c.get("/forgot-password")
				return c.post("/forgot-password", url.Values{"email": {email}})
			}
			p := ask("not an email")
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := fieldError(p, "email"); got != web.HumanMessage("The email field must be a valid email address.") {
				t.Fatalf("email error %q", got)
			}
			wantStatus(t, ask("bad\x00@acme.test"), http.StatusUnprocessableEntity)
			// The same answer for an unknown email and a known one.
			unknown, known := ask("nobody@acme.test"), ask("ada@acme.test")
			wantStatus(t, unknown, http.StatusOK)
			wantStatus(t, known, http.StatusOK)
			if a, b := strings.ReplaceAll(unknown.text(), "nobody@acme.test", "E"), strings.ReplaceAll(known.text(), "ada@acme.test", "E"); a != b {
				t.Fatalf("the answers differ:\n%s\n%s", a, b)
			}
			wantText(t, known, "If an account has the email ada@acme.test, we sent it a link")
			m := srv.Wait(t, 1)[0]
			if m.To != "ada@acme.test" || !m.TLS || m.Header.Get("Subject") != "Reset your Latchkey password" {
				t.Fatalf("mail %+v", m)
			}
			link := mailedPath(t, m)
			if !strings.HasPrefix(link, "/reset-password/") {
				t.Fatalf("link %q", link)
			}

			// A second link, asked for before the first is used.
			ask("ada@acme.test")
			other := mailedPath(t, srv.Wait(t, 2)[1])

			rc := newClient(t, n)
			wantText(t, rc.get(link), "Choose a new password")
			p = rc.post(link, url.Values{"password": {"another horse battery"}, "password_confirm": {"another horse"}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := fieldError(p, "password_confirm"); got != "The two passwords differ." {
				t.Fatalf("confirm error %q", got)
			}
			p = rc.post(link, url.Values{"password": {"short"}, "password_confirm": {"short"}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			if got := fieldError(p, "password"); got != web.HumanMessage("The password field must be at least 8 characters.") {
				t.Fatalf("password error %q", got)
			}
			p = rc.post(link, url.Values{"password": {"another horse battery"}, "password_confirm": {"another horse battery"}})
			wantRedirect(t, p, "/login")
			wantText(t, rc.follow(p), "every session of your account was signed out")

			// Every session ended, on this node and on the peer.
			for _, c := range []*client{first, second, peer} {
				if c != nil {
					wantRedirect(t, c.get("/projects"), "/login?next=%2Fprojects")
				}
			}
			wantStatus(t, newSignIn(t, n, "ada@acme.test"), http.StatusUnauthorized)
			nc := newClient(t, n)
			nc.get("/login")
			wantRedirect(t, nc.post("/login", url.Values{"email": {"ada@acme.test"}, "password": {"another horse battery"}}), "/projects")

			// One use; the other link died with it.
			for _, l := range []string{link, other} {
				p = newClient(t, n).get(l)
				wantStatus(t, p, http.StatusNotFound)
				wantText(t, p, "This password reset link does not work")
			}

			// One hour.
			ask("ada@acme.test")
			late := mailedPath(t, srv.Wait(t, 3)[2])
			wantStatus(t, newClient(t, n).get(late), http.StatusOK)
			n.Clock.Advance(time.Hour)
			wantStatus(t, newClient(t, n).get(late), http.StatusNotFound)

			// No more than three mails a minute to one address, answered
			// the same.
			for range 4 {
				wantText(t, ask("ada@acme.test"), "we sent it a link")
			}
			n.Service().WaitMail() // the background sends of the accepted ones
			if got := len(srv.Got()); got != 6 {
				t.Fatalf("%d mails, want 6 (three within the minute)", got)
			}

			got := strings.Join(auditActions(t, n, acc.OrgID, "user.password_reset"), " ")
			if got != "user.password_reset" {
				t.Fatalf("audit %q", got)
			}
		})
	}
}

// TestPasswordResetWithoutMail: without SMTP the page says who resets
// passwords, and sends nothing.
func TestPasswordResetWithoutMail(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
		c := newClient(t, n)
		wantText(t, c.get("/forgot-password"), "This server does not send email", "latchkey admin reset-password")
		wantNoText(t, c.get("/forgot-password"), "Send reset link")
		wantStatus(t, c.get("/reset-password/abc"), http.StatusNotFound)
	})
}
