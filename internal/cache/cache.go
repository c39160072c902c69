// Package cache is the one cache mechanism of a node. Every cache of the
// server (API-key records, license snapshots, projects, licenses,
// injectables, rendered reads) is a Cache: bounded by entries or by bytes,
// with an optional time-to-live, and invalidated by tag.
//
// An entry is stored with the changes that would make it stale (its tags,
// core.Change values such as "license 12" or "project 3", declared for every
// cached record in core/invalidation.go). Invalidate(c) makes every entry
// tagged c stale at once, without a scan: tags hash to stripes of sequence
// numbers, and an entry is served only while none of its stripes moved past
// the sequence number taken before it was loaded. So a read that raced an
// invalidation is never served, however the two interleave, and no lock is
// held across a load. A stripe shared by two tags costs a spurious miss,
// never a stale answer.
//
// Eviction is otter's (S3-FIFO): one-off keys (a flood of unknown
// credentials) pass through a small queue and leave it first, so they do not
// push the hot set out.
package cache

import (
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/internal/core"
)

// MaxTags is how many tags one entry may carry.
const MaxTags = 4

const (
	stripeBits = 12
	stripes    = 1 << stripeBits
)

// Config describes a cache. Exactly one of MaxEntries and MaxBytes is set;
// with MaxBytes, Weigh estimates an entry's size.
type Config[K comparable, V any] struct {
	// Name labels the cache's metrics ("api_key", "license", …).
	Name       string
	MaxEntries int
	MaxBytes   int
	Weigh      func(K, V) uint32
	// TTL, when set, is how long an entry is served after it was loaded,
	// as a safety net should a change notification be lost.
	TTL time.Duration
	// Now is the clock for TTLs; nil means time.Now.
	Now func() time.Time
}

// Cache is a bounded, invalidatable map. The zero value is not usable; use
// New, or NewIn to register it with a Set.
type Cache[K comparable, V any] struct {
	name string
	m    *otter.Cache[K, entry[V]]
	ttl  time.Duration
	now  func() time.Time

	// seq numbers invalidations. A stripe holds the sequence number of the
	// last invalidation of a tag that hashes to it; cleared that of the
	// last InvalidateAll.
	seq     atomic.Uint64
	cleared atomic.Uint64
	stripes [stripes]atomic.Uint64

	hits, misses, evictions atomic.Uint64
	// bypass, set by a suspended Set, makes Put store nothing.
	bypass atomic.Bool
}

type entry[V any] struct {
	val     V
	seq     uint64 // Begin's sequence number when the value was read
	expires int64  // unix nanoseconds; 0: no TTL
	n       uint8
	tags    [MaxTags]uint16 // stripe indices
}

// Ticket is taken before a value is read from the store and given to Put:
// it is what lets Put tell whether an invalidation raced the read.
type Ticket uint64

// New returns a cache.
func New[K comparable, V any](cfg Config[K, V]) *Cache[K, V] {
	c := &Cache[K, V]{name: cfg.Name, ttl: cfg.TTL, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	opts := &otter.Options[K, entry[V]]{
		// Counted under the entry's bucket lock, as otter's contract asks:
		// nothing here calls back into the cache.
		OnAtomicDeletion: func(e otter.DeletionEvent[K, entry[V]]) {
			if e.WasEvicted() {
				c.evictions.Add(1)
			}
		},
	}
	switch {
	case cfg.MaxBytes > 0:
		if cfg.Weigh == nil {
			panic("cache " + cfg.Name + ": MaxBytes needs Weigh")
		}
		opts.MaximumWeight = uint64(cfg.MaxBytes)
		opts.Weigher = func(k K, e entry[V]) uint32 { return cfg.Weigh(k, e.val) + entryOverhead }
	case cfg.MaxEntries > 0:
		opts.MaximumSize = cfg.MaxEntries
	default:
		panic("cache " + cfg.Name + ": no bound")
	}
	c.m = otter.Must(opts)
	return c
}

// entryOverhead approximates what otter and entry add to a value's weight.
const entryOverhead = 96

// Get returns the value stored for k if it is still fresh: not invalidated
// since it was read, and within its TTL.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	e, ok := c.m.GetIfPresent(k)
	if ok && c.fresh(&e) {
		c.hits.Add(1)
		return e.val, true
	}
	if ok {
		c.m.Invalidate(k) // stale: free it now rather than at eviction
	}
	c.misses.Add(1)
	var zero V
	return zero, false
}

func (c *Cache[K, V]) fresh(e *entry[V]) bool {
	if e.seq < c.cleared.Load() {
		return false
	}
	for _, s := range e.tags[:e.n] {
		if c.stripes[s].Load() > e.seq {
			return false
		}
	}
	return e.expires == 0 || c.now().UnixNano() < e.expires
}

// Begin returns the ticket for a read that may be stored with Put. Take it
// before reading the store.
func (c *Cache[K, V]) Begin() Ticket { return Ticket(c.seq.Load()) }

// Put stores v for k, tagged with the changes that make it stale, unless
// one of those changes was invalidated since t was taken: then the value
// may predate it and is dropped. It reports whether v was stored.
func (c *Cache[K, V]) Put(t Ticket, k K, v V, tags ...core.Change) bool {
	return c.PutFor(t, k, v, c.ttl, tags...)
}

// PutFor is Put with its own TTL (0: none), for entries that should live
// shorter than the rest, such as the memory of an unknown key.
func (c *Cache[K, V]) PutFor(t Ticket, k K, v V, ttl time.Duration, tags ...core.Change) bool {
	if len(tags) > MaxTags {
		panic("cache " + c.name + ": too many tags")
	}
	e := entry[V]{val: v, seq: uint64(t), n: uint8(len(tags))}
	for i, tag := range tags {
		e.tags[i] = stripeOf(tag)
	}
	if ttl > 0 {
		e.expires = c.now().Add(ttl).UnixNano()
	}
	if c.bypass.Load() || !c.fresh(&e) {
		return false
	}
	c.m.Set(k, e)
	return true
}

// Update replaces the value stored for k with f(old), keeping its ticket,
// tags and expiry, so an invalidation that made the old value stale makes
// the new one stale too. It does nothing when k holds no fresh value.
func (c *Cache[K, V]) Update(k K, f func(V) V) {
	c.m.ComputeIfPresent(k, func(old entry[V]) (entry[V], otter.ComputeOp) {
		if !c.fresh(&old) {
			return old, otter.InvalidateOp
		}
		old.val = f(old.val)
		return old, otter.WriteOp
	})
}

func (c *Cache[K, V]) setBypass(on bool) { c.bypass.Store(on) }

// Invalidate makes every entry tagged ch stale; core.ChangeAll makes every
// entry stale and frees them.
func (c *Cache[K, V]) Invalidate(ch core.Change) {
	if ch.Kind == core.ChangeAll {
		c.InvalidateAll()
		return
	}
	raise(&c.stripes[stripeOf(ch)], c.seq.Add(1))
}

// InvalidateAll makes every entry stale and frees them.
func (c *Cache[K, V]) InvalidateAll() {
	raise(&c.cleared, c.seq.Add(1))
	c.m.InvalidateAll()
}

// raise sets a to n unless it already holds more: concurrent invalidations
// may finish in any order, and a stripe must never move back.
func raise(a *atomic.Uint64, n uint64) {
	for {
		cur := a.Load()
		if cur >= n || a.CompareAndSwap(cur, n) {
			return
		}
	}
}

// stripeOf hashes a tag to its stripe (Fibonacci hashing of the fields).
func stripeOf(c core.Change) uint16 {
	h := uint64(c.ID)*0x9E3779B97F4A7C15 ^ uint64(c.ID2)*0xC2B2AE3D27D4EB4F ^ uint64(c.Kind)*0x165667B19E3779F9
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return uint16(h >> (64 - stripeBits))
}

// Stats is a snapshot of a cache's counters.
type Stats struct {
	Name                    string
	Hits, Misses, Evictions uint64
	Entries                 int
	Bytes                   uint64 // weighted caches only
}

// Stats returns the cache's counters. It first runs the maintenance otter
// otherwise runs a little behind writes, so that entries and bytes are
// within the bound; it is called at scrape time, not per request.
func (c *Cache[K, V]) Stats() Stats {
	c.m.CleanUp()
	s := Stats{Name: c.name, Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		Entries: c.m.EstimatedSize()}
	if c.m.IsWeighted() {
		s.Bytes = c.m.WeightedSize()
	}
	return s
}
