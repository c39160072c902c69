package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

// badTexts are what PostgreSQL refuses in text (SQLSTATE 22021) and SQLite
// stores; a form sends them percent-encoded.
var badTexts = []struct{ name, text string }{{"NUL", "a\x00b"}, {"invalid UTF-8", "a\xffb"}}

// refusedMsg is the message a refused field gets, from the API and the
// dashboard alike.
func refusedMsg(field string) string {
	return "The " + strings.ReplaceAll(field, "_", " ") + " field must be valid UTF-8 text without NUL bytes."
}

// auditCount counts the organization's audit events: every write of the
// dashboard records one in its transaction.
func auditCount(t *testing.T, n *apptest.Node, org int64) int {
	t.Helper()
	evs, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: org, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func wantRefusedPage(t *testing.T, p *page, field string) {
	t.Helper()
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantText(t, p, web.HumanMessage(refusedMsg(field)))
}

// TestFormsRefuseBadText sends a NUL and invalid UTF-8 through every field
// of every dashboard form (plain and multipart, the upload's file name
// too) and every filter of the list pages: each is the same 422 naming the
// field, on both backends, and writes nothing. PostgreSQL answered 500
// where SQLite saved the text.
func TestFormsRefuseBadText(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		a := acc.Actor()
		pid := createProject(t, n, acc, "Pro Plugin")
		lic, err := n.Service().CreateLicense(ctx, a, pid, service.LicenseInput{Title: service.Some("L")})
		if err != nil {
			t.Fatal(err)
		}
		dom, err := n.Service().CreateDomain(ctx, a, pid, serviceDomain("shop.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		inj, err := n.Service().CreateInjectable(ctx, a, pid, service.InjectableInput{Type: service.Some("snippet"), Mode: service.Some("inject"),
			TargetPath: service.Some("a.js"), Secret: service.Some("s3cret-for-injectables"), Content: service.Some("x"),
			OnlyIfPaid: service.Some(false), IsActive: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		key, _ := n.CreateKey(t, acc, service.KeyInput{Name: "k"})
		member := n.CreateUser(t, "Acme", "bob@acme.test", core.RoleDeveloper)
		// Last, and for an event nothing here causes: no delivery is tried.
		hook, _, err := n.Service().CreateWebhookEndpoint(ctx, a, service.EndpointInput{URL: service.Some("https://hooks.example/x"),
			Events: service.Some([]string{"api_key.expired"})})
		if err != nil {
			t.Fatal(err)
		}
		p, l, d, i, k, u, w := itoa(pid), itoa(lic.ID), itoa(dom.ID), itoa(inj.ID), itoa(key.ID), itoa(member.UserID), itoa(hook.ID)

		project := url.Values{"name": {"New"}, "slug": {"new-project"}, "description": {"d"}, "default_redirect_url": {"https://example.com/r"},
			"logo_url": {"https://example.com/l.png"}, "webhook_url": {"https://example.com/h"}, "webhook_secret": {"whsecret-0123456789"},
			"is_active": {"1"}}
		license := url.Values{"title": {"T"}, "expires_at": {"2030-01-01"}, "allowed_ips": {"10.0.0.0/8"}, "allowed_countries": {"NG"},
			"validate_against": {"license_domains"}, "max_domains": {"3"}}
		domain := url.Values{"domain": {"new.example.com"}, "environment": {"production"}}
		apiKey := url.Values{"name": {"K"}, "description": {"d"}, "env": {"live"}, "expires_at": {"2030-01-01"}, "allowed_ips": {"10.0.0.0/8"},
			"scopes": {"projects:read"}}
		injectable := url.Values{"title": {"T"}, "slug": {"new-inj"}, "type": {"snippet"}, "mode": {"inject"}, "target_path": {"b.js"},
			"secret": {"s3cret-for-injectables"}, "content": {"x"}, "validate_endpoint": {"https://example.com/v"}, "is_active": {"1"}}
		webhook := url.Values{"url": {"https://hooks.example/y"}, "events": {"api_key.expired"}, "description": {"d"}, "project_id": {p},
			"expiring_days": {"7"}}
		forms := []struct {
			path      string
			base      url.Values
			fields    []string
			multipart bool
		}{
			{"/projects", project, []string{"name", "slug", "description", "default_redirect_url", "logo_url", "webhook_url", "webhook_secret"}, false},
			{"/projects/" + p + "/edit", project, []string{"name", "slug", "description", "default_redirect_url", "logo_url", "webhook_url", "webhook_secret"}, false},
			{"/projects/" + p + "/licenses", license, []string{"title", "expires_at", "allowed_ips", "allowed_countries", "validate_against", "max_domains"}, false},
			{"/projects/" + p + "/licenses/" + l + "/edit", license, []string{"title", "expires_at", "allowed_ips", "allowed_countries", "validate_against"}, false},
			{"/projects/" + p + "/licenses/" + l + "/revoke", url.Values{}, []string{"reason"}, false},
			{"/projects/" + p + "/domains", domain, []string{"domain", "environment"}, false},
			{"/projects/" + p + "/domains/" + d + "/edit", domain, []string{"domain", "environment"}, false},
			{"/projects/" + p + "/injectables", injectable, []string{"title", "slug", "type", "mode", "target_path", "secret", "content", "validate_endpoint"}, true},
			{"/projects/" + p + "/injectables/" + i + "/edit", injectable, []string{"title", "slug", "type", "mode", "target_path", "secret", "content", "validate_endpoint"}, true},
			{"/api-keys", apiKey, []string{"name", "description", "env", "expires_at", "allowed_ips", "scopes"}, false},
			{"/api-keys/" + k + "/rotate", url.Values{"grace_seconds": {"60"}}, []string{"grace_seconds"}, false},
			{"/webhooks", webhook, []string{"url", "events", "description", "project_id", "expiring_days"}, false},
			{"/webhooks/" + w + "/edit", webhook, []string{"url", "events", "description", "project_id", "expiring_days"}, false},
			{"/webhooks/" + w + "/rotate", url.Values{"grace_seconds": {"60"}}, []string{"grace_seconds"}, false},
			{"/team", url.Values{"email": {"carol@acme.test"}, "role": {"developer"}}, []string{"email", "role"}, false},
			{"/team/" + u + "/role", url.Values{"role": {"admin"}}, []string{"role"}, false},
			{"/settings/profile", url.Values{"name": {"Ada"}}, []string{"name"}, false},
			{"/settings/password", url.Values{"current_password": {password}, "password": {"another horse battery"}}, []string{"current_password", "password"}, false},
			{"/settings/policy", url.Values{"form": {"policy"}, "max_key_lifetime": {"90d"}, "default_key_lifetime": {"30d"}, "limit_developer_scopes": {"1"},
				"developer_scopes": {"licenses:read"}}, []string{"max_key_lifetime", "default_key_lifetime", "developer_scopes", "forbid_global_keys"}, false},
		}
		for _, f := range forms {
			for _, field := range f.fields {
				for _, bad := range badTexts {
					t.Run(f.path+" "+field+" "+bad.name, func(t *testing.T) {
						form := url.Values{}
						for k, v := range f.base {
							form[k] = v
						}
						form.Set(field, bad.text)
						before := auditCount(t, n, acc.OrgID)
						var pg *page
						if f.multipart {
							form.Set("_csrf", c.csrf)
							body, ct := multipartForm(t, form, "", nil)
							pg = c.do(http.MethodPost, f.path, body, ct)
						} else {
							pg = c.post(f.path, form)
						}
						wantRefusedPage(t, pg, field)
						if after := auditCount(t, n, acc.OrgID); after != before {
							t.Fatalf("a refused form wrote: %d audit events, then %d", before, after)
						}
					})
				}
			}
		}
		for _, bad := range []struct{ name, enc string }{{"NUL", "a%00b"}, {"invalid UTF-8", "a%FFb"}} {
			t.Run("upload file name "+bad.name, func(t *testing.T) {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				for k, v := range injectable {
					_ = mw.WriteField(k, v[0])
				}
				_ = mw.WriteField("_csrf", c.csrf)
				// RFC 2231: the server percent-decodes the name. (A raw NUL
				// in the part's header is refused by the parser: 400.)
				pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename*=UTF-8''` + bad.enc + `.bin`}})
				_, _ = pw.Write([]byte("data"))
				if err := mw.Close(); err != nil {
					t.Fatal(err)
				}
				before := auditCount(t, n, acc.OrgID)
				wantRefusedPage(t, c.do(http.MethodPost, "/projects/"+p+"/injectables", &buf, mw.FormDataContentType()), "file")
				if after := auditCount(t, n, acc.OrgID); after != before {
					t.Fatal("a refused upload wrote")
				}
			})
		}

		// Filters and searches of the list pages.
		for _, q := range []struct {
			path   string
			params []string
		}{
			{"/projects/" + p + "/licenses", []string{"search", "q", "status", "before"}},
			{"/audit", []string{"action", "actor_type", "target_type", "project_id", "since", "until", "before"}},
			{"/projects", []string{"before"}},
			{"/webhooks", []string{"after"}},
			{"/webhooks/" + w, []string{"status", "before"}},
		} {
			for _, param := range q.params {
				for _, bad := range []struct{ name, enc, msg string }{
					{"NUL", "a%00b", refusedMsg(param)},
					{"invalid UTF-8", "a%FFb", refusedMsg(param)},
					{"malformed", "%%%%", "The " + strings.ReplaceAll(param, "_", " ") + " field is not correctly percent-encoded."},
				} {
					t.Run(q.path+"?"+param+" "+bad.name, func(t *testing.T) {
						pg := c.get(q.path + "?" + param + "=" + bad.enc)
						wantStatus(t, pg, http.StatusUnprocessableEntity)
						wantText(t, pg, web.HumanMessage(bad.msg))
					})
				}
			}
		}
		wantStatus(t, c.get("/projects/"+p+"/licenses?search=caf%C3%A9"), http.StatusOK)

		// The forms before a session: sign-in, and first-run setup on an
		// instance without users.
		for _, bad := range badTexts {
			for _, field := range []string{"email", "password"} {
				t.Run("login "+field+" "+bad.name, func(t *testing.T) {
					lc := newClient(t, n)
					lc.get("/login")
					form := url.Values{"email": {"ada@acme.test"}, "password": {password}}
					form.Set(field, bad.text)
					before := auditCount(t, n, acc.OrgID)
					wantRefusedPage(t, lc.post("/login", form), field)
					if lc.cookie("latchkey_session") != nil || auditCount(t, n, acc.OrgID) != before {
						t.Fatal("a refused sign-in wrote")
					}
				})
			}
		}
	})
}

// TestSetupRefusesBadText: the first-run form follows the same rule, and
// creates no user.
func TestSetupRefusesBadText(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		for _, field := range []string{"org", "name", "email", "password"} {
			for _, bad := range badTexts {
				t.Run(field+" "+bad.name, func(t *testing.T) {
					c := newClient(t, n)
					c.get("/setup")
					form := url.Values{"org": {"Acme"}, "name": {"Ada"}, "email": {"ada@acme.test"}, "password": {password}}
					form.Set(field, bad.text)
					wantRefusedPage(t, c.post("/setup", form), field)
					users, err := n.Store.CountUsers(context.Background())
					if err != nil || users != 0 {
						t.Fatalf("a refused setup created %d users (%v)", users, err)
					}
				})
			}
		}
	})
}
