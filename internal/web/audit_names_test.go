package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/service"
)

// TestAuditNamesAndLinks: the audit log names who acted (a member by
// email, a key by its name) and what they acted on, each linked to its
// page; a deleted target keeps its number and says it is gone; a viewer
// who may not read other members' keys sees the key's public ID, not its
// name, and not "deleted".
func TestAuditNamesAndLinks(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		wantStatus(t, c.post("/projects", url.Values{"name": {"Pro Plugin"}, "is_active": {"1"}}), http.StatusSeeOther)
		keep := c.post("/projects", url.Values{"name": {"Keeper"}, "is_active": {"1"}})
		wantStatus(t, keep, http.StatusSeeOther)
		keeper := strings.TrimPrefix(keep.Header.Get("Location"), "/projects/")

		k, secret := n.CreateKey(t, acc, service.KeyInput{Name: "CI deploy", Scopes: []string{"licenses:write"}})
		r := n.Do(t, "POST", "/api/v1/project/"+keeper+"/licenses", map[string]any{"title": "Gold seat"}, apptest.Key(secret)...)
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("create license: %d %s", r.Status, r.Body)
		}
		var lic struct {
			ID int64 `json:"id"`
		}
		r.Decode(t, &lic)

		audit := c.get("/audit")
		wantStatus(t, audit, http.StatusOK)
		row := func(p *page, action string) string {
			t.Helper()
			m := regexp.MustCompile(`(?s)<tr>\s*<td class="nowrap">.*?</tr>`).FindAllString(p.Body, -1)
			for _, tr := range m {
				if strings.Contains(tr, "<code>"+action+"</code>") {
					return tr
				}
			}
			t.Fatalf("no %s row in:\n%s", action, p.text())
			return ""
		}
		created := row(audit, "license.create")
		for _, want := range []string{
			`<a href="/api-keys/` + itoa(k.ID) + `">CI deploy</a>`, "API key " + k.PublicID,
			`<a href="/projects/` + keeper + `/licenses/` + itoa(lic.ID) + `">Gold seat</a>`,
		} {
			if !strings.Contains(created, want) {
				t.Errorf("license.create row lacks %q:\n%s", want, created)
			}
		}
		if p := row(audit, "project.create"); !strings.Contains(p, `<a href="/team">ada@acme.test</a>`) ||
			!strings.Contains(p, `<a href="/projects/`+keeper+`">Keeper</a>`) {
			t.Errorf("project.create row: no linked member and project:\n%s", p)
		}

		// Deleted: the project keeps its number, marked gone, no link.
		var plugin string
		for _, tr := range regexp.MustCompile(`(?s)<tr>\s*<td class="nowrap">.*?</tr>`).FindAllString(audit.Body, -1) {
			if m := regexp.MustCompile(`<a href="/projects/(\d+)">Pro Plugin</a>`).FindStringSubmatch(tr); m != nil {
				plugin = m[1]
			}
		}
		if plugin == "" {
			t.Fatal("the Pro Plugin project is not linked in the audit log")
		}
		wantStatus(t, c.post("/projects/"+plugin+"/delete", url.Values{"confirm_name": {"Pro Plugin"}}), http.StatusSeeOther)
		gone := c.get("/audit?target_type=project")
		wantText(t, gone, "project #"+plugin+" (deleted)")
		wantNoText(t, gone, `href="/projects/`+plugin+`"`)

		// The overview's recent activity uses the same names.
		wantText(t, c.get("/"), "Gold seat", "CI deploy")

		// A viewer cannot read keys: the key's public ID, no link.
		n.CreateUser(t, "Acme", "viewer@acme.test", "viewer")
		v := signIn(t, n, "viewer@acme.test")
		vr := row(v.get("/audit"), "license.create")
		if strings.Contains(vr, "CI deploy") || strings.Contains(vr, `href="/api-keys/`) || !strings.Contains(vr, k.PublicID) ||
			strings.Contains(vr, "(deleted)") {
			t.Errorf("the viewer's row shows the key's name or link:\n%s", vr)
		}
	})
}
