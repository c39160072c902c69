// Package ratelimit counts requests in fixed one-minute windows per key
// (an API key, a license, a client IP). Fixed windows make the
// X-RateLimit-* headers exact and cheap: the limit, what is left in the
// current minute, and when it ends.
//
// A Limiter counts in memory, for one node. Given a shared backend
// (UseRedis), it counts in Redis instead, so that every node of a cluster
// enforces one limit together; when Redis is unreachable it falls back to
// counting in memory with each limit divided by the number of live nodes
// (SetLiveNodes).
package ratelimit

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Window is the length of a counting window.
const Window = time.Minute

// Result is the outcome of one Allow.
type Result struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time // when the current window ends
}

// RetryAfter returns how long to wait before the next request may pass.
func (r Result) RetryAfter(now time.Time) time.Duration {
	if d := r.Reset.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Key names what is counted: Kind says what ID or Addr is ("k" an API
// key, "l" a license, "ip" a client address). A comparable struct, not a
// formatted string, so that counting allocates nothing.
type Key struct {
	Kind string
	ID   int64
	Addr netip.Addr
}

// Limiter is an in-memory fixed-window counter, safe for concurrent use.
type Limiter struct {
	seed   maphash.Seed
	shards [64]shard
	// full is when the latest window in which some key reached its limit
	// ends (unix nanoseconds): until then Peek must look; after it, no key
	// can be over its limit and Peek answers without a lock.
	full atomic.Int64

	// shared, when set, decides in Redis; nodes is how many nodes share
	// the limits, for the local fallback.
	shared *Redis
	nodes  atomic.Int64
	// refused counts refusals by kind (rejections.go).
	refused rejections
}

type shard struct {
	mu      sync.Mutex
	windows map[Key]*window
	calls   int
}

type window struct {
	start time.Time
	count int
}

// New returns an empty limiter.
func New() *Limiter {
	l := &Limiter{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].windows = make(map[Key]*window)
	}
	l.nodes.Store(1)
	return l
}

// UseRedis makes the limits cluster-wide, counted in r. Call it before
// the limiter is used.
func (l *Limiter) UseRedis(r *Redis) { l.shared = r }

// SetLiveNodes records how many nodes share the limits (at least 1): while
// Redis is unreachable each allows its share of every limit.
func (l *Limiter) SetLiveNodes(n int) { l.nodes.Store(int64(max(n, 1))) }

// LiveNodes returns what SetLiveNodes recorded.
func (l *Limiter) LiveNodes() int { return int(l.nodes.Load()) }

// share is a node's part of limit while Redis is down: rounded up, so that
// the nodes together allow at least the limit (at most nodes-1 more) and
// a limit smaller than the cluster still lets requests through.
func (l *Limiter) share(limit int) int {
	n := int(l.nodes.Load())
	return max((limit+n-1)/n, 1)
}

// Allow counts one request for key against limit requests per window and
// reports whether it may pass. A request over the limit is not counted.
//
// With Redis the decision is the cluster's; without it (or while it is
// unreachable) this node's, against its share of limit. Either way the
// result reports limit itself as the limit.
func (l *Limiter) Allow(key Key, limit int, now time.Time) Result {
	return l.refused.count(key.Kind, l.allow(key, limit, now))
}

func (l *Limiter) allow(key Key, limit int, now time.Time) Result {
	if l.shared == nil {
		return l.allowLocal(key, limit, now)
	}
	start := now.Truncate(Window)
	count, allowed, ok := l.shared.allow(key, limit, now, start)
	if !ok {
		r := l.allowLocal(key, l.share(limit), now)
		r.Limit = limit
		return r
	}
	r := Result{Allowed: allowed, Limit: limit, Reset: start.Add(Window), Remaining: max(limit-count, 0)}
	if r.Remaining == 0 {
		// Remember locally that the key is spent, so that Peek, which
		// never asks Redis, refuses it here for the rest of the window.
		l.spent(key, start, limit)
	}
	return r
}

// spent records that key used up limit in the window starting at start.
func (l *Limiter) spent(key Key, start time.Time, limit int) {
	sh := &l.shards[maphash.Comparable(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	sh.calls++
	if sh.calls%4096 == 0 {
		sh.sweep(start)
	}
	w := sh.windows[key]
	if w == nil {
		w = &window{start: start}
		sh.windows[key] = w
	} else if !w.start.Equal(start) {
		w.start, w.count = start, 0
	}
	w.count = max(w.count, limit)
	sh.mu.Unlock()
	l.markFull(start.Add(Window))
}

func (l *Limiter) allowLocal(key Key, limit int, now time.Time) Result {
	start := now.Truncate(Window)
	sh := &l.shards[maphash.Comparable(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.calls++
	if sh.calls%4096 == 0 {
		sh.sweep(start)
	}
	w := sh.windows[key]
	if w == nil {
		w = &window{start: start}
		sh.windows[key] = w
	} else if !w.start.Equal(start) {
		w.start, w.count = start, 0
	}
	r := Result{Limit: limit, Reset: start.Add(Window)}
	if w.count >= limit {
		return r
	}
	w.count++
	r.Allowed = true
	r.Remaining = limit - w.count
	if r.Remaining == 0 {
		l.markFull(r.Reset)
	}
	return r
}

// markFull records that some key reached its limit in the window ending
// at end.
func (l *Limiter) markFull(end time.Time) {
	n := end.UnixNano()
	for {
		cur := l.full.Load()
		if cur >= n || l.full.CompareAndSwap(cur, n) {
			return
		}
	}
}

// sweep drops windows that ended, so that one-off clients (many IPs) do not
// grow the map forever.
func (s *shard) sweep(current time.Time) {
	for k, w := range s.windows {
		if w.start.Before(current) {
			delete(s.windows, k)
		}
	}
}

// Peek reports what Allow would answer for key now, without counting a
// request: for a check made before any work, whose request is counted only
// if it turns out to fail.
//
// With Redis, Peek answers from what this node knows, without a round
// trip: a key is refused once an Allow on this node found it spent. A key
// spent on other nodes passes Peek here until this node's next Allow for
// it, which Redis refuses: one request per node and window, at most.
func (l *Limiter) Peek(key Key, limit int, now time.Time) Result {
	return l.refused.count(key.Kind, l.peek(key, limit, now))
}

func (l *Limiter) peek(key Key, limit int, now time.Time) Result {
	if l.shared != nil && !l.shared.Up() {
		r := l.peekLocal(key, l.share(limit), now)
		r.Limit = limit
		return r
	}
	return l.peekLocal(key, limit, now)
}

func (l *Limiter) peekLocal(key Key, limit int, now time.Time) Result {
	start := now.Truncate(Window)
	r := Result{Limit: limit, Reset: start.Add(Window), Remaining: limit}
	if now.UnixNano() >= l.full.Load() {
		// No key has reached its limit in this window: the common case
		// costs one atomic load, not a hash and a lock.
		r.Allowed = true
		return r
	}
	sh := &l.shards[maphash.Comparable(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	if w := sh.windows[key]; w != nil && w.start.Equal(start) {
		r.Remaining = max(limit-w.count, 0)
	}
	sh.mu.Unlock()
	r.Allowed = r.Remaining > 0
	return r
}
