package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestAdminResetPassword: the operator sets a password from a file or
// standard input; the user's sessions end, the reset is audited, and bad
// input changes nothing.
func TestAdminResetPassword(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse", "--org", "Acme")
			db := in.db(t)
			var userID, orgID int64
			if err := db.QueryRow(`SELECT u.id, m.org_id FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email = 'alice@example.com'`).
				Scan(&userID, &orgID); err != nil {
				t.Fatal(err)
			}
			// A live session, as the dashboard would have made.
			if _, err := db.Exec(`INSERT INTO sessions (digest, user_id, org_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
				VALUES ($1, $2, $3, 'csrf', '', '', $4, $4, $5)`, []byte("session-digest"), userID, orgID, time.Now().UTC(), time.Now().UTC().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			hash := func() string {
				var h string
				if err := db.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&h); err != nil {
					t.Fatal(err)
				}
				return h
			}

			file := filepath.Join(t.TempDir(), "password")
			if err := os.WriteFile(file, []byte("a brand new secret\nignored second line\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out := in.mustRun(t, "admin", "reset-password", "--email", "Alice@Example.com", "--password-file", file)
			if !strings.Contains(out, "The password of alice@example.com was set") {
				t.Fatalf("output %q", out)
			}
			if bcrypt.CompareHashAndPassword([]byte(hash()), []byte("a brand new secret")) != nil {
				t.Fatal("the password from the file was not set")
			}
			if n := count(t, db, "sessions"); n != 0 {
				t.Fatalf("%d sessions left", n)
			}
			var audits int
			if err := db.QueryRow(`SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'user.password_reset'`, orgID).Scan(&audits); err != nil || audits != 1 {
				t.Fatalf("audit events: %d, %v", audits, err)
			}

			// From standard input.
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), []string{"admin", "reset-password", "--email", "alice@example.com"},
				Env{Getenv: in.env(nil), Stdin: strings.NewReader("piped in secret\n"), Stdout: &stdout, Stderr: &stderr})
			if err != nil || bcrypt.CompareHashAndPassword([]byte(hash()), []byte("piped in secret")) != nil {
				t.Fatalf("from stdin: %v %s", err, stderr.String())
			}

			before := hash()
			short := filepath.Join(t.TempDir(), "short")
			if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				args []string
				want string
			}{
				{"no email", []string{"--password-file", file}, "--email is required"},
				{"unknown user", []string{"--email", "bob@example.com", "--password-file", file}, "User not found"},
				{"bad email", []string{"--email", "bob", "--password-file", file}, "valid email"},
				{"short", []string{"--email", "alice@example.com", "--password-file", short}, "at least 8 characters"},
				{"missing file", []string{"--email", "alice@example.com", "--password-file", "/nonexistent"}, "--password-file"},
				{"no password", []string{"--email", "alice@example.com"}, "no password"},
			} {
				_, _, err := in.run(t, append([]string{"admin", "reset-password"}, tc.args...)...)
				if err == nil || !strings.Contains(ErrorLine(err), tc.want) {
					t.Fatalf("%s: error %v, want %q", tc.name, err, tc.want)
				}
			}
			if hash() != before {
				t.Fatal("a refused reset changed the password")
			}
		})
	}
}
