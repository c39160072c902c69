package postgres

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// Listener receives the changes other nodes publish, over a dedicated
// connection that LISTENs on store.ChangeChannel.
type Listener struct {
	url      string
	node     string
	log      *slog.Logger
	onChange func(core.Change)
	ready    chan struct{}
	once     sync.Once
	// listening is whether the connection listens now.
	listening atomic.Bool
	// Down and Up, when set, are called when the connection is lost and
	// when it listens again: a node that may be missing changes must not
	// serve from its caches in between (the caller suspends them).
	Down, Up func()
	// MaxBackoff caps the wait between reconnection attempts (10 s if 0).
	MaxBackoff time.Duration
	// Observe, when set, is called with every change after it was applied
	// (tests use it to know what a node has seen).
	Observe func(core.Change)
	// sleep waits before a reconnection; tests replace it.
	sleep func(ctx context.Context, d time.Duration) bool
}

// wait waits d, or until ctx ends (then it returns false).
func (l *Listener) wait(ctx context.Context, d time.Duration) bool {
	if l.sleep != nil {
		return l.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ApplicationName is the application_name of this listener's connection.
func (l *Listener) ApplicationName() string { return ApplicationName(l.node) }

// NewListener returns a listener that calls onChange for every change
// published by another node. After a (re)connection it calls onChange with
// core.ChangeAll, because notifications sent while it was away are lost.
func NewListener(url, node string, log *slog.Logger, onChange func(core.Change)) *Listener {
	return &Listener{url: url, node: node, log: log, onChange: onChange, ready: make(chan struct{})}
}

// ApplicationName is the PostgreSQL application_name of a node's listener
// connection.
func ApplicationName(node string) string { return "latchkey-listener-" + node }

// Ready is closed once the listener listens for the first time.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Listening reports whether the listener listens now: false before its
// first connection and while it has lost one (its node's caches are
// suspended then).
func (l *Listener) Listening() bool { return l.listening.Load() }

// firstBackoff is the first wait after a lost connection; it doubles on
// each failed attempt and starts over once a connection listened.
const firstBackoff = 100 * time.Millisecond

// Run listens until ctx ends, reconnecting with backoff.
func (l *Listener) Run(ctx context.Context) {
	maxBackoff := l.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = 10 * time.Second
	}
	backoff := firstBackoff
	for ctx.Err() == nil {
		listened, err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			// The connection was good: the next failure is a new outage,
			// not the continuation of this one.
			backoff = firstBackoff
			l.listening.Store(false)
			if l.Down != nil {
				l.Down()
			}
		}
		l.log.Warn("change listener disconnected; reconnecting", "err", err, "in", backoff)
		if !l.wait(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen holds one connection until it fails; listened reports whether
// it got as far as listening.
func (l *Listener) listen(ctx context.Context) (listened bool, err error) {
	cfg, err := pgx.ParseConfig(l.url)
	if err != nil {
		return false, err
	}
	// Named, so that an operator (or a test) can tell the listener's
	// connection in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = ApplicationName(l.node)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	// Closing a connection that already failed has nothing to report.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+store.ChangeChannel); err != nil {
		return false, err
	}
	// Whatever changed while no one listened is unknown: drop everything.
	l.onChange(core.Change{Kind: core.ChangeAll})
	if l.Up != nil {
		l.Up()
	}
	l.listening.Store(true)
	l.once.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		node, payload, ok := strings.Cut(n.Payload, "|")
		if !ok || node == l.node {
			continue
		}
		if c, ok := core.ParseChange(payload); ok {
			l.onChange(c)
			if l.Observe != nil {
				l.Observe(c)
			}
		}
	}
}
