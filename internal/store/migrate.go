package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Migration is one embedded, numbered SQL file.
type Migration struct {
	Name string // file name, e.g. "0001_init.sql"
	SQL  string
}

// Migrations lists the dialect's migrations in order.
func (d *Dialect) migrations() ([]Migration, error) {
	names, err := fs.Glob(d.Migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(d.Migrations, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Name: path.Base(n), SQL: string(b)})
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    name        TEXT PRIMARY KEY,
    applied_at  TIMESTAMP NOT NULL
)`

// Migrate applies every migration not yet recorded, each in its own
// transaction, in file-name order, and returns the names it applied.
// Migrations are forward-only: a recorded migration is never run again, and
// a database that records a migration this binary does not know is refused,
// because it was written by a newer version.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	all, err := s.d.migrations()
	if err != nil {
		return nil, fmt.Errorf("%s: read migrations: %w", s.d.Name, err)
	}
	if _, err := s.writer.db.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("%s: create schema_migrations: %w", s.d.Name, err)
	}
	var applied []string
	for _, m := range all {
		done, err := s.applyMigration(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	known := make(map[string]bool, len(all))
	for _, m := range all {
		known[m.Name] = true
	}
	recorded, err := s.appliedMigrations(ctx)
	if err != nil {
		return applied, err
	}
	for _, r := range recorded {
		if !known[r] {
			return applied, fmt.Errorf("%s: database has migration %s, unknown to this version of latchkey: upgrade the binary", s.d.Name, r)
		}
	}
	return applied, nil
}

func (s *Store) applyMigration(ctx context.Context, m Migration) (bool, error) {
	tx, err := s.writer.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("%s: migration %s: begin: %w", s.d.Name, m.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.MigrationSetup != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationSetup); err != nil {
			return false, fmt.Errorf("%s: migration setup: %w", s.d.Name, err)
		}
	}
	if s.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
			return false, fmt.Errorf("%s: migration lock: %w", s.d.Name, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, m.Name).Scan(&n); err != nil {
		return false, fmt.Errorf("%s: migration %s: %w", s.d.Name, m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	for _, stmt := range splitStatements(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("%s: migration %s: %w\n%s", s.d.Name, m.Name, err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, m.Name, s.clock()); err != nil {
		return false, fmt.Errorf("%s: record migration %s: %w", s.d.Name, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("%s: migration %s: commit: %w", s.d.Name, m.Name, err)
	}
	return true, nil
}

func (s *Store) appliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := s.writer.db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s: list migrations: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// PendingMigrations returns the names of migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) ([]string, error) {
	all, err := s.d.migrations()
	if err != nil {
		return nil, err
	}
	if _, err := s.writer.db.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("%s: create schema_migrations: %w", s.d.Name, err)
	}
	recorded, err := s.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range all {
		if !slices.Contains(recorded, m.Name) {
			out = append(out, m.Name)
		}
	}
	return out, nil
}

// splitStatements splits a migration file on semicolons that end a line.
// Our migrations hold no procedural code, so this is enough, and it lets the
// SQLite driver (which runs one statement per Exec) apply them.
func splitStatements(sql string) []string {
	var out []string
	var b strings.Builder
	for line := range strings.SplitSeq(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || (trimmed == "" && b.Len() == 0) {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if stmt := strings.TrimSpace(b.String()); stmt != ";" {
				out = append(out, stmt)
			}
			b.Reset()
		}
	}
	if stmt := strings.TrimSpace(b.String()); stmt != "" {
		out = append(out, stmt)
	}
	return out
}
