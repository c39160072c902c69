package app

import (
	"strings"
	"testing"
)

// TestAdminRemoveFactors: the escape hatch for a lost device removes a
// user's authenticator, passkeys and recovery codes, and is audited; an
// unknown email changes nothing.
func TestAdminRemoveFactors(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse", "--org", "Acme")
			db := in.db(t)
			var uid int64
			if err := db.QueryRow(`SELECT id FROM users WHERE email = 'alice@example.com'`).Scan(&uid); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO totp_factors (user_id, secret_enc, confirmed_at, last_step, created_at) VALUES ($1, 'x', CURRENT_TIMESTAMP, 1, CURRENT_TIMESTAMP)`,
				`INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ($1, 'd', CURRENT_TIMESTAMP)`,
				`INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) VALUES ($1, 'c', 'Key', '{}', CURRENT_TIMESTAMP)`,
			} {
				if _, err := db.Exec(q, uid); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := in.run(t, "admin", "remove-factors", "--email", "bob@example.com")
			if err == nil || !strings.Contains(ErrorLine(err), "No user has this email") {
				t.Fatalf("unknown email: %v", err)
			}
			if n := count(t, db, "passkeys"); n != 1 {
				t.Fatalf("a refused removal changed the passkeys: %d", n)
			}
			out := in.mustRun(t, "admin", "remove-factors", "--email", "Alice@Example.com")
			if !strings.Contains(out, "alice@example.com") {
				t.Fatalf("printed %q", out)
			}
			for _, table := range []string{"totp_factors", "recovery_codes", "passkeys"} {
				if n := count(t, db, table); n != 0 {
					t.Fatalf("%d rows left in %s", n, table)
				}
			}
			var audited int
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'user.factors_removed'`).Scan(&audited); err != nil || audited != 1 {
				t.Fatalf("audited %d, %v", audited, err)
			}
		})
	}
}
