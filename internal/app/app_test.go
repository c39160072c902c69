package app

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// instance is one data directory (and, for PostgreSQL, one schema) that
// commands run against.
type instance struct {
	backend string
	dataDir string
	dbURL   string
}

func instances(t *testing.T) []instance {
	t.Helper()
	out := []instance{{backend: "sqlite", dataDir: t.TempDir()}}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		out = append(out, instance{backend: "postgres", dataDir: t.TempDir(), dbURL: storetest.NewPostgresSchema(t, base)})
	}
	return out
}

func (in instance) env(extra map[string]string) func(string) string {
	vars := map[string]string{"LATCHKEY_DATA_DIR": in.dataDir, "LATCHKEY_PASSWORD_COST": "4"}
	if in.dbURL != "" {
		vars["LATCHKEY_DATABASE_URL"] = in.dbURL
	}
	for k, v := range extra {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// run runs the latchkey command in-process and returns its output.
func (in instance) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = Run(context.Background(), args, Env{Getenv: in.env(nil), Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

func (in instance) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := in.run(t, args...)
	if err != nil {
		t.Fatalf("latchkey %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// db opens the instance's database directly.
func (in instance) db(t *testing.T) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if in.backend == "postgres" {
		db, err = sql.Open("pgx", in.dbURL)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(in.dataDir, "latchkey.db")+"?_pragma=busy_timeout(5000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() }) // a test's own connection
	return db
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// allStoredText returns every row of every table rendered as text, so a
// test can look for a value anywhere in the database.
func allStoredText(t *testing.T, in instance) string {
	t.Helper()
	db := in.db(t)
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if in.backend == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found only tables %v", tables)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					b.Write(x)
				case string:
					b.WriteString(x)
				}
				b.WriteByte('\t')
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

func TestAdminCreateUserAndKey(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			out := in.mustRun(t, "admin", "create-user", "--email", "Alice@Example.com", "--password", "correct horse", "--org", "Acme")
			if id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil || id <= 0 {
				t.Fatalf("create-user printed %q, want a user ID", out)
			}
			secret := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "alice@example.com", "--name", "deploy"))
			if !keys.Valid(secret) || !keys.Pattern.MatchString(secret) || !strings.HasPrefix(secret, "sk_live_") {
				t.Fatalf("create-key printed %q, not a well-formed live key", secret)
			}
			test := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "alice@example.com", "--env", "test",
				"--scopes", "licenses:read,audit:read", "--expires", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
			if !strings.HasPrefix(test, "sk_test_") || !keys.Valid(test) {
				t.Fatalf("test key = %q", test)
			}

			stored := allStoredText(t, in)
			for _, s := range []string{secret, test, secret[8:], test[8:]} {
				if strings.Contains(stored, s) {
					t.Fatalf("the database holds a plaintext copy of a key")
				}
			}
			if in.backend == "sqlite" {
				// The raw file and its WAL too, not only what SQL shows.
				for _, f := range []string{"latchkey.db", "latchkey.db-wal"} {
					raw, _ := os.ReadFile(filepath.Join(in.dataDir, f))
					if bytes.Contains(raw, []byte(secret[8:])) || bytes.Contains(raw, []byte(test[8:])) {
						t.Fatalf("%s holds a plaintext key", f)
					}
				}
			}
			d := keys.Digest(secret)
			var scopes string
			if err := in.db(t).QueryRow(`SELECT scopes FROM api_keys WHERE digest = $1`, d[:]).Scan(&scopes); err != nil {
				t.Fatalf("no key row with the secret's SHA-256 digest: %v", err)
			}
			if !strings.Contains(scopes, "api_keys:write") || !strings.Contains(scopes, "projects:write") {
				t.Fatalf("a key without --scopes holds %q, want all of the owner's role", scopes)
			}
		})
	}
}

func TestAdminBadInputChangesNothing(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse", "--org", "Acme")
			in.mustRun(t, "admin", "create-user", "--email", "multi@example.com", "--password", "correct horse", "--org", "Acme")
			in.mustRun(t, "admin", "create-user", "--email", "multi2@example.com", "--password", "correct horse", "--org", "Beta")
			db := in.db(t)
			before := []int{count(t, db, "users"), count(t, db, "organizations"), count(t, db, "memberships"), count(t, db, "api_keys"), count(t, db, "audit_events")}
			tests := []struct {
				name string
				args []string
				want string // in the one line of stderr
			}{
				{"unknown flag", []string{"admin", "create-user", "--email", "b@example.com", "--password", "longenough", "--colour", "red"}, "unknown flag: --colour"},
				{"malformed email", []string{"admin", "create-user", "--email", "not-an-email", "--password", "longenough"}, "valid email"},
				{"missing password", []string{"admin", "create-user", "--email", "b@example.com"}, "password field is required"},
				{"short password", []string{"admin", "create-user", "--email", "b@example.com", "--password", "short"}, "at least 8"},
				{"duplicate email", []string{"admin", "create-user", "--email", "ALICE@example.com", "--password", "longenough"}, "already been taken"},
				{"bad role", []string{"admin", "create-user", "--email", "b@example.com", "--password", "longenough", "--role", "god"}, "role must be"},
				{"unknown user", []string{"admin", "create-key", "--email", "nobody@example.com"}, "No user with email"},
				{"unknown org", []string{"admin", "create-key", "--email", "alice@example.com", "--org", "Nope"}, `No organization named "Nope"`},
				{"not a member", []string{"admin", "create-key", "--email", "alice@example.com", "--org", "Beta"}, "not a member"},
				{"unknown project", []string{"admin", "create-key", "--email", "alice@example.com", "--project", "999"}, "no project with ID 999"},
				{"non-numeric project", []string{"admin", "create-key", "--email", "alice@example.com", "--project", "abc"}, `invalid argument "abc"`},
				{"unknown scope", []string{"admin", "create-key", "--email", "alice@example.com", "--scopes", "licenses:read,root"}, `scope "root" is not a valid scope`},
				{"bad env", []string{"admin", "create-key", "--email", "alice@example.com", "--env", "prod"}, "env field must be one of live, test"},
				{"past expiry", []string{"admin", "create-key", "--email", "alice@example.com", "--expires", "2001-01-01T00:00:00Z"}, "date after now"},
				{"bad expiry", []string{"admin", "create-key", "--email", "alice@example.com", "--expires", "tomorrow"}, "not an RFC 3339 time"},
				{"bad cidr", []string{"admin", "create-key", "--email", "alice@example.com", "--allowed-ips", "10.0.0.0/33"}, "invalid IP address or CIDR"},
				{"bad database url", []string{"admin", "create-key", "--email", "alice@example.com", "--database-url", "mysql://x"}, "--database-url"},
				{"unknown admin command", []string{"admin", "create-usr"}, `unknown command "create-usr" for "latchkey admin"`},
				{"bad log format", []string{"migrate", "--log-format", "xml"}, "--log-format"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					out, _, err := in.run(t, tc.args...)
					if err == nil {
						t.Fatalf("succeeded, printed %q", out)
					}
					line := ErrorLine(err)
					if strings.Contains(line, "\n") || !strings.Contains(line, tc.want) {
						t.Fatalf("error line %q, want one line containing %q", line, tc.want)
					}
					if out != "" {
						t.Fatalf("printed %q on failure", out)
					}
				})
			}
			after := []int{count(t, db, "users"), count(t, db, "organizations"), count(t, db, "memberships"), count(t, db, "api_keys"), count(t, db, "audit_events")}
			for i := range before {
				if before[i] != after[i] {
					t.Fatalf("row counts changed from %v to %v", before, after)
				}
			}
		})
	}
}

func TestRestartKeepsUsersKeysAndSecret(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse")
			secret := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "alice@example.com"))
			for round := range 2 {
				srv := startServer(t, in)
				for _, path := range []string{"/healthz", "/readyz"} {
					resp, err := http.Get("http://" + srv.Addr + path)
					if err != nil {
						t.Fatal(err)
					}
					_ = resp.Body.Close() // only the status is checked
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("round %d: %s = %d", round, path, resp.StatusCode)
					}
				}
				if err := srv.Shutdown(); err != nil {
					t.Fatal(err)
				}
			}
			keyFile, err := os.ReadFile(filepath.Join(in.dataDir, "secret.key"))
			if err != nil {
				t.Fatal(err)
			}
			// The user and key are still there, and the secret unchanged: a
			// second key can be minted and the first still matches its row.
			in.mustRun(t, "admin", "create-key", "--email", "alice@example.com")
			d := keys.Digest(secret)
			var n int
			if err := in.db(t).QueryRow(`SELECT count(*) FROM api_keys WHERE digest = $1`, d[:]).Scan(&n); err != nil || n != 1 {
				t.Fatalf("the first key is gone after restarts (n=%d, err=%v)", n, err)
			}
			again, _ := os.ReadFile(filepath.Join(in.dataDir, "secret.key"))
			if !bytes.Equal(keyFile, again) {
				t.Fatal("the instance secret changed across restarts")
			}
		})
	}
}

func TestOtherSecretRefused(t *testing.T) {
	in := instance{backend: "sqlite", dataDir: t.TempDir()}
	in.mustRun(t, "migrate")
	in.mustRun(t, "admin", "create-user", "--email", "alice@example.com", "--password", "correct horse")
	var errb bytes.Buffer
	env := in.env(map[string]string{"LATCHKEY_SECRET_KEY": strings.Repeat("z", 40)})
	err := Run(context.Background(), []string{"admin", "create-key", "--email", "alice@example.com"},
		Env{Getenv: env, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errb})
	if err == nil || !strings.Contains(err.Error(), "another instance secret") {
		t.Fatalf("err = %v, want a refusal naming the secret mismatch", err)
	}
}

func startServer(t *testing.T, in instance) *Server {
	t.Helper()
	cfg := config.Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = in.dataDir
	cfg.DatabaseURL = in.dbURL
	cfg.PasswordCost = 4
	cfg.ShutdownTimeout = 5 * time.Second
	srv, err := Start(context.Background(), cfg, Env{Getenv: in.env(nil), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
