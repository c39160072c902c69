package app_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

type signingKeyOut struct {
	KID       string     `json:"kid"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"`
}

// jwksKIDs returns the kids a node publishes, in order.
func jwksKIDs(t *testing.T, n *apptest.Node) []string {
	t.Helper()
	r := n.Do(t, http.MethodGet, "/.well-known/jwks.json", nil)
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &set) != nil {
		t.Fatalf("GET /.well-known/jwks.json: %d %s", r.Status, r.Body)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// TestAdminSigningKeys rotates and retires a running node's signing keys
// with the admin commands, as an operator does on a live instance: the
// node publishes what they did (on PostgreSQL a second node too, without a
// restart), the active key cannot be retired, and bad or unknown kids are
// refused with a non-zero exit.
func TestAdminSigningKeys(t *testing.T) {
	hexKID := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n, op := nodeWithCLI(t, b)
			nodes := []*apptest.Node{n}
			if b.Name == "postgres" {
				nodes = append(nodes, n.Peer(t))
			}
			published := func(want ...string) {
				t.Helper()
				for i, node := range nodes {
					if got := jwksKIDs(t, node); !slices.Equal(got, want) {
						t.Fatalf("node %d publishes %v, want %v", i, got, want)
					}
				}
			}
			var keys []signingKeyOut
			listKeys := func() []signingKeyOut {
				t.Helper()
				keys = nil
				op.json(&keys, "admin", "signing-keys", "list")
				return keys
			}
			// The node's keyring follows a change made by another process
			// within its TTL (at once on PostgreSQL, which notifies).
			settle := func() {
				for _, node := range nodes {
					node.Clock.Advance(31 * time.Second)
				}
			}

			first := listKeys()
			if len(first) != 1 || first[0].Status != "active" || !hexKID.MatchString(first[0].KID) || first[0].RetiredAt != nil {
				t.Fatalf("a fresh instance's keys: %+v", first)
			}
			published(first[0].KID) // the key derived from the instance secret
			table := op.ok("admin", "signing-keys", "list")
			if !strings.HasPrefix(table, "KID") || !strings.Contains(table, "RETIRED") || !strings.Contains(table, first[0].KID+"  active") {
				t.Fatalf("list table:\n%s", table)
			}

			newKID := strings.TrimSpace(op.ok("admin", "signing-keys", "rotate"))
			if !hexKID.MatchString(newKID) || newKID == first[0].KID {
				t.Fatalf("rotate printed %q", newKID)
			}
			got := listKeys()
			if len(got) != 2 || got[0].KID != newKID || got[0].Status != "active" || got[1].KID != first[0].KID || got[1].Status != "verifying" {
				t.Fatalf("after rotate: %+v", got)
			}
			settle()
			published(newKID, first[0].KID)

			for _, tc := range []struct {
				name string
				args []string
				want string
			}{
				{"the active key", []string{newKID}, "The active signing key cannot be retired: rotate first, then retire it."},
				{"an unknown kid", []string{"0123456789abcdef"}, `no signing key "0123456789abcdef"`},
				{"not a kid", []string{"xyz"}, `KID: "xyz" is not a key ID`},
				{"upper case", []string{strings.ToUpper(first[0].KID)}, "is not a key ID"},
				{"a NUL byte", []string{first[0].KID + "\x00"}, "is not a key ID"},
				{"invalid UTF-8", []string{"\xff\xfe"}, "is not a key ID"},
				{"no kid", nil, "accepts 1 arg"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := op.run(append([]string{"admin", "signing-keys", "retire"}, tc.args...)...)
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err = %v, want %q", err, tc.want)
					}
				})
			}
			if after := listKeys(); len(after) != 2 || after[0].Status != "active" || after[1].Status != "verifying" {
				t.Fatalf("refusals changed the keys: %+v", after)
			}

			if out := op.ok("admin", "signing-keys", "retire", first[0].KID); out != "retired signing key "+first[0].KID+"\n" {
				t.Fatalf("retire printed %q", out)
			}
			op.ok("admin", "signing-keys", "retire", first[0].KID) // again: nothing to do
			got = listKeys()
			if len(got) != 2 || got[1].Status != "retired" || got[1].RetiredAt == nil {
				t.Fatalf("after retire: %+v", got)
			}
			settle()
			published(newKID)

			var rotated signingKeyOut
			op.json(&rotated, "admin", "signing-keys", "rotate")
			if rotated.Status != "active" || !hexKID.MatchString(rotated.KID) || rotated.CreatedAt.IsZero() {
				t.Fatalf("rotate -o json: %+v", rotated)
			}
			if _, err := op.run("admin", "signing-keys", "list", "-o", "yaml"); err == nil || !strings.Contains(err.Error(), "--output") {
				t.Fatalf("list -o yaml: %v", err)
			}
		})
	}
}
