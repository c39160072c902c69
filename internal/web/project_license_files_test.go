package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
)

// TestProjectLicenseFileEncryption: the project form turns the encryption
// of license files on and off, and shows the stored setting.
func TestProjectLicenseFileEncryption(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		wantText(t, c.get("/projects/new"), "Encrypt license files")
		p := c.post("/projects", url.Values{"name": {"Sealed"}, "is_active": {"1"}, "license_file_encryption": {"1"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("create: %d", p.Status)
		}
		stored := func() bool {
			t.Helper()
			ps, err := n.Service().ListProjects(ctx, acc.Actor(), 0, 10)
			if err != nil || len(ps) != 1 {
				t.Fatalf("projects %v, %v", ps, err)
			}
			return ps[0].LicenseFileEncryption
		}
		if !stored() {
			t.Fatal("created without encryption")
		}
		body := c.get(p.Location + "/edit").Body
		i := strings.Index(body, `name="license_file_encryption"`)
		if i < 0 {
			t.Fatal("no license_file_encryption field")
		}
		start, end := strings.LastIndex(body[:i], "<input"), i+strings.Index(body[i:], ">")
		if tag := body[start:end]; !strings.Contains(tag, "checked") {
			t.Fatalf("the edit form does not show the setting: %s", tag)
		}
		wantRedirect(t, c.post(p.Location+"/edit", url.Values{"name": {"Sealed"}, "slug": {"sealed"}, "is_active": {"1"}}), p.Location)
		if stored() {
			t.Fatal("unticking left encryption on")
		}
	})
}
