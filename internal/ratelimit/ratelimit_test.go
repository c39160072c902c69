package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func TestFixedWindow(t *testing.T) {
	l := New()
	t0 := time.Date(2026, 1, 1, 10, 0, 15, 0, time.UTC)
	for i := range 3 {
		r := l.Allow(Key{Kind: "k", ID: 1}, 3, t0)
		if !r.Allowed || r.Remaining != 2-i || r.Limit != 3 || !r.Reset.Equal(t0.Truncate(time.Minute).Add(time.Minute)) {
			t.Fatalf("request %d: %+v", i+1, r)
		}
	}
	r := l.Allow(Key{Kind: "k", ID: 1}, 3, t0.Add(10*time.Second))
	if r.Allowed || r.Remaining != 0 || r.RetryAfter(t0.Add(10*time.Second)) != 35*time.Second {
		t.Fatalf("over the limit: %+v", r)
	}
	if !l.Allow(Key{Kind: "k", ID: 2}, 3, t0).Allowed {
		t.Fatal("keys share a window")
	}
	if r := l.Allow(Key{Kind: "k", ID: 1}, 3, t0.Add(45*time.Second)); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("next window: %+v", r)
	}
	// A lowered limit applies at once.
	if r := l.Allow(Key{Kind: "k", ID: 1}, 1, t0.Add(46*time.Second)); r.Allowed {
		t.Fatalf("lowered limit: %+v", r)
	}
}

func TestExactUnderConcurrency(t *testing.T) {
	l := New()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 16 {
		wg.Go(func() {
			for range 100 {
				if l.Allow(Key{Kind: "k", ID: 1}, 500, t0).Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 500 {
		t.Fatalf("allowed %d of 1600 with a limit of 500", allowed)
	}
}

func TestSweepForgetsEndedWindows(t *testing.T) {
	l := New()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := range 20000 {
		l.Allow(Key{Kind: "ip", ID: int64(i)}, 10, t0)
	}
	for i := range 20000 {
		l.Allow(Key{Kind: "ip", ID: int64(i)}, 10, t0.Add(2*time.Minute))
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].windows)
	}
	if n != 20000 {
		t.Fatalf("%d windows kept, want only the 20000 current ones", n)
	}
}

// Peek answers what Allow would, without counting, including in the
// window where a key has just used its last request.
func TestPeek(t *testing.T) {
	l := New()
	t0 := time.Date(2026, 1, 1, 10, 0, 15, 0, time.UTC)
	k, other := Key{Kind: "ip", ID: 1}, Key{Kind: "ip", ID: 2}
	for i := range 3 {
		if r := l.Peek(k, 3, t0); !r.Allowed {
			t.Fatalf("peek before request %d: %+v", i+1, r)
		}
		l.Allow(k, 3, t0)
	}
	if r := l.Peek(k, 3, t0); r.Allowed || r.Remaining != 0 || !r.Reset.Equal(t0.Truncate(time.Minute).Add(time.Minute)) {
		t.Fatalf("peek with the budget spent: %+v", r)
	}
	if r := l.Peek(other, 3, t0); !r.Allowed {
		t.Fatalf("another key: %+v", r)
	}
	if r := l.Peek(k, 3, t0.Add(time.Minute)); !r.Allowed {
		t.Fatalf("next window: %+v", r)
	}
	// Peeking counts nothing.
	for range 10 {
		l.Peek(other, 1, t0)
	}
	if r := l.Allow(other, 1, t0); !r.Allowed {
		t.Fatalf("peeks were counted: %+v", r)
	}
}
