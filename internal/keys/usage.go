package keys

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// UsageStore is where aggregated uses go.
type UsageStore interface {
	RecordKeyUses(ctx context.Context, uses []core.KeyUse) error
}

// Usage counts uses of API keys in memory and writes them in batches, so
// that authenticating a request never waits on a database write (and many
// requests cost one row update per flush instead of one each).
type Usage struct {
	shards [shards]usageShard
}

// shards splits the counters so that concurrent requests rarely share a lock.
const shards = 64

type usageShard struct {
	mu      sync.Mutex
	pending map[usageKey]*usageCount
}

type usageKey struct {
	keyID int64
	day   int64 // days since the Unix epoch, UTC: formatted only at flush
}

func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

func dayString(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

type usageCount struct {
	last  time.Time
	ip    netip.Addr
	count int64
}

// NewUsage returns an empty tracker.
func NewUsage() *Usage {
	u := &Usage{}
	for i := range u.shards {
		u.shards[i].pending = make(map[usageKey]*usageCount)
	}
	return u
}

// Record notes one use of a key at now from ip.
func (u *Usage) Record(keyID int64, ip netip.Addr, now time.Time) {
	k := usageKey{keyID: keyID, day: dayOf(now)}
	sh := &u.shards[uint64(keyID)%shards]
	sh.mu.Lock()
	c := sh.pending[k]
	if c == nil {
		c = &usageCount{}
		sh.pending[k] = c
	}
	c.count++
	if now.After(c.last) {
		c.last, c.ip = now, ip
	}
	sh.mu.Unlock()
}

// Pending returns what this node counted for a key and has not flushed:
// the latest use and the counts per day.
func (u *Usage) Pending(keyID int64) (last time.Time, ip netip.Addr, days map[string]int64) {
	sh := &u.shards[uint64(keyID)%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for k, c := range sh.pending {
		if k.keyID != keyID {
			continue
		}
		if days == nil {
			days = map[string]int64{}
		}
		days[dayString(k.day)] += c.count
		if c.last.After(last) {
			last, ip = c.last, c.ip
		}
	}
	return last, ip, days
}

// Flush writes everything counted so far. What fails to write is merged
// back, so a flush after a database outage still counts it.
func (u *Usage) Flush(ctx context.Context, st UsageStore) error {
	var batch []core.KeyUse
	taken := make([]map[usageKey]*usageCount, shards)
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		if len(sh.pending) > 0 {
			taken[i] = sh.pending
			sh.pending = make(map[usageKey]*usageCount)
		}
		sh.mu.Unlock()
		for k, c := range taken[i] {
			batch = append(batch, core.KeyUse{KeyID: k.keyID, Day: dayString(k.day), Count: c.count, LastUsedAt: c.last, LastUsedIP: c.ip.String()})
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if err := st.RecordKeyUses(ctx, batch); err != nil {
		for i, m := range taken {
			sh := &u.shards[i]
			sh.mu.Lock()
			for k, c := range m {
				if cur := sh.pending[k]; cur != nil {
					cur.count += c.count
					if c.last.After(cur.last) {
						cur.last, cur.ip = c.last, c.ip
					}
				} else {
					sh.pending[k] = c
				}
			}
			sh.mu.Unlock()
		}
		return err
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more. Every flush
// runs under flush, not ctx: a flush is short and must not be cut off when
// the loop is told to stop (what it took from memory would be counted only
// on the retry), but it must end when flush does, at the shutdown
// deadline, so that a database that stopped answering cannot hold the
// process.
func (u *Usage) Run(ctx, flush context.Context, st UsageStore, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := u.Flush(flush, st); err != nil && onErr != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := u.Flush(flush, st); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
