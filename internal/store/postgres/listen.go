package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/core"
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
	// DB, when set, is the pool Barrier and the acknowledgements use to
	// notify and to find the other nodes' listeners.
	DB *sql.DB
	// BarrierTimeout bounds Barrier's wait (1 s if 0).
	BarrierTimeout time.Duration
	// acks maps a pending barrier's token to the channel its
	// acknowledgements arrive on.
	acks sync.Map
	// ackers bounds the acknowledgements in flight.
	ackers chan struct{}
	// scope names the installation's channel and listeners.
	scope scope
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
func (l *Listener) ApplicationName() string { return ApplicationName(l.node) + l.scope.suffix() }

// NewListener returns a listener that calls onChange for every change
// published by another node. After a (re)connection it calls onChange with
// core.ChangeAll, because notifications sent while it was away are lost.
func NewListener(url, node string, log *slog.Logger, onChange func(core.Change)) *Listener {
	return &Listener{url: url, node: node, log: log, onChange: onChange, ready: make(chan struct{}), ackers: make(chan struct{}, 64),
		scope: scopeOf(url)}
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
	cfg.RuntimeParams["application_name"] = l.ApplicationName()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	// Closing a connection that already failed has nothing to report.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+l.scope.channel()); err != nil {
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
		if l.control(ctx, node, payload) {
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

// Barriers. PostgreSQL delivers notifications in commit order, so when a
// node has received a barrier sent after a write committed, it has also
// received (and, the listener being sequential, applied) that write's
// changes. Barrier sends one and waits for every other node's listener to
// acknowledge it: then the write's revocations hold at every node on the
// very next request, not merely once the notifications arrive.
//
// Payloads: "<node>|barrier:<token>" and "<node>|ack:<origin>:<token>".
// Older nodes ignore both (they are not changes).

// Barrier waits until every other node whose listener is connected has
// applied the changes this node published before the call, or
// BarrierTimeout passes. A node whose listener is not connected needs no
// wait: its caches are suspended until it listens again and then dropped.
func (l *Listener) Barrier(ctx context.Context) {
	if l.DB == nil || !l.listening.Load() {
		return // without our own listener no acknowledgement could arrive
	}
	timeout := l.BarrierTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	peers, err := l.peers(ctx)
	if err != nil {
		l.log.WarnContext(ctx, "barrier: cannot list the other nodes' listeners; not waiting", "err", err)
		return
	}
	if len(peers) == 0 {
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	token := hex.EncodeToString(b[:])
	// Room for an acknowledgement from every peer and from nodes that
	// connected since the list was read, so that none is dropped.
	acks := make(chan string, len(peers)+16)
	l.acks.Store(token, acks)
	defer l.acks.Delete(token)
	if _, err := l.DB.ExecContext(ctx, `SELECT pg_notify($1, $2)`, l.scope.channel(), l.node+"|barrier:"+token); err != nil {
		l.log.WarnContext(ctx, "barrier: cannot notify the other nodes; not waiting", "err", err)
		return
	}
	for len(peers) > 0 {
		select {
		case node := <-acks:
			delete(peers, node)
		case <-ctx.Done():
			missing := make([]string, 0, len(peers))
			for n := range peers {
				missing = append(missing, n)
			}
			l.log.WarnContext(ctx, "barrier: nodes did not acknowledge in time", "nodes", missing, "timeout", timeout)
			return
		}
	}
}

// peers returns the other nodes whose listeners on this scope are
// connected now. All nodes connect as the same role, so pg_stat_activity
// shows them their application names.
func (l *Listener) peers(ctx context.Context) (map[string]bool, error) {
	rows, err := l.DB.QueryContext(ctx,
		`SELECT DISTINCT application_name FROM pg_stat_activity
		  WHERE datname = current_database() AND application_name LIKE 'latchkey-listener-%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		node, ok := strings.CutPrefix(name, ApplicationName(""))
		if !ok {
			continue
		}
		if sfx := l.scope.suffix(); sfx != "" {
			if node, ok = strings.CutSuffix(node, sfx); !ok {
				continue
			}
		}
		if node != l.node && !strings.Contains(node, "@") {
			out[node] = true
		}
	}
	return out, rows.Err()
}

// control handles a barrier or an acknowledgement from node; it reports
// whether payload was one.
func (l *Listener) control(ctx context.Context, node, payload string) bool {
	if token, ok := strings.CutPrefix(payload, "barrier:"); ok {
		if l.DB != nil {
			// Acknowledged off the listening loop, which must keep
			// reading (everything before the barrier is applied
			// already), by a bounded number of goroutines; past it, in
			// the loop, which slows the listener rather than grow.
			select {
			case l.ackers <- struct{}{}:
				go func() {
					defer func() { <-l.ackers }()
					l.ack(context.WithoutCancel(ctx), node, token)
				}()
			default:
				l.ack(ctx, node, token)
			}
		}
		return true
	}
	if rest, ok := strings.CutPrefix(payload, "ack:"); ok {
		origin, token, _ := strings.Cut(rest, ":")
		if origin == l.node {
			if ch, ok := l.acks.Load(token); ok {
				select {
				case ch.(chan string) <- node:
				default: // full only with more acknowledgements than nodes
				}
			}
		}
		return true
	}
	return false
}

func (l *Listener) ack(ctx context.Context, origin, token string) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := l.DB.ExecContext(ctx, `SELECT pg_notify($1, $2)`, l.scope.channel(), l.node+"|ack:"+origin+":"+token); err != nil {
		l.log.Warn("barrier: acknowledgement failed", "err", err)
	}
}
