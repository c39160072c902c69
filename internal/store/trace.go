package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
)

// Tracer makes the spans of statements; internal/telemetry supplies it
// when tracing is on. Without one (the default), statements run exactly as
// before: no span, no stack walk, no allocation.
type Tracer interface {
	// Traced reports whether a statement run with ctx gets a span.
	Traced(ctx context.Context) bool
	// Start starts the span of a statement run by the store operation op
	// (a core.Store method), verb being its SQL keyword; end records the
	// statement's error.
	Start(ctx context.Context, op, verb string) (_ context.Context, end func(error))
}

// SetTracer makes every statement run in a traced context a span named
// after the store operation that ran it. Call it before the store is used.
func (s *Store) SetTracer(t Tracer) { s.tracer = t }

// traced wraps q in the tracer, when there is one.
func (s *Store) traced(q querier) querier {
	if s.tracer == nil {
		return q
	}
	return tracedQuerier{q: q, t: s.tracer}
}

// tracedQuerier runs statements in spans. The statement's text is never
// recorded (only its verb): the arguments are bound, but a span name or
// attribute is no place even for the shape of a query on license keys.
type tracedQuerier struct {
	q querier
	t Tracer
}

func (t tracedQuerier) ExecContext(ctx context.Context, q string, args ...any) (res sql.Result, err error) {
	if !t.t.Traced(ctx) {
		return t.q.ExecContext(ctx, q, args...)
	}
	ctx, end := t.t.Start(ctx, operation(), verb(q))
	defer func() { end(err) }()
	return t.q.ExecContext(ctx, q, args...)
}

func (t tracedQuerier) QueryContext(ctx context.Context, q string, args ...any) (rows *sql.Rows, err error) {
	if !t.t.Traced(ctx) {
		return t.q.QueryContext(ctx, q, args...)
	}
	ctx, end := t.t.Start(ctx, operation(), verb(q))
	defer func() { end(err) }()
	return t.q.QueryContext(ctx, q, args...)
}

func (t tracedQuerier) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if !t.t.Traced(ctx) {
		return t.q.QueryRowContext(ctx, q, args...)
	}
	ctx, end := t.t.Start(ctx, operation(), verb(q))
	row := t.q.QueryRowContext(ctx, q, args...)
	err := row.Err()
	if errors.Is(err, sql.ErrNoRows) {
		err = nil // not found is an answer, not a failure
	}
	end(err)
	return row
}

// storeMethod prefixes the functions of the Store's methods in a stack.
const storeMethod = "github.com/latchkey/latchkey/internal/store.(*Store)."

// operation names the store operation running a statement: the first
// exported Store method on the stack ("store.LicenseByDigest"), found
// through helpers and the closures a method runs in its transaction. Only
// traced statements pay for the walk.
func operation() string {
	var pcs [24]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if m, ok := strings.CutPrefix(f.Function, storeMethod); ok && m != "" && m[0] >= 'A' && m[0] <= 'Z' {
			if i := strings.IndexByte(m, '.'); i > 0 {
				m = m[:i] // a closure: CreateLicense.func1
			}
			return "store." + m
		}
		if !more {
			return "store.statement"
		}
	}
}

// verb is a statement's SQL keyword (db.operation.name): SELECT, INSERT,
// UPDATE, DELETE, WITH…
func verb(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	end := strings.IndexAny(q, " \t\r\n(")
	if end < 0 {
		end = len(q)
	}
	return strings.ToUpper(q[:end])
}
