package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
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

// TestLicenseFileDownload: the license page's download is a recorded
// checkout whose file verifies; a refused one comes back with the reason.
func TestLicenseFileDownload(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		p, err := n.Service().CreateProject(ctx, acc.Actor(), service.ProjectInput{Name: service.Some("Plugin")})
		if err != nil {
			t.Fatal(err)
		}
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), p.ID, service.LicenseInput{Title: service.Some("Acme")})
		if err != nil {
			t.Fatal(err)
		}
		path := "/projects/" + strconv.FormatInt(p.ID, 10) + "/licenses/" + strconv.FormatInt(l.ID, 10)
		wantText(t, c.get(path), "Download license file")

		dl := c.post(path+"/file", url.Values{"identifier": {"shop.example.com"}, "ttl_days": {"7"}})
		if dl.Status != http.StatusOK || dl.Header.Get("Content-Type") != "application/x-pem-file" ||
			!strings.Contains(dl.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d %v", dl.Status, dl.Header)
		}
		resp, err := http.Get(n.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		keys, err := sdk.ParseKeySet(jwks)
		if err != nil {
			t.Fatal(err)
		}
		v := &sdk.Verifier{Keys: keys, Now: n.Clock.Now, ProjectID: p.ID, Identifier: "shop.example.com"}
		f, err := v.LicenseFile(ctx, []byte(dl.Body), "")
		if err != nil || f.LicenseID != l.ID || !f.ExpiresAt.Equal(n.Clock.Now().Add(7*24*time.Hour).Truncate(time.Second)) {
			t.Fatalf("file %+v, %v", f, err)
		}
		events, _ := n.Service().ListAudit(ctx, acc.Actor(), core.AuditFilter{Action: "license.checked_out"})
		if len(events) != 1 {
			t.Fatalf("%d checkouts recorded", len(events))
		}

		bad := c.post(path+"/file", url.Values{"ttl_days": {"400"}})
		wantRedirect(t, bad, path)
		wantText(t, c.follow(bad), "between 1 and 365 days")
		if _, err := n.Service().RevokeLicense(ctx, acc.Actor(), p.ID, l.ID); err != nil {
			t.Fatal(err)
		}
		wantNoText(t, c.get(path), "Download license file")
		revoked := c.post(path+"/file", nil)
		wantRedirect(t, revoked, path)
		wantText(t, c.follow(revoked), "The license is revoked, so no license file can be issued.")
		if events, _ := n.Service().ListAudit(ctx, acc.Actor(), core.AuditFilter{Action: "license.checked_out"}); len(events) != 1 {
			t.Fatalf("refusals recorded checkouts: %d", len(events))
		}
	})
}
