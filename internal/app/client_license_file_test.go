package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestLicenseFileCommand checks out license files with the CLI, plain and
// encrypted (the project flag), to stdout, to --out and as JSON, and
// verifies them with the SDK's verifier.
func TestLicenseFileCommand(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			resp, err := http.Get(n.URL + "/.well-known/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			jwks, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			keys, err := client.ParseKeySet(jwks)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			var p client.Project
			c.json(&p, "projects", "create", "--name", "Plugin")
			if p.LicenseFileEncryption {
				t.Fatal("encryption is opt-in")
			}
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "Order 1042")
			v := &client.Verifier{Keys: keys, Now: n.Clock.Now, ProjectID: p.ID, Identifier: "shop.example.com"}

			out, _, err := c.run("licenses", "file", id(l.ID), "--project", id(p.ID), "--identifier", "shop.example.com", "--ttl", "2h")
			if err != nil {
				t.Fatal(err)
			}
			lf, err := v.LicenseFile(ctx, []byte(out), "")
			if err != nil || lf.LicenseID != l.ID || !lf.ExpiresAt.Equal(n.Clock.Now().Add(2*time.Hour).Truncate(time.Second)) {
				t.Fatalf("stdout file %+v, %v\n%s", lf, err, out)
			}

			c.json(&p, "projects", "update", id(p.ID), "--license-file-encryption")
			if !p.LicenseFileEncryption {
				t.Fatalf("update %+v", p)
			}
			path := filepath.Join(t.TempDir(), "acme.lic")
			out, errOut, err := c.run("licenses", "file", id(l.ID), "--project", id(p.ID), "--identifier", "shop.example.com", "--out", path)
			if err != nil || out != "" || !strings.Contains(errOut, "encrypted") {
				t.Fatalf("--out: %v %q %q", err, out, errOut)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.LicenseFile(ctx, data, ""); !errors.Is(err, client.ErrLicenseFileEncrypted) {
				t.Fatalf("without the key: %v", err)
			}
			if lf, err := v.LicenseFile(ctx, data, l.UUID); err != nil || !lf.Encrypted {
				t.Fatalf("with the key: %+v, %v", lf, err)
			}

			var j struct {
				File      string `json:"file"`
				Encrypted bool   `json:"encrypted"`
				KID       string `json:"kid"`
			}
			c.json(&j, "licenses", "file", id(l.ID), "--project", id(p.ID), "--ttl", "3600")
			if !j.Encrypted || j.KID == "" || !strings.HasPrefix(j.File, client.LicenseFileBegin) {
				t.Fatalf("json %+v", j)
			}

			c.fails("--ttl", "licenses", "file", id(l.ID), "--project", id(p.ID), "--ttl", "soon")
			c.fails("ttl", "licenses", "file", id(l.ID), "--project", id(p.ID), "--ttl", "30s")
			c.fails("--project", "licenses", "file", id(l.ID))
			var revoked client.License
			c.json(&revoked, "licenses", "revoke", id(l.ID), "--project", id(p.ID))
			c.fails("revoked", "licenses", "file", id(l.ID), "--project", id(p.ID))
		})
	}
}
