// Package store implements core.Store over database/sql once for both
// backends. The SQL is written so that SQLite (modernc.org/sqlite) and
// PostgreSQL (pgx) accept it unchanged: numbered placeholders, RETURNING,
// ON CONFLICT. What differs (connections, error codes, migrations, change
// notification) comes from a Dialect, supplied by store/sqlite and
// store/postgres.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// Dialect holds what differs between the backends.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Migrations holds the numbered *.sql files of this dialect.
	Migrations fs.FS
	// MigrationLock, when not empty, is executed first in every migration
	// transaction so that nodes starting together migrate one at a time.
	MigrationLock string
	// MigrationSetup, when not empty, is executed before MigrationLock in
	// every migration transaction.
	MigrationSetup string
	// UniqueViolation reports whether err broke a unique constraint.
	UniqueViolation func(err error) bool
	// DataException, when set, reports whether err is the database
	// refusing a value (PostgreSQL's SQLSTATE class 22): retrying the same
	// statement cannot succeed, so it is EInvalid, not an internal error.
	DataException func(err error) bool
	// Notify reports whether Publish sends notifications (PostgreSQL).
	Notify bool
	// ForUpdate is appended to a SELECT that must lock its row until
	// commit (" FOR UPDATE" on PostgreSQL; SQLite has one writer, so none).
	ForUpdate string
	// GroupCommit runs concurrent transactions in groups sharing one
	// commit (SQLite, whose single writer would otherwise commit them one
	// by one).
	GroupCommit bool
	// Unavailable, when set, reports whether err means the database could
	// not be reached or dropped the connection (a restart, a failover, a
	// statement timeout): the request may succeed when retried, so it is
	// EUnavailable (503), never an internal error.
	Unavailable func(err error) bool
}

// errUnavailable is what a client is told when the database is away; the
// cause goes to the server's log.
func errUnavailable(cause error) error {
	return &core.Error{Code: core.EUnavailable, Message: "The database is unavailable; retry shortly.", Err: cause}
}

// unavailable turns a lost-connection error into errUnavailable and leaves
// every other error as it is.
func (s *Store) unavailable(err error) error {
	if err != nil && s.d.Unavailable != nil && s.d.Unavailable(err) {
		return errUnavailable(err)
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// pool is a connection pool with a cache of prepared statements. SQLite
// parses every statement it is given, and parsing costs more than running
// the small queries of the hot paths, so each distinct query text is
// prepared once per pool and reused.
type pool struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB) *pool { return &pool{db: db, stmts: map[string]*sql.Stmt{}} }

// maxStmts bounds the cache; listing queries vary with their filters, but
// only over a few dozen texts.
const maxStmts = 512

// stmt returns q prepared and cached, or nil (and no error) when the cache
// is full: then the caller runs q directly.
func (p *pool) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := p.cached(q); st != nil {
		return st, nil
	}
	p.mu.RLock()
	full := len(p.stmts) >= maxStmts
	p.mu.RUnlock()
	if full {
		return nil, nil
	}
	// Prepare without holding the lock: preparing waits for a connection,
	// and on SQLite's one-connection write pool that connection may belong
	// to a transaction that is itself looking up the cache.
	st, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	cur := p.stmts[q]
	keep := cur == nil && len(p.stmts) < maxStmts
	if keep {
		p.stmts[q] = st
	}
	p.mu.Unlock()
	if !keep {
		// Another goroutine prepared it meanwhile, or there is no room.
		// Closed outside the lock: closing waits for the connections the
		// statement was prepared on, and their users may be waiting for
		// the lock.
		_ = st.Close()
		return cur, nil
	}
	return st, nil
}

func (p *pool) close() error {
	p.mu.Lock()
	stmts := p.stmts
	p.stmts = map[string]*sql.Stmt{}
	p.mu.Unlock()
	for _, st := range stmts {
		_ = st.Close()
	}
	return p.db.Close()
}

// ExecContext runs q as a cached prepared statement.
func (p *pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	args = cleanArgs(args)
	st, err := p.stmt(ctx, q)
	if err != nil || st == nil {
		return p.db.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs q as a cached prepared statement.
func (p *pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	args = cleanArgs(args)
	st, err := p.stmt(ctx, q)
	if err != nil || st == nil {
		return p.db.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q as a cached prepared statement.
func (p *pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	args = cleanArgs(args)
	st, err := p.stmt(ctx, q)
	if err != nil || st == nil {
		return p.db.QueryRowContext(ctx, q, args...) // reports the same error, if any
	}
	return st.QueryRowContext(ctx, args...)
}

// cached returns q's prepared statement if the pool has one.
func (p *pool) cached(q string) *sql.Stmt {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stmts[q]
}

// txQuerier runs statements inside a transaction, through the pool's
// prepared statements when it has them. It never prepares on the pool
// itself: SQLite's write pool has one connection, held by this very
// transaction. Statements it had to run unprepared are noted and prepared
// after the transaction ends.
type txQuerier struct {
	tx     *sql.Tx
	p      *pool
	misses *[]string
}

func (t txQuerier) prepared(ctx context.Context, q string) *sql.Stmt {
	if st := t.p.cached(q); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	if t.misses != nil && len(*t.misses) < 64 {
		*t.misses = append(*t.misses, q)
	}
	return nil
}

func (t txQuerier) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	args = cleanArgs(args)
	if st := t.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t txQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	args = cleanArgs(args)
	if st := t.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t txQuerier) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	args = cleanArgs(args)
	if st := t.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// Store implements core.Store.
type Store struct {
	d      *Dialect
	reader *pool
	writer *pool
	tx     *sql.Tx // set on the Store handed to an InTx callback
	misses *[]string
	group  *committer
	now    func() time.Time
	close  func() error
	node   string
	// channel is where Publish notifies (ChangeChannel unless SetChannel).
	channel string
	tracer  Tracer // nil: statements are not traced (trace.go)
}

var _ core.Store = (*Store)(nil)

// New returns a Store over the given pools. SQLite passes a read pool and a
// single-connection write pool; PostgreSQL passes the same pool twice.
// closeFn, when not nil, replaces closing both pools.
func New(d *Dialect, reader, writer *sql.DB, now func() time.Time, closeFn func() error) *Store {
	if now == nil {
		now = time.Now
	}
	rp := newPool(reader)
	wp := rp
	if writer != reader {
		wp = newPool(writer)
	}
	s := &Store{d: d, reader: rp, writer: wp, now: now, close: closeFn, channel: ChangeChannel}
	if d.GroupCommit {
		s.group = newCommitter(s)
	}
	return s
}

// Dialect names the backend.
func (s *Store) Dialect() string { return s.d.Name }

// DB returns the write pool, for tools (benchmark seeding) that bulk-load.
func (s *Store) DB() *sql.DB { return s.writer.db }

// Pools names the store's connection pools, for metrics: "postgres", or
// SQLite's "sqlite_read" and "sqlite_write".
func (s *Store) Pools() map[string]*sql.DB {
	if s.reader == s.writer {
		return map[string]*sql.DB{s.d.Name: s.writer.db}
	}
	return map[string]*sql.DB{s.d.Name + "_read": s.reader.db, s.d.Name + "_write": s.writer.db}
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	if s.close != nil {
		return s.close()
	}
	err := s.reader.close()
	if s.writer != s.reader {
		err = errors.Join(err, s.writer.close())
	}
	return err
}

// InTx runs fn in a transaction on the write pool. Nested calls join the
// outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(core.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	if s.group != nil {
		return s.unavailable(s.group.run(ctx, fn))
	}
	return s.unavailable(s.runTx(ctx, fn))
}

// runTx runs fn in a transaction of its own.
func (s *Store) runTx(ctx context.Context, fn func(core.Store) error) error {
	tx, err := s.writer.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	child := *s
	child.tx = tx
	var misses []string
	child.misses = &misses
	// Prepare what the transaction ran unprepared, now that the writer's
	// connection is free again, so the next transaction finds it cached.
	defer func() {
		for _, q := range misses {
			_, _ = s.writer.stmt(context.WithoutCancel(ctx), q)
		}
	}()
	if err := fn(&child); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// r returns where reads go: the transaction, or the read pool.
func (s *Store) r() querier {
	if s.tx != nil {
		return s.traced(txQuerier{s.tx, s.writer, s.misses})
	}
	return s.traced(s.reader)
}

// w returns where writes go: the transaction, or the write pool.
func (s *Store) w() querier {
	if s.tx != nil {
		return s.traced(txQuerier{s.tx, s.writer, s.misses})
	}
	return s.traced(s.writer)
}

// inTx runs fn in a transaction and hands it the transaction's querier.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	return s.InTx(ctx, func(cs core.Store) error { return fn(cs.(*Store).w()) })
}

// ts normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so that values read back compare equal on both
// backends.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsp is ts for optional times; nil stays NULL.
func tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// clock returns the store's current time, normalised.
func (s *Store) clock() time.Time { return ts(s.now()) }

// nullTime scans an optional time.
type nullTime struct{ p **time.Time }

func (n nullTime) Scan(v any) error {
	var nt sql.NullTime
	if err := nt.Scan(v); err != nil {
		return err
	}
	if !nt.Valid {
		*n.p = nil
		return nil
	}
	t := nt.Time.UTC()
	*n.p = &t
	return nil
}

// utc scans a required time and converts it to UTC.
type utc struct{ p *time.Time }

func (u utc) Scan(v any) error {
	var nt sql.NullTime
	if err := nt.Scan(v); err != nil {
		return err
	}
	*u.p = nt.Time.UTC()
	return nil
}

// nullInt64 scans an optional integer where NULL means 0.
type zeroInt struct{ p *int64 }

func (z zeroInt) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*z.p = n.Int64
	return nil
}

// optInt scans an optional integer where NULL stays nil.
type optInt struct{ p **int64 }

func (o optInt) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		*o.p = nil
		return nil
	}
	x := n.Int64
	*o.p = &x
	return nil
}

// optString scans an optional string where NULL stays nil.
type optString struct{ p **string }

func (o optString) Scan(v any) error {
	var n sql.NullString
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		*o.p = nil
		return nil
	}
	x := n.String
	*o.p = &x
	return nil
}

// nullID turns 0 into NULL for optional foreign keys.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// optIntArg passes an optional integer.
func optIntArg(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// optStringArg passes an optional string.
func optStringArg(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// jsonArg passes a JSON document as text, which both backends accept for
// their JSON column types; empty means def.
func jsonArg(b []byte, def string) any {
	if len(b) == 0 {
		if def == "" {
			return nil
		}
		return def
	}
	if !core.ValidJSONText(b) {
		return badText{} // PostgreSQL's JSONB cannot hold a NUL
	}
	return string(b)
}

// notFound maps sql.ErrNoRows to a core not-found error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.NotFound(what)
	}
	return err
}

// conflict maps a unique violation to EConflict with msg, and wraps other
// errors with op.
func (s *Store) conflict(err error, op, msg string) error {
	if err == nil {
		return nil
	}
	if s.d.UniqueViolation != nil && s.d.UniqueViolation(err) {
		return &core.Error{Code: core.EConflict, Message: msg}
	}
	return s.wrap(err, op)
}

// wrap prefixes err with the dialect and operation, leaving core errors as
// they are.
func (s *Store) wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	if s.d.DataException != nil && s.d.DataException(err) {
		return core.Errorf(core.EInvalid, "A value was refused by the database.")
	}
	if s.d.Unavailable != nil && s.d.Unavailable(err) {
		return errUnavailable(err)
	}
	var se *storeError
	if errors.As(err, &se) {
		return err // named once, by the innermost operation
	}
	return &storeError{msg: s.d.Name + ": " + op + ": " + err.Error(), err: err}
}

// storeError is an error wrap prefixed with the dialect and operation.
type storeError struct {
	msg string
	err error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.err }

// argList collects query arguments and hands out their placeholders.
type argList []any

// add appends v and returns its placeholder, "$n".
func (a *argList) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// limit clamps a listing size.
func limit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}

// affected returns ENotFound when a write touched no row.
func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return core.NotFound(what)
	}
	return nil
}

// ChangeChannel is the PostgreSQL notification channel for core.Change.
const ChangeChannel = "latchkey_changes"

// Publish sends c to the other nodes when the dialect supports it; inside a
// transaction, PostgreSQL delivers it at commit.
func (s *Store) Publish(ctx context.Context, c core.Change) error {
	if !s.d.Notify {
		return nil
	}
	_, err := s.w().ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, s.node+"|"+c.String())
	return s.wrap(err, "publish")
}

// SetChannel sets the notification channel Publish uses.
func (s *Store) SetChannel(name string) { s.channel = name }

// SetNode sets the ID this node stamps on its notifications, so that it can
// ignore its own when they come back.
func (s *Store) SetNode(id string) { s.node = id }
