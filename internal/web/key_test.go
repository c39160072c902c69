package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

var secretRE = regexp.MustCompile(`<code id="secret">(sk_(?:live|test)_[0-9A-Za-z]{38})</code>`)

// shownSecret returns the secret a page shows once.
func shownSecret(t testing.TB, p *page) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret on the page (%d):\n%s", p.Status, p.text())
	}
	return m[1]
}

func TestAPIKeyPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := createProject(t, n, acc, "Pro Plugin")
		wantText(t, c.get("/api-keys"), "No API keys yet")
		form := c.get("/api-keys/new")
		for _, s := range core.AllScopes {
			if !strings.Contains(form.Body, `value="`+string(s)+`"`) {
				t.Errorf("an owner is not offered %s", s)
			}
		}

		p := c.post("/api-keys", url.Values{"name": {""}, "env": {"prod"}, "expires_at": {"2020-01-01"},
			"allowed_ips": {"10.0.0.0/8\nnot-an-ip"}, "rate_limit_per_minute": {"-5"}, "project_id": {"999999"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for f, msg := range map[string]string{
			"name":                  "The name field is required.",
			"env":                   "The env field must be one of live, test.",
			"expires_at":            "The expires at field must be a date after now.",
			"allowed_ips":           `The allowed_ips field contains an invalid IP address or CIDR block: "not-an-ip".`,
			"rate_limit_per_minute": "The rate limit per minute field must be between 0 and 60000.",
			"scopes":                "The scopes field must hold at least one scope.",
			"project_id":            "The selected project id is invalid.",
		} {
			if got := fieldError(p, f); got != web.HumanMessage(msg) {
				t.Errorf("%s: %q, want %q", f, got, msg)
			}
		}
		if ks, _ := n.Service().ListAPIKeys(context.Background(), acc.Actor(), 0, 10); len(ks) != 0 {
			t.Fatal("an invalid form created a key")
		}

		expires := n.Clock.Now().AddDate(0, 1, 0).Format("2006-01-02")
		p = c.post("/api-keys", url.Values{"name": {"deploy pipeline"}, "description": {"CI"}, "project_id": {itoa(pid)},
			"scopes": {"projects:read", "licenses:read", "licenses:write"}, "env": {"live"}, "expires_at": {expires},
			"allowed_ips": {"127.0.0.1, ::1"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = c.follow(p)
		wantStatus(t, p, http.StatusOK)
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Error("the secret page may be cached")
		}
		secret := shownSecret(t, p)
		wantText(t, p, "Copy this key now.", "shown only once", "Pro Plugin")

		// The secret works against the API, within its scopes.
		r := n.Do(t, "GET", "/api/v1/project/"+itoa(pid)+"/licenses", nil, apptest.Key(secret)...)
		if r.Status != 200 {
			t.Fatalf("API with the new key: %d %s", r.Status, r.Body)
		}
		if r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(secret)...); r.Status != 403 {
			t.Fatalf("a scope the key lacks: %d", r.Status)
		}

		// It is never shown again: not in the list, not on its page.
		list := c.get("/api-keys")
		wantText(t, list, "deploy pipeline", "sk_live_…"+secret[len(secret)-4:], "Pro Plugin", "in 1 month",
			"projects:read licenses:read licenses:write")
		if !strings.Contains(list.Body, `title="`+expires+` `) { // the expiry is relative, the date on hover
			t.Errorf("the list lacks the expiry %s", expires)
		}
		ks, _ := n.Service().ListAPIKeys(context.Background(), acc.Actor(), 0, 10)
		kpath := "/api-keys/" + itoa(ks[0].ID)
		show := c.get(kpath)
		for _, pg := range []*page{list, show} {
			wantNoText(t, pg, secret, secret[:20])
		}
		// Two requests: the refused one was authenticated, so it counts.
		wantText(t, show, "Requests per UTC day: 2 in total", ks[0].PublicID, "127.0.0.1/32")

		// Rotate: a new secret, once; the old one works through the grace.
		p = c.post(kpath+"/rotate", url.Values{"grace_seconds": {"3600"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = c.follow(p)
		wantStatus(t, p, http.StatusOK)
		rotated := shownSecret(t, p)
		wantText(t, p, "The old key keeps working for now: it is refused in ")
		for _, s := range []string{secret, rotated} {
			if r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(s)...); r.Status != 200 {
				t.Fatalf("after rotation: %d %s", r.Status, r.Body)
			}
		}
		n.Clock.Advance(time.Hour + time.Second)
		if r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...); r.Status != 403 {
			t.Fatalf("the old key after its grace: %d", r.Status)
		}
		// An hour on, rotating a live key asks for the password again.
		p = c.post(kpath+"/rotate", url.Values{"grace_seconds": {"0"}})
		wantText(t, p, "Confirm it's you")
		p = c.post(kpath+"/rotate", url.Values{"grace_seconds": {"0"}, "_reauth_password": {password}})
		wantRedirect(t, p, kpath)
		wantText(t, c.follow(p), "This API key was already rotated")
		wantRedirect(t, c.post(kpath+"/rotate", url.Values{"grace_seconds": {"lots"}}), kpath)

		// Revoke the successor: a confirmation step, then the API refuses it.
		ks, _ = n.Service().ListAPIKeys(context.Background(), acc.Actor(), 0, 10)
		npath := "/api-keys/" + itoa(ks[0].ID)
		wantText(t, c.get(npath+"/revoke"), "Revoke the API key deploy pipeline?")
		p = c.post(npath+"/revoke", nil)
		wantRedirect(t, p, npath)
		wantText(t, c.follow(p), "revoked: it no longer works.")
		r = n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(rotated)...)
		if r.Status != 403 || r.Env.Code != "INVALID_API_KEY" {
			t.Fatalf("revoked key: %d %s", r.Status, r.Body)
		}
		events, _ := n.Service().ListAudit(context.Background(), acc.Actor(), core.AuditFilter{Action: "api_key.", ActorType: core.ActorUser})
		if len(events) != 3 {
			t.Fatalf("%d key events, want create, rotate, revoke", len(events))
		}
		for _, e := range events {
			if strings.Contains(string(e.Details), secret[8:]) || strings.Contains(string(e.Details), rotated[8:]) {
				t.Fatal("a secret reached the audit log")
			}
		}
	})
}

func TestAPIKeyRoles(t *testing.T) {
	n := apptest.New(t, backends(t)[0])
	_, acc := owner(t, n, "Acme", "ada@acme.test")
	n.CreateUser(t, "Acme", "vic@acme.test", core.RoleViewer)
	n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
	n.CreateKey(t, acc, service.KeyInput{Name: "owner key"})

	viewer := signIn(t, n, "vic@acme.test")
	form := viewer.get("/api-keys/new")
	if strings.Contains(form.Body, `value="licenses:write"`) || !strings.Contains(form.Body, `value="licenses:read"`) {
		t.Error("a viewer is offered scopes beyond the role")
	}
	p := viewer.post("/api-keys", url.Values{"name": {"mine"}, "scopes": {"licenses:read"}})
	wantStatus(t, p, http.StatusForbidden)
	wantText(t, p, "You cannot do this: your role (viewer) does not allow it.")
	wantNoText(t, viewer.get("/api-keys"), "Create New Key")

	// A developer sees only their own keys, and cannot grant beyond the role.
	dev := signIn(t, n, "dev@acme.test")
	wantNoText(t, dev.get("/api-keys"), "owner key")
	p = dev.post("/api-keys", url.Values{"name": {"dev key"}, "scopes": {"licenses:read", "no:such"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if got := fieldError(p, "scopes"); got != `The scope "no:such" is not a valid scope.` {
		t.Errorf("scopes: %q", got)
	}
	wantStatus(t, dev.post("/api-keys", url.Values{"name": {"dev key"}, "scopes": {"licenses:read"}}), http.StatusSeeOther)
	ks, _ := n.Service().ListAPIKeys(context.Background(), acc.Actor(), 0, 10)
	var ownerKey int64
	for _, k := range ks {
		if k.Name == "owner key" {
			ownerKey = k.ID
		}
	}
	wantStatus(t, dev.get("/api-keys/"+itoa(ownerKey)), http.StatusNotFound)
	wantStatus(t, dev.post("/api-keys/"+itoa(ownerKey)+"/revoke", nil), http.StatusNotFound)
}
