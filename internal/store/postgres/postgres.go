// Package postgres opens the PostgreSQL backend through pgx's database/sql
// driver, so that both backends share the SQL of package store.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

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
	MigrationLock: `SELECT pg_advisory_xact_lock(7412730561)`,
	// A migration may rewrite a large table: no statement timeout.
	MigrationSetup:  `SET LOCAL statement_timeout = 0`,
	UniqueViolation: uniqueViolation,
	DataException:   dataException,
	Notify:          true,
	ForUpdate:       " FOR UPDATE",
	Unavailable:     unavailable,
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

// unavailable reports whether err means the server could not be reached,
// went away, or gave up on a statement: connection failures, a connection
// the server closed (a restart or failover), SQLSTATE class 08
// (connection exception), 53300 (too many connections), 57P01–57P03
// (shutdown, crash, still starting) and 57014 (statement timeout), and a
// connection pgx had already found closed.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), pe.Code == "53300", pe.Code == "57014",
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

// Options size the connection pool and bound statements. The zero value
// means the defaults.
type Options struct {
	// MaxConns bounds the pool (default 32). Every node holds up to this
	// many connections, plus one for its change listener: nodes × (MaxConns
	// + 1) must stay below the server's max_connections.
	MaxConns int
	// MinConns connections are opened at start and reopened when idle
	// ones were closed, so that a burst after a quiet spell finds them
	// ready (0: none; at most MaxConns).
	MinConns int
	// StatementTimeout is the server-side statement_timeout of every pool
	// connection (0: none). Migrations run without it.
	StatementTimeout time.Duration
}

// DefaultMaxConns is the pool size when Options.MaxConns is 0.
const DefaultMaxConns = 32

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MinConns < 0 {
		o.MinConns = 0
	}
	if o.MinConns > o.MaxConns {
		o.MinConns = o.MaxConns
	}
	return o
}

// Open connects to the database at url (postgres://…). The caller runs
// Migrate.
func Open(ctx context.Context, url string, now func() time.Time, o Options) (*store.Store, error) {
	o = o.withDefaults()
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if o.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cc)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close() // the connect error is the one to report
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	var closeFn func() error // nil: the store closes the pool
	if o.MinConns > 0 {
		warm(pctx, db, o.MinConns)
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			keepWarm(db, o.MinConns, stop)
		}()
		closeFn = func() error {
			close(stop)
			<-done
			return db.Close()
		}
	}
	st := store.New(Dialect, db, db, now, closeFn)
	st.SetChannel(scopeOf(url).channel())
	return st, nil
}

// warm opens connections until the pool holds n, by holding n at once.
// database/sql has no minimum pool size; this and keepWarm give it one.
func warm(ctx context.Context, db *sql.DB, n int) {
	if db.Stats().OpenConnections >= n {
		return
	}
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			break // the database is away: the next round tries again
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		_ = c.Close() // returns it to the pool, idle
	}
}

// keepWarm tops the pool up to n connections every half minute, after
// idle ones were closed or the server restarted.
func keepWarm(db *sql.DB, n int, stop <-chan struct{}) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			warm(ctx, db, n)
			cancel()
		}
	}
}

// Unavailable is the dialect's lost-connection test, for tests.
func Unavailable(err error) bool { return unavailable(err) }
