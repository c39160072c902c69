package cache_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func license(id int64) core.Change { return core.Change{Kind: core.ChangeLicense, ID: id} }
func project(id int64) core.Change { return core.Change{Kind: core.ChangeProject, ID: id} }
func membership(org, user int64) core.Change {
	return core.Change{Kind: core.ChangeMembership, ID: org, ID2: user}
}

func newCache(t *testing.T, c *clock, ttl time.Duration) *cache.Cache[int, string] {
	t.Helper()
	return cache.New(cache.Config[int, string]{Name: "test", MaxEntries: 1000, TTL: ttl, Now: c.now})
}

func mustGet(t *testing.T, c *cache.Cache[int, string], k int, want string, wantOK bool) {
	t.Helper()
	got, ok := c.Get(k)
	if ok != wantOK || got != want {
		t.Fatalf("Get(%d) = %q, %v; want %q, %v", k, got, ok, want, wantOK)
	}
}

func TestInvalidateByTag(t *testing.T) {
	tests := []struct {
		name  string
		tags  []core.Change
		inval core.Change
		drops bool
	}{
		{"its license", []core.Change{license(1), project(7)}, license(1), true},
		{"its project", []core.Change{license(1), project(7)}, project(7), true},
		{"another license", []core.Change{license(1), project(7)}, license(2), false},
		{"same ID, other kind", []core.Change{license(1)}, project(1), false},
		{"both IDs of a membership", []core.Change{membership(3, 4)}, membership(3, 4), true},
		{"another member", []core.Change{membership(3, 4)}, membership(3, 5), false},
		{"swapped IDs", []core.Change{membership(3, 4)}, membership(4, 3), false},
		{"untagged entry, tag change", nil, license(1), false},
		{"everything", []core.Change{license(1)}, core.Change{Kind: core.ChangeAll}, true},
		{"untagged entry, everything", nil, core.Change{Kind: core.ChangeAll}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(t, newClock(), 0)
			if !c.Put(c.Begin(), 1, "v", tc.tags...) {
				t.Fatal("not stored")
			}
			c.Invalidate(tc.inval)
			mustGet(t, c, 1, map[bool]string{false: "v"}[tc.drops], !tc.drops)
			// What is stored after the invalidation is fresh.
			c.Put(c.Begin(), 1, "w", tc.tags...)
			mustGet(t, c, 1, "w", true)
		})
	}
}

// A value read before an invalidation of one of its tags is never served,
// whether it is stored after the invalidation or before it.
func TestReadThatRacedAnInvalidationIsNeverServed(t *testing.T) {
	c := newCache(t, newClock(), 0)
	tk := c.Begin()
	c.Invalidate(license(1)) // the write committed while the read ran
	if c.Put(tk, 1, "stale", license(1)) {
		t.Fatal("a raced read was stored")
	}
	mustGet(t, c, 1, "", false)

	tk = c.Begin()
	c.Put(tk, 2, "stale", license(2), project(9))
	c.Invalidate(project(9))
	mustGet(t, c, 2, "", false)

	// An unrelated invalidation does not stop a read from being kept.
	tk = c.Begin()
	c.Invalidate(license(3))
	if !c.Put(tk, 4, "fresh", license(4)) {
		t.Fatal("an unrelated invalidation dropped a read")
	}
	mustGet(t, c, 4, "fresh", true)

	// InvalidateAll also fences reads in flight.
	tk = c.Begin()
	c.InvalidateAll()
	c.Put(tk, 5, "stale")
	mustGet(t, c, 5, "", false)
}

// Many readers load versions of one record while a writer changes it: once
// an invalidation has returned, no reader may get an older version.
func TestNoStaleReadUnderConcurrency(t *testing.T) {
	c := cache.New(cache.Config[int, int64]{Name: "race", MaxEntries: 100})
	var version atomic.Int64 // the "database"
	get := func() int64 {
		if v, ok := c.Get(1); ok {
			return v
		}
		tk := c.Begin()
		v := version.Load()
		c.Put(tk, 1, v, license(1))
		return v
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					get()
				}
			}
		})
	}
	for i := range 2000 {
		version.Store(int64(i + 1)) // commit
		c.Invalidate(license(1))    // then invalidate
		if v := get(); v < int64(i+1) {
			close(stop)
			wg.Wait()
			t.Fatalf("after write %d a read returned version %d", i+1, v)
		}
	}
	close(stop)
	wg.Wait()
}

func TestTTL(t *testing.T) {
	clk := newClock()
	c := newCache(t, clk, time.Minute)
	c.Put(c.Begin(), 1, "default")
	c.PutFor(c.Begin(), 2, "short", 10*time.Second)
	c.PutFor(c.Begin(), 3, "forever", 0)
	clk.advance(10 * time.Second)
	mustGet(t, c, 1, "default", true)
	mustGet(t, c, 2, "", false)
	clk.advance(50 * time.Second)
	mustGet(t, c, 1, "", false)
	mustGet(t, c, 3, "forever", true)
}

func TestUpdateKeepsStaleness(t *testing.T) {
	c := newCache(t, newClock(), 0)
	c.Put(c.Begin(), 1, "a", license(1))
	c.Update(1, func(s string) string { return s + "b" })
	mustGet(t, c, 1, "ab", true)
	tk := c.Begin()
	c.Put(tk, 2, "x", license(2))
	c.Invalidate(license(2))
	c.Update(2, func(s string) string { return s + "y" })
	mustGet(t, c, 2, "", false)
	c.Update(3, func(s string) string { return "never" })
	mustGet(t, c, 3, "", false)
}

func TestBounds(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		c := cache.New(cache.Config[int, int]{Name: "n", MaxEntries: 1000})
		for i := range 100_000 {
			c.Put(c.Begin(), i, i)
		}
		if n := c.Stats().Entries; n > 1000 {
			t.Fatalf("%d entries held, bound 1000", n)
		}
		if s := c.Stats(); s.Evictions < 98_000 {
			t.Fatalf("evictions = %d", s.Evictions)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := cache.New(cache.Config[int, []byte]{Name: "b", MaxBytes: 1 << 20, Weigh: func(_ int, v []byte) uint32 { return uint32(len(v)) }})
		for i := range 10_000 {
			c.Put(c.Begin(), i, make([]byte, 1024))
		}
		if s := c.Stats(); s.Bytes > 1<<20 {
			t.Fatalf("%d bytes held, bound %d", s.Bytes, 1<<20)
		}
	})
	t.Run("hot set survives a flood of one-off keys", func(t *testing.T) {
		// A thousand keys in use while a client sends 200,000 it never
		// sends again: the hot set stays (TinyLFU admission).
		c := cache.New(cache.Config[int, int]{Name: "flood", MaxEntries: 10_000})
		misses, reads := 0, 0
		for i := range 200_000 {
			if i%5 == 0 {
				k := (i / 5) % 1000
				reads++
				if _, ok := c.Get(k); !ok {
					misses++
					c.Put(c.Begin(), k, k)
				}
			}
			c.Put(c.Begin(), 1_000_000+i, i)
		}
		if misses > reads/20 {
			t.Fatalf("%d of %d reads of the hot set missed during the flood", misses, reads)
		}
	})
}

func TestStats(t *testing.T) {
	c := newCache(t, newClock(), 0)
	c.Get(1)
	c.Put(c.Begin(), 1, "v")
	c.Get(1)
	c.Get(1)
	s := c.Stats()
	if s.Name != "test" || s.Hits != 2 || s.Misses != 1 || s.Entries != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestSetSuspend(t *testing.T) {
	set := &cache.Set{}
	c := cache.NewIn(set, cache.Config[int, string]{Name: "a", MaxEntries: 10})
	d := cache.NewIn(set, cache.Config[int, string]{Name: "b", MaxEntries: 10})
	c.Put(c.Begin(), 1, "before")
	set.Invalidate(project(1))
	d.Put(d.Begin(), 1, "d", project(1))
	set.Invalidate(project(1))
	mustGet(t, d, 1, "", false)

	set.Suspend()
	mustGet(t, c, 1, "", false) // dropped
	inFlight := c.Begin()
	if c.Put(c.Begin(), 2, "during") {
		t.Fatal("stored while suspended")
	}
	mustGet(t, c, 2, "", false)
	set.Suspend() // nested
	set.Resume()
	if !set.Suspended() {
		t.Fatal("one Resume ended two Suspends")
	}
	set.Resume()
	if set.Suspended() {
		t.Fatal("still suspended")
	}
	// A read that started while suspended may predate a missed change.
	if c.Put(inFlight, 3, "read while suspended") {
		t.Fatal("a read from the suspension was stored after it")
	}
	if !c.Put(c.Begin(), 4, "after") {
		t.Fatal("not stored after Resume")
	}
	if got := len(set.Stats()); got != 2 {
		t.Fatalf("%d caches in the set", got)
	}
	// A cache created while the set is suspended starts suspended.
	set.Suspend()
	e := cache.NewIn(set, cache.Config[int, string]{Name: "late", MaxEntries: 10})
	if e.Put(e.Begin(), 1, "x") {
		t.Fatal("a late cache stored while suspended")
	}
	set.Resume()
}
