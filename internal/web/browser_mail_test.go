package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
	"github.com/latchkey/latchkey/internal/web"
)

// TestBrowserMail drives, in Chromium, an invitation accepted from the
// link in the mail the in-process SMTP server received, and a password
// reset from the mailed link.
func TestBrowserMail(t *testing.T) {
	path := needChromium(t)
	srv := mailtest.New(t, mailtest.StartTLS)
	n := apptest.New(t, backends(t)[0], withSMTP(srv))
	n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
	b := newBrowser(t, path, n)

	// The owner invites by email.
	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")
	b.open("/team")
	b.wantPage("/team", "Invite a member", "We email them a link")
	b.fill("f-email", "new@acme.test", "f-role", "admin")
	b.submit("add-member")
	b.wantPage("/team", "An invitation to join as admin was sent to new@acme.test", "Pending invitations")
	b.shot("team-invitations")
	invite := mailedPath(t, srv.Wait(t, 1)[0])

	// The invited person opens the mailed link and creates an account.
	b.submit("sign-out")
	b.open(invite)
	b.wantPage(invite, "Join Acme", "new@acme.test", "admin")
	b.fill("f-name", "Newton", "f-password", "short")
	if status := b.submit("create-account"); status != http.StatusUnprocessableEntity {
		t.Fatalf("short password: %d", status)
	}
	b.wantPage(invite, web.HumanMessage("The password field must be at least 8 characters."))
	b.fill("f-name", "Newton", "f-password", password)
	b.shot("invitation-accept")
	b.submit("create-account")
	b.wantPage("/projects", "your account was created and you joined the organization", "Acme")
	// The link was for one use.
	b.submit("sign-out")
	if status := b.openStatus(invite); status != http.StatusNotFound {
		t.Fatalf("the used link: %d", status)
	}

	// Forgot password: the mailed link sets a new one.
	b.open("/login")
	b.submit("forgot-password")
	b.wantPage("/forgot-password", "Enter your account's email")
	b.fill("f-email", "new@acme.test")
	b.submit("send-reset")
	b.wantPage("/forgot-password", "If an account has the email new@acme.test, we sent it a link")
	reset := mailedPath(t, srv.Wait(t, 2)[1])
	if !strings.HasPrefix(reset, "/reset-password/") {
		t.Fatalf("reset link %q", reset)
	}
	b.open(reset)
	b.wantPage(reset, "Choose a new password")
	b.fill("f-password", "a brand new secret", "f-password_confirm", "a brand new secret")
	b.shot("reset-password")
	b.submit("set-password")
	b.wantPage("/login", "Your password was changed and every session of your account was signed out")
	b.fill("f-email", "new@acme.test", "f-password", password)
	if status := b.submit("sign-in"); status != http.StatusUnauthorized {
		t.Fatalf("the old password: %d", status)
	}
	b.fill("f-email", "new@acme.test", "f-password", "a brand new secret")
	b.submit("sign-in")
	b.wantPage("/projects", "Acme")
}

// openStatus loads a path and returns the status of the page.
func (b *browser) openStatus(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.url+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}
