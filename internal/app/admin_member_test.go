package app

import (
	"strconv"
	"strings"
	"testing"
)

// TestAdminAddMember: an existing user joins a second organization (made
// on the way), and then holds a key in it; bad input changes nothing.
func TestAdminAddMember(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse", "--org", "Acme")
			out := in.mustRun(t, "admin", "add-member", "--email", "Alice@Example.com", "--org", "Beta", "--role", "developer")
			id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			if err != nil || id <= 0 {
				t.Fatalf("add-member printed %q, want the organization's ID", out)
			}
			db := in.db(t)
			var role string
			if err := db.QueryRow(`SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id
				WHERE m.org_id = $1 AND u.email = 'alice@example.com'`, id).Scan(&role); err != nil || role != "developer" {
				t.Fatalf("membership in Beta: role %q, %v", role, err)
			}
			if key := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "alice@example.com", "--org", "Beta")); !strings.HasPrefix(key, "sk_live_") {
				t.Fatalf("create-key in the new organization printed %q", key)
			}
			before := []int{count(t, db, "users"), count(t, db, "organizations"), count(t, db, "memberships"), count(t, db, "audit_events")}
			for _, tc := range []struct {
				name string
				args []string
				want string
			}{
				{"already a member", []string{"--email", "alice@example.com", "--org", "Beta"}, "already a member of Beta"},
				{"unknown user", []string{"--email", "bob@example.com", "--org", "Gamma"}, "No user has this email"},
				{"bad email", []string{"--email", "bob", "--org", "Gamma"}, "valid email"},
				{"no org", []string{"--email", "alice@example.com"}, "organization name is required"},
				{"bad role", []string{"--email", "alice@example.com", "--org", "Gamma", "--role", "god"}, "role must be"},
			} {
				_, _, err := in.run(t, append([]string{"admin", "add-member"}, tc.args...)...)
				if err == nil || !strings.Contains(ErrorLine(err), tc.want) {
					t.Fatalf("%s: error %v, want %q", tc.name, err, tc.want)
				}
			}
			after := []int{count(t, db, "users"), count(t, db, "organizations"), count(t, db, "memberships"), count(t, db, "audit_events")}
			for i := range before {
				if before[i] != after[i] {
					t.Fatalf("a refused add-member changed the database: %v → %v", before, after)
				}
			}
		})
	}
}
