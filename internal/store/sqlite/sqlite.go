// Package sqlite opens the SQLite backend: a pure-Go driver
// (modernc.org/sqlite), WAL, foreign keys on, a pool of readers and one
// writer connection.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes SQLite to the shared store.
var Dialect = &store.Dialect{
	Name:            "sqlite",
	Migrations:      mustSub(migrations, "migrations"),
	UniqueViolation: uniqueViolation,
	GroupCommit:     true,
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

func uniqueViolation(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// dsn builds the connection string. busy_timeout comes first so that the
// connection waits, rather than fails, while another one holds the lock to
// switch the journal to WAL. synchronous=NORMAL in WAL mode keeps every
// committed transaction across a crash of the process (the WAL is written
// before COMMIT returns); only an operating-system crash may lose the last
// transactions. The fixed time format writes UTC times that sort as text.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// 4 MB of page cache per connection (a writer and a few readers): the
	// hot paths answer from Latchkey's own caches, not SQLite's, and the
	// index pages a lookup walks stay in the operating system's file cache.
	q.Add("_pragma", "cache_size(-4000)")
	q.Add("_time_format", "sqlite")
	if writer {
		// One writer connection, and IMMEDIATE transactions so that another
		// process writing the same file (latchkey admin while serve runs)
		// waits on busy_timeout instead of failing on lock upgrade.
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path. The caller
// runs Migrate.
func Open(ctx context.Context, path string, now func() time.Time) (*store.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	if err := private(path); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	// The writer creates the file and switches it to WAL before any reader
	// connects: a query_only connection could not.
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close() // the open error is the one to report
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		_ = writer.Close() // the open error is the one to report
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxIdleTime(0)
	reader.SetConnMaxLifetime(0)
	return store.New(Dialect, reader, writer, now, nil), nil
}

// private makes the database file exist with mode 0600, and tightens the
// file and its -wal and -shm companions if an older version or another tool
// left them readable by others. SQLite creates the -wal and -shm files with
// the mode of the database file, so a 0600 database keeps them 0600 too; the
// data directory's 0700 protects nothing when the directory already existed.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite: restrict %s: %w", p, err)
			}
		}
	}
	return nil
}
