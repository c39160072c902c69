package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestMigration0010KeepsPendingInvitations: invitations of the earlier
// model (an account and an organization, accepted at sign-in) survive
// migration 0010 as pending, expired invitations of the email without a
// link, for an owner to resend or revoke.
func TestMigration0010KeepsPendingInvitations(t *testing.T) {
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "old.db"), true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	run := func(f string) {
		t.Helper()
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var last string
	for _, f := range files {
		if filepath.Base(f) >= "0010" {
			last = f
			break
		}
		run(f)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES (1, 'Acme', 'acme', $1, $1)`,
		`INSERT INTO users (id, email, name, password_hash, created_at, updated_at) VALUES (7, 'bea@beta.test', 'Bea', 'x', $1, $1)`,
		`INSERT INTO invitations (org_id, user_id, role, invited_by, created_at) VALUES (1, 7, 'admin', 'ada@acme.test', $1)`,
	} {
		if _, err := db.Exec(q, now); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	run(last)
	var email, role, by string
	var digest []byte
	var created, expires time.Time
	var accepted, revoked sql.NullTime
	if err := db.QueryRow(`SELECT email, role, invited_by, digest, created_at, expires_at, accepted_at, revoked_at FROM invitations WHERE org_id = 1`).
		Scan(&email, &role, &by, &digest, &created, &expires, &accepted, &revoked); err != nil {
		t.Fatal(err)
	}
	if email != "bea@beta.test" || role != "admin" || by != "ada@acme.test" || digest != nil || !created.Equal(now) || !expires.Equal(now) ||
		accepted.Valid || revoked.Valid {
		t.Fatalf("migrated invitation: %s %s %s %x %v %v %v %v", email, role, by, digest, created, expires, accepted, revoked)
	}
}
