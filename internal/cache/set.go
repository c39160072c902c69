package cache

import (
	"sync"

	"github.com/latchkey/latchkey/internal/core"
)

// member is what a Set needs of a cache, whatever its types.
type member interface {
	Invalidate(core.Change)
	InvalidateAll()
	Stats() Stats
	setBypass(on bool)
}

// Set holds a node's caches: one place that hands every change to every
// cache, that suspends them all while changes may be missed, and that lists
// their counters for the metrics.
type Set struct {
	mu      sync.Mutex
	members []member
	// suspended counts reasons to serve nothing from memory (a change
	// listener that is down). While it is not zero, Invalidate still runs
	// and every read misses.
	suspended int
}

// NewIn returns a cache registered with s (nil s: unregistered).
func NewIn[K comparable, V any](s *Set, cfg Config[K, V]) *Cache[K, V] {
	c := New(cfg)
	if s != nil {
		s.mu.Lock()
		s.members = append(s.members, c)
		if s.suspended > 0 {
			c.setBypass(true)
		}
		s.mu.Unlock()
	}
	return c
}

// Invalidate hands c to every cache of the set.
func (s *Set) Invalidate(c core.Change) {
	s.mu.Lock()
	members := s.members
	s.mu.Unlock()
	for _, m := range members {
		m.Invalidate(c)
	}
}

// Suspend makes every cache of the set drop what it holds and serve
// nothing until Resume: for a node that may be missing other nodes'
// changes. Suspensions nest.
func (s *Set) Suspend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspended++
	if s.suspended == 1 {
		for _, m := range s.members {
			m.setBypass(true)
			m.InvalidateAll()
		}
	}
}

// Resume ends one Suspend. The caches start empty: whatever was read while
// suspended is never served, since it may predate a change that was missed.
func (s *Set) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.suspended == 0 {
		return
	}
	s.suspended--
	if s.suspended == 0 {
		for _, m := range s.members {
			m.InvalidateAll()
			m.setBypass(false)
		}
	}
}

// Suspended reports whether the caches serve nothing.
func (s *Set) Suspended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.suspended > 0
}

// Stats returns the counters of every cache of the set.
func (s *Set) Stats() []Stats {
	s.mu.Lock()
	members := s.members
	s.mu.Unlock()
	out := make([]Stats, len(members))
	for i, m := range members {
		out[i] = m.Stats()
	}
	return out
}
