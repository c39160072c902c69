package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/web"
)

func TestProjectPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		count := func() int {
			ps, err := n.Service().ListProjects(ctx, acc.Actor(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		wantText(t, c.get("/projects/new"), "New project", "Redirect URL", "Webhook secret")

		for _, tc := range []struct {
			name   string
			form   url.Values
			fields map[string]string
		}{
			{"no name", url.Values{"name": {"  "}}, map[string]string{"name": "The name field is required."}},
			{"bad URLs and slug", url.Values{"name": {"P"}, "slug": {"no spaces!"}, "default_redirect_url": {"javascript:alert(1)"},
				"webhook_url": {"ftp://x"}}, map[string]string{
				"slug":                 "The slug field must only contain letters, numbers, dashes, and underscores.",
				"default_redirect_url": "The default redirect url field must be a valid URL.",
				"webhook_url":          "The webhook url field must be a valid URL.",
			}},
			{"too long", url.Values{"name": {strings.Repeat("n", 256)}, "description": {strings.Repeat("d", 1001)}}, map[string]string{
				"name":        "The name field must not be greater than 255 characters.",
				"description": "The description field must not be greater than 1000 characters.",
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := c.post("/projects", tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				for f, msg := range tc.fields {
					if got := fieldError(p, f); got != web.HumanMessage(msg) {
						t.Errorf("%s: %q, want %q", f, got, msg)
					}
				}
				if count() != 0 {
					t.Fatal("an invalid form created a project")
				}
				// What was typed is kept.
				if v := tc.form.Get("name"); strings.TrimSpace(v) != "" && !strings.Contains(p.Body, `value="`+v+`"`) {
					t.Error("the form lost its values")
				}
			})
		}

		p := c.post("/projects", url.Values{"name": {"Pro Plugin"}, "default_redirect_url": {"https://acme.test/buy"},
			"webhook_url": {"https://acme.test/hook"}, "webhook_secret": {"whsec-123"}, "has_paid": {"1"}, "is_active": {"1"}})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/projects/") {
			t.Fatalf("create: %d %q", p.Status, p.Location)
		}
		show := c.follow(p)
		wantText(t, show, "Project Pro Plugin created.", "pro-plugin", "https://acme.test/buy", "https://acme.test/hook",
			"Set (never shown)")
		wantNoText(t, show, "whsec-123")
		path := p.Location
		wantText(t, c.get("/projects"), "Pro Plugin")

		edit := c.get(path + "/edit")
		wantNoText(t, edit, "whsec-123")
		wantText(t, edit, "A secret is set.")
		p = c.post(path+"/edit", url.Values{"name": {"Pro Plugin 2"}, "slug": {"pro"}, "default_redirect_url": {""},
			"webhook_url": {"https://acme.test/hook2"}, "clear_webhook_secret": {"1"}, "is_active": {"1"}})
		wantRedirect(t, p, path)
		show = c.follow(p)
		wantText(t, show, "Project saved.", "Pro Plugin 2", "https://acme.test/hook2", "Not set")
		ps, _ := n.Service().ListProjects(ctx, acc.Actor(), 0, 10)
		if pr := ps[0]; pr.Slug != "pro" || pr.HasPaid || pr.DefaultRedirectURL != nil || len(pr.WebhookSecretEnc) != 0 {
			t.Fatalf("after edit: %+v", pr)
		}
		p = c.post(path+"/edit", url.Values{"name": {""}, "slug": {""}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if fieldError(p, "slug") != web.HumanMessage("The slug field must not be empty.") || fieldError(p, "name") != web.HumanMessage("The name field is required.") {
			t.Errorf("edit errors: %q %q", fieldError(p, "slug"), fieldError(p, "name"))
		}

		wantText(t, c.get(path+"/delete"), "Delete the project Pro Plugin 2?")
		wantRedirect(t, c.post(path+"/delete", url.Values{"confirm_name": {"Pro Plugin 2"}}), "/projects")
		wantStatus(t, c.get(path), http.StatusNotFound)
		if count() != 0 {
			t.Fatal("project not deleted")
		}
		events, _ := n.Service().ListAudit(ctx, acc.Actor(), core.AuditFilter{Action: "project."})
		if len(events) != 3 {
			t.Fatalf("%d project audit events, want create, update, delete", len(events))
		}
		if events[0].ActorType != core.ActorUser || events[0].ActorLabel != "ada@acme.test" || events[0].IP == "" {
			t.Fatalf("audit event %+v", events[0])
		}
	})
}

func TestDomainPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := createProject(t, n, acc, "Pro Plugin")
		base := "/projects/" + itoa(pid) + "/domains"
		wantText(t, c.get(base), "No domains yet")
		wantText(t, c.get(base+"/new"), "New domain")

		p := c.post(base, url.Values{"domain": {"not a domain"}, "environment": {"moon"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.HasPrefix(fieldError(p, "domain"), web.HumanMessage("The domain field must be a valid domain")) ||
			fieldError(p, "environment") != web.HumanMessage("The selected environment is invalid: use production, staging or development.") {
			t.Errorf("errors: %q %q", fieldError(p, "domain"), fieldError(p, "environment"))
		}

		wantRedirect(t, c.post(base, url.Values{"domain": {"Shop.Example.com"}, "environment": {"production"},
			"is_primary": {"1"}, "is_active": {"1"}, "has_paid": {"on"}}), base)
		list := c.get(base)
		wantText(t, list, "Domain shop.example.com added.", "shop.example.com", "production")
		p = c.post(base, url.Values{"domain": {"shop.example.com"}, "environment": {"staging"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if fieldError(p, "domain") != "The domain has already been taken." {
			t.Errorf("duplicate: %q", fieldError(p, "domain"))
		}

		ds, _ := n.Service().ListDomains(context.Background(), acc.Actor(), pid, 0, 10)
		if len(ds) != 1 || !ds[0].HasPaid || !ds[0].IsPrimary {
			t.Fatalf("domains %+v", ds)
		}
		dpath := base + "/" + itoa(ds[0].ID)
		if !strings.Contains(c.get(dpath+"/edit").Body, `value="shop.example.com"`) {
			t.Error("edit form not filled")
		}
		wantRedirect(t, c.post(dpath+"/edit", url.Values{"domain": {"www.example.com"}, "environment": {"staging"}, "is_verified": {"1"}}), base)
		wantText(t, c.get(base), "www.example.com", "staging")
		wantText(t, c.get(dpath+"/delete"), "Remove the domain www.example.com?")
		wantRedirect(t, c.post(dpath+"/delete", nil), base)
		wantText(t, c.get(base), "No domains yet")

		// A domain of another project is not reachable through this one.
		other := createProject(t, n, acc, "Other")
		od, err := n.Service().CreateDomain(context.Background(), acc.Actor(), other, serviceDomain("other.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.get(base+"/"+itoa(od.ID)+"/edit"), http.StatusNotFound)
		wantStatus(t, c.post(base+"/"+itoa(od.ID)+"/delete", nil), http.StatusNotFound)
	})
}

// multipartForm encodes fields and an optional file as a browser would.
func multipartForm(t testing.TB, fields url.Values, fileName string, file []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func TestInjectablePages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := createProject(t, n, acc, "Pro Plugin")
		base := "/projects/" + itoa(pid) + "/injectables"
		wantText(t, c.get(base), "No injectables yet")
		wantText(t, c.get(base+"/new"), "New injectable")
		post := func(path string, fields url.Values, fileName string, file []byte) *page {
			fields.Set("_csrf", c.csrf)
			body, ct := multipartForm(t, fields, fileName, file)
			return c.do(http.MethodPost, path, body, ct)
		}

		p := post(base, url.Values{"type": {"snippet"}, "mode": {"inject"}, "secret": {"short"}}, "", nil)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for f, msg := range map[string]string{
			"target_path": "The target path field is required.",
			"content":     "The content field is required when type is not file.",
			"secret":      "The secret field must be at least 8 characters.",
		} {
			if got := fieldError(p, f); got != web.HumanMessage(msg) {
				t.Errorf("%s: %q, want %q", f, got, msg)
			}
		}
		wantNoText(t, p, `value="short"`)

		p = post(base, url.Values{"title": {"Footer"}, "type": {"snippet"}, "mode": {"inject"}, "target_path": {"views/footer.php"},
			"content": {"<p>Licensed</p>"}, "secret": {"s3cret-key-123"}, "only_if_paid": {"1"}, "is_active": {"1"}}, "", nil)
		wantRedirect(t, p, base)
		list := c.follow(p)
		wantText(t, list, "Footer", "views/footer.php", "snippet")
		wantNoText(t, list, "Licensed", "s3cret-key-123")

		p = post(base, url.Values{"title": {"Bundle"}, "slug": {"bundle"}, "type": {"file"}, "mode": {"write"}, "target_path": {"lib/x.bin"},
			"secret": {"s3cret-key-123"}, "is_active": {"1"}}, "x.bin", []byte("binary\x00data"))
		wantRedirect(t, p, base)
		is, err := n.Service().ListInjectables(context.Background(), acc.Actor(), pid, 0, 10)
		if err != nil || len(is) != 2 || is[1].FilePath == nil || *is[1].FilePath != "x.bin" || is[1].OnlyIfPaid {
			t.Fatalf("injectables %+v, %v", is, err)
		}

		ipath := base + "/" + itoa(is[0].ID)
		hash := is[0].ContentHash
		p = post(ipath+"/edit", url.Values{"title": {"Footer v2"}, "slug": {is[0].Slug}, "type": {"snippet"}, "mode": {"append"},
			"target_path": {"views/footer.php"}, "is_active": {"1"}}, "", nil)
		wantRedirect(t, p, base)
		got, _ := n.Service().Injectable(context.Background(), acc.Actor(), pid, is[0].ID)
		if got.Title != "Footer v2" || got.Mode != "append" || got.ContentHash != hash || got.OnlyIfPaid {
			t.Fatalf("after edit without content: %+v", got)
		}
		p = post(ipath+"/edit", url.Values{"title": {"Footer v2"}, "slug": {is[0].Slug}, "type": {"snippet"}, "mode": {"append"},
			"target_path": {"views/footer.php"}, "content": {"new"}}, "", nil)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if fieldError(p, "secret") != web.HumanMessage("The secret field is required when the content is set or changed.") {
			t.Errorf("secret: %q", fieldError(p, "secret"))
		}
		wantRedirect(t, c.post(ipath+"/delete", nil), base)
		wantNoText(t, c.get(base), "Footer v2")

		// Larger than an injectable may be.
		big := bytes.Repeat([]byte("x"), 7<<20)
		p = post(base, url.Values{"type": {"file"}, "mode": {"write"}, "target_path": {"a"}, "secret": {"s3cret-key-123"}}, "big.bin", big)
		wantStatus(t, p, http.StatusRequestEntityTooLarge)
	})
}
