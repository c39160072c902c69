package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/web"
)

var (
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryCodeRE = regexp.MustCompile(`<code>([a-z2-7]{5}-[a-z2-7]{5})</code>`)
)

// enrolTOTP sets up an authenticator app for the signed-in client and
// returns its secret and the recovery codes shown.
func enrolTOTP(t *testing.T, n *apptest.Node, c *client) (string, []string) {
	t.Helper()
	p := c.get("/settings/security/totp")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `src="data:image/png;base64,`)
	m := totpSecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret on the enrolment page:\n%s", p.Body)
	}
	secret := m[1]
	bad := c.post("/settings/security/totp", url.Values{"code": {"000000"}})
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	code, err := totp.GenerateCode(secret, n.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok := c.post("/settings/security/totp", url.Values{"code": {code}})
	wantRedirect(t, ok, "/settings/security/recovery-codes")
	shown := c.follow(ok)
	codes := recoveryCodeRE.FindAllStringSubmatch(shown.Body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown:\n%s", len(codes), shown.Body)
	}
	// Shown once: the page does not show them again.
	if again := c.get("/settings/security/recovery-codes"); again.Status != http.StatusSeeOther || recoveryCodeRE.MatchString(again.Body) {
		t.Fatalf("recovery codes shown twice: %d", again.Status)
	}
	var out []string
	for _, m := range codes {
		out = append(out, m[1])
	}
	return secret, out
}

// passwordStep signs in with the password and expects the factor page.
func passwordStep(t *testing.T, n *apptest.Node, email string) *client {
	t.Helper()
	c := newClient(t, n)
	c.get("/login")
	p := c.post("/login", url.Values{"email": {email}, "password": {password}, "next": {"/api-keys"}})
	wantRedirect(t, p, "/login/factor")
	if c.cookie("latchkey_session") != nil {
		t.Fatal("a session started before the second factor")
	}
	wantText(t, c.follow(p), "Two-step verification")
	return c
}

// TestTOTPSignIn enrols an authenticator app and signs in with its code:
// a wrong code and a code of a step already used are refused (422), a
// recovery code works once, and the failures are audited.
func TestTOTPSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "totp@example.com")
		secret, codes := enrolTOTP(t, n, c)

		s := passwordStep(t, n, acc.Email)
		wantStatus(t, s.post("/login/factor", url.Values{"code": {"123456"}}), http.StatusUnprocessableEntity)
		// The code that confirmed the app is of this time step: used.
		used, _ := totp.GenerateCode(secret, n.Clock.Now())
		p := s.post("/login/factor", url.Values{"code": {used}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantText(t, p, "used already")
		n.Clock.Advance(30 * time.Second)
		code, _ := totp.GenerateCode(secret, n.Clock.Now())
		wantRedirect(t, s.post("/login/factor", url.Values{"code": {code}}), "/api-keys")
		if s.cookie("latchkey_session") == nil {
			t.Fatal("no session after the second factor")
		}
		wantStatus(t, s.get("/api-keys"), http.StatusOK)

		// A recovery code, typed in capitals with spaces, works once.
		r := passwordStep(t, n, acc.Email)
		wantRedirect(t, r.post("/login/factor", url.Values{"code": {" " + strings.ToUpper(codes[3]) + " "}}), "/api-keys")
		again := passwordStep(t, n, acc.Email)
		wantStatus(t, again.post("/login/factor", url.Values{"code": {codes[3]}}), http.StatusUnprocessableEntity)
		// Bad text never becomes a 500.
		wantStatus(t, again.post("/login/factor", url.Values{"code": {"\x00\xff"}}), http.StatusUnprocessableEntity)

		events, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: acc.OrgID, Action: "user."})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range events {
			seen[e.Action]++
		}
		if seen["user.second_factor_failed"] < 3 || seen["user.factor_enrolled"] != 1 {
			t.Fatalf("audit = %v", seen)
		}
	})
}

// TestFactorStepExpires: a half-done sign-in is forgotten after a few
// minutes, and the factor page sends back to the password.
func TestFactorStepExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "expire@example.com")
		secret, _ := enrolTOTP(t, n, c)
		s := passwordStep(t, n, acc.Email)
		n.Clock.Advance(5*time.Minute + time.Second)
		code, _ := totp.GenerateCode(secret, n.Clock.Now())
		wantRedirect(t, s.post("/login/factor", url.Values{"code": {code}}), "/login")
	})
}

// TestReauthentication: after web.ReauthWindow, deleting a project answers
// the "Confirm it's you" page holding the post; a wrong password is a
// 422, the right one lets the deletion go on. Within the window, nothing
// is asked, and a test key is created without it.
func TestReauthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "reauth@example.com")
		keep := createProject(t, n, acc, "Keep")
		gone := createProject(t, n, acc, "Gone")
		wantRedirect(t, c.post("/projects/"+itoa(keep)+"/delete", url.Values{"confirm_name": {"Keep"}}), "/projects") // fresh sign-in
		c.get("/projects")

		n.Clock.Advance(web.ReauthWindow + time.Second)
		p := c.post("/projects/"+itoa(gone)+"/delete", url.Values{"confirm_name": {"Gone"}})
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "Confirm it")
		wantBody(t, p, `action="/projects/`+itoa(gone)+`/delete"`)
		if _, err := n.Service().Project(context.Background(), acc.Actor(), gone); err != nil {
			t.Fatalf("the project went before re-authentication: %v", err)
		}
		bad := c.post("/projects/"+itoa(gone)+"/delete", url.Values{"_reauth_password": {"wrong"}, "confirm_name": {"Gone"}})
		wantStatus(t, bad, http.StatusUnprocessableEntity)
		if fieldError(bad, "password") == "" {
			t.Fatalf("no password error:\n%s", bad.Body)
		}
		wantRedirect(t, c.post("/projects/"+itoa(gone)+"/delete", url.Values{"_reauth_password": {password}, "confirm_name": {"Gone"}}), "/projects")
		if _, err := n.Service().Project(context.Background(), acc.Actor(), gone); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("project after re-authentication: %v", err)
		}

		// A role change keeps its fields through the page.
		dev := n.CreateUser(t, "Acme", "dev@example.com", core.RoleDeveloper)
		c.get("/team")
		n.Clock.Advance(web.ReauthWindow + time.Second)
		p = c.post("/team/"+itoa(dev.UserID)+"/role", url.Values{"role": {"admin"}})
		wantText(t, p, "Confirm it")
		wantBody(t, p, `name="role" value="admin"`)
		wantStatus(t, c.post("/team/"+itoa(dev.UserID)+"/role", url.Values{"role": {"admin"}, "_reauth_password": {password}}), http.StatusSeeOther)
		m, err := n.Store.Membership(context.Background(), acc.OrgID, dev.UserID)
		if err != nil || m.Role != core.RoleAdmin {
			t.Fatalf("role after re-authentication: %+v %v", m, err)
		}
	})
}

// TestRequireSecondFactor: when an owner requires a second factor, a
// member without one reaches only the sign-in security page.
func TestRequireSecondFactor(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, _ := owner(t, n, "Acme", "boss@example.com")
		n.CreateUser(t, "Acme", "member@example.com", core.RoleDeveloper)
		c.get("/settings/security")
		wantRedirect(t, c.post("/settings/security/policy", url.Values{"require_second_factor": {"1"}}), "/settings/security")
		m := signInRedirected(t, n, "member@example.com")
		wantRedirect(t, m.get("/projects"), "/settings/security")
		p := m.get("/settings/security")
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "requires a second factor")
		enrolTOTP(t, n, m)
		wantStatus(t, m.get("/projects"), http.StatusOK)
		// A developer cannot change the rule.
		m.get("/settings/security")
		wantStatus(t, m.post("/settings/security/policy", url.Values{}), http.StatusForbidden)
	})
}

// signInRedirected signs in with a password where the landing page may
// redirect further.
func signInRedirected(t *testing.T, n *apptest.Node, email string) *client {
	t.Helper()
	c := newClient(t, n)
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"email": {email}, "password": {password}}), http.StatusSeeOther)
	return c
}

// wantBody checks the page's HTML for each string.
func wantBody(t *testing.T, p *page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Fatalf("page lacks %q:\n%s", w, p.Body)
		}
	}
}

// TestFactorManagement: recovery codes regenerated replace the old ones,
// removing the authenticator drops the codes and makes the password
// enough again, and bad input to the passkey forms is a clear refusal.
func TestFactorManagement(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "manage@example.com")
		_, old := enrolTOTP(t, n, c)
		c.get("/settings/security")
		p := c.post("/settings/security/recovery-codes", nil)
		wantRedirect(t, p, "/settings/security/recovery-codes")
		fresh := recoveryCodeRE.FindAllStringSubmatch(c.follow(p).Body, -1)
		if len(fresh) != 10 || fresh[0][1] == old[0] {
			t.Fatalf("regenerated codes: %v", fresh)
		}
		s := passwordStep(t, n, acc.Email)
		wantStatus(t, s.post("/login/factor", url.Values{"code": {old[0]}}), http.StatusUnprocessableEntity)
		wantRedirect(t, s.post("/login/factor", url.Values{"code": {fresh[0][1]}}), "/api-keys")

		// Passkey forms: a forged credential and a bad name are refused.
		c.get("/settings/security")
		bad := c.post("/settings/security/passkeys", url.Values{"credential": {"{not json"}, "name": {"x"}})
		wantStatus(t, bad, http.StatusUnprocessableEntity)
		wantBody(t, bad, `"error"`)
		wantStatus(t, c.post("/login/passkey", url.Values{"credential": {"\x00"}}), http.StatusForbidden) // no pre-session token
		wantStatus(t, c.post("/settings/security/passkeys/999/rename", url.Values{"name": {"bad\x00"}}), http.StatusUnprocessableEntity)
		wantRedirect(t, c.post("/settings/security/passkeys/999/rename", url.Values{"name": {""}}), "/settings/security")
		wantStatus(t, c.post("/settings/security/passkeys/999/remove", nil), http.StatusNotFound)

		c.get("/settings/security")
		wantRedirect(t, c.post("/settings/security/totp/remove", nil), "/settings/security")
		left, err := n.Service().RecoveryCodesLeft(context.Background(), acc.UserID)
		if err != nil || left != 0 {
			t.Fatalf("%d recovery codes left without a factor (%v)", left, err)
		}
		signIn(t, n, acc.Email) // the password alone again
	})
}
