// Package postgres opens the PostgreSQL backend through pgx's database/sql
// driver, so that both backends share the SQL of package store.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes PostgreSQL to the shared store.
var Dialect = &store.Dialect{
	Name:       "postgres",
	Migrations: mustSub(migrations, "migrations"),
	// Nodes starting together on one database migrate one at a time; the
	// transaction-level lock is released at commit.
	MigrationLock:   `SELECT pg_advisory_xact_lock(7412730561)`,
	UniqueViolation: uniqueViolation,
	DataException:   dataException,
	Notify:          true,
	ForUpdate:       " FOR UPDATE",
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

func uniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// dataException reports SQLSTATE class 22 (a value the column or function
// refuses: bad encoding, out of range, malformed JSON).
func dataException(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && len(e.Code) == 5 && e.Code[:2] == "22"
}

// Open connects to the database at url (postgres://…). The caller runs
// Migrate.
func Open(ctx context.Context, url string, now func() time.Time) (*store.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close() // the connect error is the one to report
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return store.New(Dialect, db, db, now, nil), nil
}
