package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/config"
)

// startWith starts a server on in with the defaults changed by opts.
func startWith(t *testing.T, in instance, opts func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Defaults()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = in.dataDir
	cfg.DatabaseURL = in.dbURL
	cfg.PasswordCost = 4
	if opts != nil {
		opts(&cfg)
	}
	srv, err := Start(context.Background(), cfg, Env{Getenv: in.env(nil), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestShutdownBoundedWhenDatabaseHangs checks that a database that stops
// answering cannot hold shutdown past --shutdown-timeout: the last usage
// flush is abandoned at the deadline, and Shutdown says so. The database
// is "hung" by another session holding the lock the flush needs; that
// session gives it up only on the database's own timeout (SQLite's busy
// timeout of the server's connection, PostgreSQL's
// idle_in_transaction_session_timeout of the locking session), long after
// the shutdown deadline, so a shutdown that waited for the flush returns
// without the error.
func TestShutdownBoundedWhenDatabaseHangs(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			in.mustRun(t, "admin", "create-user", "--email", "a@example.com", "--password", "correct horse", "--org", "A")
			secret := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "a@example.com", "--name", "k"))
			srv := startWith(t, in, func(c *config.Config) {
				c.ShutdownTimeout = 200 * time.Millisecond
				c.UsageFlush = time.Hour // only the last flush runs
			})
			req, _ := http.NewRequest("GET", "http://"+srv.Addr+"/api/v1/projects", nil)
			req.Header.Set("X-API-KEY", secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close() // the status is all this request is for
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}

			ctx := context.Background()
			conn, err := in.db(t).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }() // released with the lock at the end
			lock := []string{"BEGIN EXCLUSIVE"}
			if in.backend == "postgres" {
				lock = []string{"SET idle_in_transaction_session_timeout = '20s'", "BEGIN", "LOCK TABLE api_key_usage, api_keys IN ACCESS EXCLUSIVE MODE"}
			}
			for _, q := range lock {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			err = srv.Shutdown()
			if _, rerr := conn.ExecContext(ctx, "ROLLBACK"); rerr != nil {
				t.Logf("rollback: %v", rerr)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown with a hung database: %v, want the shutdown deadline's error", err)
			}
		})
	}
}

// TestServingFailureEndsWait checks that serve notices when serving stops
// on its own after start (here its listener is closed under it): Wait
// returns the failure and shuts down, instead of waiting for a signal
// while no request is answered.
func TestServingFailureEndsWait(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) {
			srv := startWith(t, in, nil)
			if err := srv.ln.Close(); err != nil {
				t.Fatal(err)
			}
			err := srv.Wait(context.Background())
			if err == nil || !strings.Contains(err.Error(), "serve:") || errors.Is(err, http.ErrServerClosed) {
				t.Fatalf("Wait after the listener broke: %v, want the serving failure", err)
			}
			// It shut down: the store is closed.
			if perr := srv.store.Ping(context.Background()); perr == nil {
				t.Fatal("the store is still open")
			}
		})
	}
}
