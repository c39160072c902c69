package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestValidateSigned: validate --signed verifies the answer with the keys
// of the --jwks file, and fails on an answer those keys did not sign.
func TestValidateSigned(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			// The CLI's verifier reads the wall clock; the answer's Date is
			// the node's.
			n.Clock.Set(time.Now())
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Shop", "--has-paid")
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "One site")

			dir := t.TempDir()
			trusted := filepath.Join(dir, "jwks.json")
			if err := os.WriteFile(trusted, n.Do(t, "GET", "/.well-known/jwks.json", nil).Body, 0o600); err != nil {
				t.Fatal(err)
			}
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			other := filepath.Join(dir, "other.json")
			set := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `","kid":"` + client.KeyID(pub) + `"}]}`
			if err := os.WriteFile(other, []byte(set), 0o600); err != nil {
				t.Fatal(err)
			}

			var v client.Validation
			c.json(&v, "validate", "--license", l.UUID, "--domain", "shop.example.org", "--signed", "--jwks", trusted)
			if !v.Valid {
				t.Fatalf("signed validation: %+v", v)
			}
			c.fails("response signature does not verify", "validate", "--license", l.UUID, "--domain", "shop.example.org", "--signed", "--jwks", other)
			c.fails("--jwks", "validate", "--license", l.UUID, "--signed")
			c.fails("--jwks: only with --signed", "validate", "--license", l.UUID, "--jwks", trusted)
			c.fails("--jwks", "validate", "--license", l.UUID, "--signed", "--jwks", filepath.Join(dir, "missing.json"))
		})
	}
}
