package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/web"
)

// waitPath waits until the browser is at path (a passkey ceremony ends
// with a navigation made by factors.js).
func (b *browser) waitPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.SplitN(b.path(), "?", 2)[0] == path {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("at %s, want %s\n%s", b.path(), path, b.text("body"))
}

// TestBrowserFactors drives second factors in Chromium with DevTools'
// virtual authenticator (CTAP2, internal transport, resident keys, user
// verification): a passkey added on the security page signs in without a
// password and re-authenticates a project's deletion; an authenticator
// app, enrolled from its page, is the second step after the password and
// re-authenticates a live key's creation and a role change with a code;
// then a live key's rotation, a factor's removal and the organization's
// deletion each ask again past the window.
func TestBrowserFactors(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	b := newBrowser(t, path, n)
	// WebAuthn refuses an IP address as the relying party: browse by name.
	b.url = strings.Replace(n.URL, "127.0.0.1", "localhost", 1)
	ctx := context.Background()
	acc := n.CreateUser(t, "Acme", "owner@example.com", core.RoleOwner)
	dev := n.CreateUser(t, "Acme", "dev@example.com", core.RoleDeveloper)
	doomed := createProject(t, n, acc, "Doomed")

	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return err
	}))

	signInPassword := func() {
		t.Helper()
		b.open("/login")
		b.fill("f-email", acc.Email, "f-password", password)
		b.submit("sign-in")
	}

	// Add a passkey: its recovery codes are shown once.
	signInPassword()
	b.wantPage("/projects")
	b.open("/settings/security")
	b.fill("f-passkey-name", "Virtual laptop")
	b.do(chromedp.Click(chromedp.ID("passkey-add")))
	b.waitPath("/settings/security/recovery-codes")
	b.wantPage("/settings/security/recovery-codes", "shown only once")
	b.open("/settings/security")
	b.wantPage("/settings/security", "Virtual laptop")
	b.shot("sign-in-security")

	// Sign in with the passkey alone.
	b.submit("sign-out")
	b.open("/login")
	b.do(chromedp.Click(chromedp.ID("passkey-sign-in")))
	b.waitPath("/projects")

	// Past the window, deleting a project asks; the passkey answers and
	// the deletion goes on.
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/projects/" + itoa(doomed) + "/delete")
	b.fill("f-confirm_name", "Doomed")
	b.submit("confirm")
	b.wantPage("/projects/"+itoa(doomed)+"/delete", "Confirm it's you")
	b.shot("reauthenticate")
	b.do(chromedp.Click(chromedp.ID("reauth-passkey")))
	b.waitPath("/projects")
	if _, err := n.Store.Project(ctx, doomed); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("project after re-authentication by passkey: %v", err)
	}

	// An authenticator app, enrolled with its first code.
	b.open("/settings/security/totp")
	secret := strings.TrimSpace(b.text("#totp-secret"))
	b.shot("authenticator-setup")
	code, err := totp.GenerateCode(secret, n.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("f-code", code)
	b.submit("totp-confirm")
	b.wantPage("/settings/security", "An authenticator app is set up")

	// The password, then a code of the next time step.
	b.submit("sign-out")
	signInPassword()
	b.wantPage("/login/factor", "Two-step verification")
	b.shot("sign-in-second-step")
	n.Clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, n.Clock.Now())
	b.fill("f-code", code)
	b.submit("verify")
	b.wantPage("/projects")

	// A live key past the window: the form comes back through the page,
	// and a code lets it go on.
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/api-keys/new")
	b.fill("f-name", "Deploy")
	b.do(chromedp.Click(chromedp.CSS(`[data-scopes="all"]`)))
	b.submit("create-key")
	b.wantPage("/api-keys", "Confirm it's you")
	n.Clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, n.Clock.Now())
	b.fill("f-reauth-code", code)
	b.submit("reauth-confirm")
	if got := b.path(); !strings.HasSuffix(got, "/secret") {
		t.Fatalf("after re-authentication the key was not created: at %s\n%s", got, b.text("body"))
	}
	if n := liveKeys(t, n, acc); n != 1 {
		t.Fatalf("%d live keys, want 1", n)
	}

	// A role change past the window, with the password.
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/team")
	b.do(chromedp.SetValue(chromedp.CSS(`form[action="/team/`+itoa(dev.UserID)+`/role"] select`), "admin"))
	b.do(chromedp.Submit(chromedp.CSS(`form[action="/team/` + itoa(dev.UserID) + `/role"]`)))
	b.waitPath("/team/" + itoa(dev.UserID) + "/role")
	b.wantPage("/team/"+itoa(dev.UserID)+"/role", "Confirm it's you")
	b.fill("f-reauth-password", password)
	b.submit("reauth-confirm")
	b.waitPath("/team")
	if m, err := n.Store.Membership(ctx, acc.OrgID, dev.UserID); err != nil || m.Role != core.RoleAdmin {
		t.Fatalf("role after re-authentication: %+v %v", m, err)
	}

	// Rotating the live key past the window, with the password: the new
	// secret is shown and the old key is replaced.
	keys, err := n.Service().ListAPIKeys(ctx, acc.Actor(), 0, 10)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	kid := keys[0].ID
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/api-keys/" + itoa(kid))
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`)) // the form's "Rotate this key?"
	b.submit("rotate-key")
	b.wantPage("/api-keys/"+itoa(kid)+"/rotate", "Confirm it's you")
	b.fill("f-reauth-password", password)
	b.submit("reauth-confirm")
	if got := b.path(); !strings.HasSuffix(got, "/secret") {
		t.Fatalf("after re-authentication the key was not rotated: at %s\n%s", got, b.text("body"))
	}
	if k, err := n.Store.APIKey(ctx, kid); err != nil || k.RotatedTo == 0 {
		t.Fatalf("the old key after a rotation: %+v %v", k, err)
	}

	// Removing a factor (the passkey) past the window, with a code.
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/settings/security")
	removeID, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[id^="passkey-remove-"]').id`))
	if err != nil {
		t.Fatalf("the passkey's remove button: %v", err)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	b.submit(removeID)
	b.wantPage("/settings/security/passkeys/"+strings.TrimPrefix(removeID, "passkey-remove-")+"/remove", "Confirm it's you")
	n.Clock.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, n.Clock.Now())
	b.fill("f-reauth-code", code)
	b.submit("reauth-confirm")
	b.waitPath("/settings/security")
	if strings.Contains(b.text("body"), "Virtual laptop") {
		t.Fatal("the passkey is still listed after its removal")
	}

	// Deleting the organization past the window, with the password: its
	// only owner is signed out.
	n.Clock.Advance(web.ReauthWindow + time.Minute)
	b.open("/settings/organization/delete")
	b.fill("f-confirm_name", "Acme")
	b.submit("confirm")
	b.wantPage("/settings/organization/delete", "Confirm it's you")
	b.fill("f-reauth-password", password)
	b.submit("reauth-confirm")
	b.waitPath("/login")
	if _, err := n.Store.Organization(ctx, acc.OrgID); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("the organization after a re-authenticated deletion: %v", err)
	}
}
