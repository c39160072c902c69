package postgres

import (
	"context"
	"log/slog"
	"strings"
	"sync"
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
}

// NewListener returns a listener that calls onChange for every change
// published by another node. After a (re)connection it calls onChange with
// core.ChangeAll, because notifications sent while it was away are lost.
func NewListener(url, node string, log *slog.Logger, onChange func(core.Change)) *Listener {
	return &Listener{url: url, node: node, log: log, onChange: onChange, ready: make(chan struct{})}
}

// Ready is closed once the listener listens for the first time.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Run listens until ctx ends, reconnecting with backoff.
func (l *Listener) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("change listener disconnected; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+store.ChangeChannel); err != nil {
		return err
	}
	// Whatever changed while no one listened is unknown: drop everything.
	l.onChange(core.Change{Kind: core.ChangeAll})
	l.once.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		node, payload, ok := strings.Cut(n.Payload, "|")
		if !ok || node == l.node {
			continue
		}
		if c, ok := core.ParseChange(payload); ok {
			l.onChange(c)
		}
	}
}
