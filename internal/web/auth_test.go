package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

func TestFirstRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c := newClient(t, n)
		wantRedirect(t, c.get("/"), "/setup")
		wantRedirect(t, c.get("/login"), "/setup")
		wantStatus(t, c.get("/setup"), http.StatusOK)

		// Every problem at once, next to its field; nothing is created.
		p := c.post("/setup", url.Values{"org": {" "}, "email": {"not-an-email"}, "password": {"short"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for field, msg := range map[string]string{
			"org":      "The organization name is required.",
			"email":    "The email field must be a valid email address.",
			"password": "The password field must be at least 8 characters.",
		} {
			if got := fieldError(p, field); got != web.HumanMessage(msg) {
				t.Errorf("%s: %q, want %q", field, got, msg)
			}
		}
		wantNoText(t, p, `value="short"`) // a password is never sent back
		if first, _ := n.Service().NeedsFirstRun(context.Background()); !first {
			t.Fatal("an invalid first-run post created a user")
		}

		// Without the form's token the post is refused.
		wantStatus(t, c.post("/setup", url.Values{"_csrf": {"forged"}, "org": {"Acme"}, "email": {"a@acme.test"},
			"password": {"long enough"}}), http.StatusForbidden)

		p = c.post("/setup", url.Values{"org": {"Acme"}, "name": {"Ada"}, "email": {"Ada@Acme.test"}, "password": {"long enough"}})
		wantRedirect(t, p, "/projects")
		home := c.get("/projects")
		wantStatus(t, home, http.StatusOK)
		wantText(t, home, "Acme", "ada@acme.test", "owner", "No projects yet")
		u, err := n.Store.UserByEmail(context.Background(), "ada@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		if m, err := n.Store.Membership(context.Background(), mustOrg(t, n, "Acme"), u.ID); err != nil || m.Role != core.RoleOwner {
			t.Fatalf("membership %+v, %v", m, err)
		}

		// Then the page is gone, for everyone.
		wantRedirect(t, c.get("/setup"), "/login")
		other := newClient(t, n)
		wantRedirect(t, other.get("/setup"), "/login")
		wantRedirect(t, other.get("/"), "/login?next=%2F") // signed out: the overview asks to sign in
		other.get("/login")
		p = other.post("/setup", url.Values{"org": {"Evil"}, "email": {"evil@evil.test"}, "password": {"long enough"}})
		wantRedirect(t, p, "/login")
		if _, err := n.Store.UserByEmail(context.Background(), "evil@evil.test"); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("a second first-run created a user: %v", err)
		}
	})
}

func mustOrg(t testing.TB, n *apptest.Node, name string) int64 {
	t.Helper()
	o, err := n.Store.OrganizationByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func TestSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
		gone := n.CreateUser(t, "Acme", "gone@acme.test", core.RoleDeveloper)
		if err := n.Service().SetUserDisabled(context.Background(), gone.Actor(), gone.UserID, true); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, email, password, next string
			status                      int
			location, message           string
			fields                      map[string]string
		}{
			{name: "ok", email: "ada@acme.test", password: password, status: 303, location: "/projects"},
			{name: "email in another case", email: " ADA@acme.test ", password: password, status: 303, location: "/projects"},
			{name: "next page", email: "ada@acme.test", password: password, next: "/api-keys?before=3", status: 303, location: "/api-keys?before=3"},
			{name: "next on another host", email: "ada@acme.test", password: password, next: "//evil.example/x", status: 303, location: "/projects"},
			{name: "next with backslash", email: "ada@acme.test", password: password, next: `/\evil.example`, status: 303, location: "/projects"},
			{name: "next as a URL", email: "ada@acme.test", password: password, next: "https://evil.example/", status: 303, location: "/projects"},
			{name: "wrong password", email: "ada@acme.test", password: "wrong password", status: 401,
				message: "These credentials do not match our records."},
			{name: "unknown email", email: "nobody@acme.test", password: password, status: 401,
				message: "These credentials do not match our records."},
			{name: "disabled user", email: "gone@acme.test", password: password, status: 403, message: "This account is disabled."},
			{name: "disabled user, wrong password", email: "gone@acme.test", password: "nope nope", status: 401,
				message: "These credentials do not match our records."},
			{name: "empty", status: 422, fields: map[string]string{"email": "The email field is required.",
				"password": "The password field is required."}},
			{name: "absurdly long email", email: strings.Repeat("a", 5000) + "@acme.test", password: password, status: 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, n)
				c.get("/login")
				p := c.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}, "next": {tc.next}})
				if p.Status != tc.status || p.Location != tc.location {
					t.Fatalf("got %d %q, want %d %q\n%s", p.Status, p.Location, tc.status, tc.location, p.text())
				}
				if tc.message != "" {
					wantText(t, p, tc.message)
				}
				for f, msg := range tc.fields {
					if got := fieldError(p, f); got != web.HumanMessage(msg) {
						t.Errorf("%s: %q, want %q", f, got, msg)
					}
				}
				if tc.status != 303 && tc.password != "" {
					wantNoText(t, p, tc.password) // never echoed
					if c.cookie("latchkey_session") != nil {
						t.Error("a refused sign-in set a session cookie")
					}
				}
			})
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	n := apptest.New(t, backends(t)[0])
	n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
	c := newClient(t, n)
	c.get("/login")
	// Start at the beginning of a window so the test does not straddle two.
	n.Clock.Set(n.Clock.Now().Truncate(time.Minute))
	for i := range 10 {
		p := c.post("/login", url.Values{"email": {"ada@acme.test"}, "password": {"wrong password"}})
		wantStatus(t, p, http.StatusUnauthorized)
		_ = i
	}
	// The eleventh attempt on the account is refused, even with the right
	// password: a guesser cannot tell.
	p := c.post("/login", url.Values{"email": {"ada@acme.test"}, "password": {password}})
	wantStatus(t, p, http.StatusTooManyRequests)
	wantText(t, p, "Too many sign-in attempts.")
	if p.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if c.cookie("latchkey_session") != nil {
		t.Fatal("a throttled sign-in set a session")
	}
	// Other accounts from the same address still may, until the address's
	// own limit.
	n.CreateUser(t, "Acme", "bob@acme.test", core.RoleDeveloper)
	wantRedirect(t, c.post("/login", url.Values{"email": {"bob@acme.test"}, "password": {password}}), "/projects")

	n.Clock.Advance(time.Minute)
	wantRedirect(t, newSignIn(t, n, "ada@acme.test"), "/projects")

	// Many accounts from one address: the address's limit.
	n.Clock.Advance(time.Minute)
	c = newClient(t, n)
	c.get("/login")
	var last *page
	for i := range 31 {
		last = c.post("/login", url.Values{"email": {"user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@x.test"},
			"password": {"whatever1"}})
	}
	wantStatus(t, last, http.StatusTooManyRequests)
}

// newSignIn posts the sign-in form from a fresh browser.
func newSignIn(t testing.TB, n *apptest.Node, email string) *page {
	c := newClient(t, n)
	c.get("/login")
	return c.post("/login", url.Values{"email": {email}, "password": {password}})
}

func TestCSRF(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		projects := func() int {
			ps, err := n.Service().ListProjects(context.Background(), acc.Actor(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		form := func(token string) url.Values {
			v := url.Values{"name": {"Pro Plugin"}, "_csrf": {token}}
			if token == "-" {
				v.Set("_csrf", "")
			}
			return v
		}
		for _, tc := range []struct {
			name    string
			token   string // "-": none
			headers []string
			status  int
		}{
			{"no token", "-", nil, http.StatusForbidden},
			{"forged token", "forged", nil, http.StatusForbidden},
			{"another session's token", "", nil, http.StatusForbidden},
			{"cross-site fetch", c.csrf, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{"other origin", c.csrf, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
			{"same origin", c.csrf, []string{"Sec-Fetch-Site", "same-origin", "Origin", n.URL}, http.StatusSeeOther},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := projects()
				token := tc.token
				if tc.name == "another session's token" {
					other := newClient(t, n)
					other.get("/login")
					other.post("/login", url.Values{"email": {"ada@acme.test"}, "password": {password}})
					other.get("/projects")
					token = other.csrf
				}
				p := c.post("/projects", form(token), tc.headers...)
				wantStatus(t, p, tc.status)
				want := before
				if tc.status == http.StatusSeeOther {
					want++
				} else {
					wantText(t, p, "Forbidden")
				}
				if got := projects(); got != want {
					t.Fatalf("%d projects, want %d", got, want)
				}
			})
		}

		// The sign-in form needs the token of its cookie too (login CSRF).
		fresh := newClient(t, n)
		p := fresh.post("/login", url.Values{"_csrf": {"made-up"}, "email": {"ada@acme.test"}, "password": {password}})
		wantStatus(t, p, http.StatusForbidden)
		if fresh.cookie("latchkey_session") != nil {
			t.Fatal("a forged sign-in set a session")
		}
	})
}

func TestSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		proto      string // X-Forwarded-Proto from a trusted proxy
		publicURL  string
		wantSecure bool
	}{
		{mode: "auto", wantSecure: false},
		{mode: "auto", proto: "https", wantSecure: true},
		{mode: "auto", publicURL: "https://licenses.acme.test", wantSecure: true},
		{mode: "always", wantSecure: true},
		{mode: "never", proto: "https", wantSecure: false},
	} {
		t.Run(tc.mode+"-"+tc.proto+tc.publicURL, func(t *testing.T) {
			n := apptest.New(t, backends(t)[0], func(c *config.Config) {
				c.SecureCookies = tc.mode
				c.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
				c.PublicURL = tc.publicURL
			})
			n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
			var headers []string
			if tc.proto != "" {
				headers = []string{"X-Forwarded-Proto", tc.proto}
			}
			c := newClient(t, n)
			c.get("/login", headers...)
			p := c.post("/login", url.Values{"email": {"ada@acme.test"}, "password": {password}}, headers...)
			wantRedirect(t, p, "/projects")
			var session *http.Cookie
			for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
				if ck.Name == "latchkey_session" {
					session = ck
				}
			}
			if session == nil {
				t.Fatal("no session cookie")
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" ||
				session.MaxAge <= 0 || session.Secure != tc.wantSecure || len(session.Value) < 32 {
				t.Fatalf("session cookie %s", session.String())
			}
			if tc.wantSecure && p.Header.Get("Strict-Transport-Security") == "" && tc.proto == "https" {
				t.Error("no HSTS over HTTPS")
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	n := apptest.New(t, backends(t)[0])
	c, _ := owner(t, n, "Acme", "ada@acme.test")
	for _, path := range []string{"/login", "/projects", "/static/app.css", "/no-such-page"} {
		p := c.get(path)
		h := p.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "same-origin"} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", path, name, got, want)
			}
		}
		if p.Status == http.StatusOK && strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: pages must not be cached: %q", path, h.Get("Cache-Control"))
		}
	}
	// Pages hold no inline script or style for the policy to block.
	for _, path := range []string{"/projects", "/api-keys/new", "/webhooks", "/webhooks/new", "/team", "/audit", "/settings"} {
		body := c.get(path).Body
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
			t.Errorf("%s has inline script or style", path)
		}
	}
}

// TestErrorPagesKeepTheSession: an error page answering a signed-in
// request (a missing record, a refused action, a form without its token)
// has the sidebar, and a refusal names the role. Handlers' errors used to
// be rendered with the request before its session was attached: a signed-
// out page saying "your role does not allow it".
func TestErrorPagesKeepTheSession(t *testing.T) {
	n := apptest.New(t, backends(t)[0])
	c, acc := owner(t, n, "Acme", "ada@acme.test")
	pid := itoa(createProject(t, n, acc, "Pro Plugin"))
	n.CreateUser(t, "Acme", "vic@acme.test", core.RoleViewer)
	viewer := signIn(t, n, "vic@acme.test")
	for _, tc := range []struct {
		name   string
		p      *page
		status int
		text   string
	}{
		{"missing record", c.get("/api-keys/77"), http.StatusNotFound, "API key not found."},
		{"refused action", viewer.post("/projects/"+pid+"/delete", nil), http.StatusForbidden,
			"You cannot do this: your role (viewer) does not allow it."},
		{"no token", c.post("/projects/"+pid+"/delete", url.Values{"_csrf": {"forged"}}), http.StatusForbidden,
			"This form has expired or was not sent from this dashboard."},
		{"bad query", c.get("/audit?action=a%00b"), http.StatusUnprocessableEntity, web.HumanMessage("The action field must be valid UTF-8")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, tc.p, tc.status)
			wantText(t, tc.p, tc.text, "Sign out", "Projects", "Back to projects")
		})
	}
}

func TestSignInRequired(t *testing.T) {
	n := apptest.New(t, backends(t)[0])
	n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
	c := newClient(t, n)
	for _, path := range []string{"/projects", "/projects/1", "/projects/1/licenses/2", "/licenses", "/api-keys", "/api-keys/new",
		"/webhooks", "/webhooks/new", "/webhooks/1", "/team", "/audit", "/settings"} {
		wantRedirect(t, c.get(path), "/login?next="+url.QueryEscape(path))
	}
	for _, path := range []string{"/projects", "/api-keys", "/webhooks", "/webhooks/1/test", "/team", "/logout", "/org", "/projects/1/licenses/1/revoke"} {
		p := c.post(path, url.Values{"name": {"x"}})
		wantRedirect(t, p, "/login")
	}
	// A made-up session cookie is dropped.
	u, _ := url.Parse(n.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: "0123456789abcdef0123456789abcdef"}})
	wantRedirect(t, c.get("/projects"), "/login?next=%2Fprojects")
	if c.cookie("latchkey_session") != nil {
		t.Error("a dead session cookie was kept")
	}
}

func TestSessionLifetime(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, _ := owner(t, n, "Acme", "ada@acme.test")
		// Used every 23 hours, a session lives, up to its maximum age.
		for elapsed := 23 * time.Hour; elapsed < service.SessionMaxAge; elapsed += 23 * time.Hour {
			n.Clock.Advance(23 * time.Hour)
			wantStatus(t, c.get("/projects"), http.StatusOK)
		}
		n.Clock.Advance(23 * time.Hour)
		wantRedirect(t, c.get("/projects"), "/login?next=%2Fprojects")

		// Idle for longer than SessionIdle, it ends.
		c2, _ := owner(t, n, "Beta", "bea@beta.test")
		n.Clock.Advance(service.SessionIdle + time.Second)
		wantRedirect(t, c2.get("/settings"), "/login?next=%2Fsettings")
	})
}

func TestSignOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, _ := owner(t, n, "Acme", "ada@acme.test")
		stolen := c.cookie("latchkey_session").Value
		p := c.post("/logout", nil)
		wantRedirect(t, p, "/login")
		wantText(t, c.follow(p), "You have signed out.")
		wantRedirect(t, c.get("/projects"), "/login?next=%2Fprojects")
		// The old cookie is dead on the server, not only deleted in the
		// browser.
		replay := newClient(t, n)
		u, _ := url.Parse(n.URL)
		replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "latchkey_session", Value: stolen}})
		wantRedirect(t, replay.get("/projects"), "/login?next=%2Fprojects")
	})
}

func TestPasswordChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, _ := owner(t, n, "Acme", "ada@acme.test")
		other := signIn(t, n, "ada@acme.test")

		p := c.post("/settings/password", url.Values{"current_password": {"wrong one"}, "password": {"x"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := fieldError(p, "current_password"); got != "The password is incorrect." {
			t.Errorf("current_password: %q", got)
		}
		if got := fieldError(p, "password"); got != web.HumanMessage("The password field must be at least 8 characters.") {
			t.Errorf("password: %q", got)
		}

		p = c.post("/settings/password", url.Values{"current_password": {password}, "password": {"a brand new one"}})
		wantRedirect(t, p, "/settings")
		wantText(t, c.follow(p), "Password changed.")
		// This browser carries on; the other session ended.
		wantStatus(t, c.get("/projects"), http.StatusOK)
		wantRedirect(t, other.get("/projects"), "/login?next=%2Fprojects")
		wantStatus(t, newSignIn(t, n, "ada@acme.test"), http.StatusUnauthorized)

		p = c.post("/settings/profile", url.Values{"name": {"Ada Lovelace"}})
		wantRedirect(t, p, "/settings")
		wantText(t, c.follow(p), "Profile saved.")
		if !strings.Contains(c.get("/settings").Body, `value="Ada Lovelace"`) {
			t.Error("name not saved")
		}
	})
}
