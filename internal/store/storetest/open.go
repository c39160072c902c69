// Package storetest holds the conformance suite every store backend must
// pass, and helpers that open a fresh, migrated database for a test.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// PostgresURLEnv names the variable that enables the PostgreSQL half of
// every backend-parameterised test.
const PostgresURLEnv = "LATCHKEY_TEST_DATABASE_URL"

// Backend is a way to open a fresh store for one test.
type Backend struct {
	Name string
	// Open returns a migrated, empty store, closed when the test ends, and
	// the database URL (or SQLite path) it lives at, for tests that start a
	// server process on it.
	Open func(tb testing.TB, now func() time.Time) (*store.Store, string)
}

// Backends returns SQLite, and PostgreSQL when LATCHKEY_TEST_DATABASE_URL is
// set.
func Backends(tb testing.TB) []Backend {
	tb.Helper()
	bs := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(PostgresURLEnv) != "" {
		bs = append(bs, Backend{Name: "postgres", Open: OpenPostgres})
	}
	return bs
}

// OpenSQLite opens a migrated SQLite database in a temporary directory.
func OpenSQLite(tb testing.TB, now func() time.Time) (*store.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "latchkey.db")
	st, err := sqlite.Open(context.Background(), path, now)
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate sqlite: %v", err)
	}
	return st, path
}

// OpenPostgres creates a schema of its own in the database named by
// LATCHKEY_TEST_DATABASE_URL, opens a migrated store on it, and drops the
// schema when the test ends. It skips the test when the variable is unset.
func OpenPostgres(tb testing.TB, now func() time.Time) (*store.Store, string) {
	tb.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		tb.Skipf("%s is not set", PostgresURLEnv)
	}
	schemaURL := NewPostgresSchema(tb, base)
	st, err := postgres.Open(context.Background(), schemaURL, now, postgres.Options{})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate postgres: %v", err)
	}
	return st, schemaURL
}

// OpenPostgresURL opens another store on an existing database URL (a
// second node); it is closed when the test ends.
func OpenPostgresURL(tb testing.TB, url string, now func() time.Time) *store.Store {
	tb.Helper()
	st, err := postgres.Open(context.Background(), url, now, postgres.Options{})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate postgres: %v", err)
	}
	return st
}

// NewPostgresSchema creates an empty schema in the database at base and
// returns a URL whose connections use it; the schema is dropped when the
// test ends.
func NewPostgresSchema(tb testing.TB, base string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "lk_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		_ = admin.Close() // the test fails on the line below anyway
		tb.Fatalf("postgres: create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer func() { _ = admin.Close() }() // best effort at cleanup
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("postgres: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("postgres: parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
