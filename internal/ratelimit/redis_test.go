package ratelimit

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
)

// node is one server's limiter on a shared Redis.
func node(t *testing.T, url, prefix string, log *slog.Logger) (*Limiter, *Redis) {
	t.Helper()
	// A generous timeout: these tests count on decisions reaching a live
	// Redis even on a busy machine (TestFallbackOnTimeout tests timeouts).
	r, err := NewRedis(RedisConfig{URL: url, Prefix: prefix, Logger: log, ProbeInterval: 10 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	l := New()
	l.UseRedis(r)
	return l, r
}

// syncBuffer is a log destination safe for the probe's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

var t0 = time.Date(2026, 1, 1, 10, 0, 15, 0, time.UTC)

// Two nodes on one Redis answer as one limiter: the count, the headers'
// values and the refusals are the cluster's, and a refused request is not
// counted.
func TestSharedWindow(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	a, _ := node(t, url, prefix, nil)
	b, _ := node(t, url, prefix, nil)
	k := Key{Kind: "k", ID: 1}
	reset := t0.Truncate(Window).Add(Window)
	steps := []struct {
		on        *Limiter
		at        time.Duration
		allowed   bool
		remaining int
	}{
		{a, 0, true, 2},
		{b, time.Second, true, 1},
		{a, 2 * time.Second, true, 0},
		{b, 3 * time.Second, false, 0},
		{a, 4 * time.Second, false, 0},
		{b, 5 * time.Second, false, 0},
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		r := s.on.Allow(k, 3, now)
		if r.Allowed != s.allowed || r.Remaining != s.remaining || r.Limit != 3 || !r.Reset.Equal(reset) {
			t.Fatalf("step %d: %+v", i+1, r)
		}
		if !r.Allowed && r.RetryAfter(now) != reset.Sub(now) {
			t.Fatalf("step %d: retry after %v", i+1, r.RetryAfter(now))
		}
	}
	// The three refusals were not counted: with a limit raised to 4 the
	// window has exactly one request left.
	if r := b.Allow(k, 4, t0.Add(6*time.Second)); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("refused requests were counted: %+v", r)
	}
	// Another key, and the next window, start afresh.
	if r := a.Allow(Key{Kind: "k", ID: 2}, 3, t0); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("another key: %+v", r)
	}
	if r := b.Allow(k, 3, t0.Add(Window)); !r.Allowed || r.Remaining != 2 || !r.Reset.Equal(reset.Add(Window)) {
		t.Fatalf("next window: %+v", r)
	}
	// Kinds and addresses are part of the key.
	ip := Key{Kind: "ip", Addr: netip.MustParseAddr("192.0.2.1")}
	a.Allow(ip, 1, t0)
	if r := b.Allow(Key{Kind: "ip", Addr: netip.MustParseAddr("192.0.2.2")}, 1, t0); !r.Allowed {
		t.Fatalf("addresses share a window: %+v", r)
	}
	if r := b.Allow(Key{Kind: "login-ip", Addr: ip.Addr}, 1, t0); !r.Allowed {
		t.Fatalf("kinds share a window: %+v", r)
	}
	if r := b.Allow(ip, 1, t0); r.Allowed {
		t.Fatalf("one address on two nodes: %+v", r)
	}
}

// Under concurrency on two nodes, exactly the limit passes.
func TestSharedExactUnderConcurrency(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	a, ra := node(t, url, prefix, nil)
	b, rb := node(t, url, prefix, nil)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range 50 {
				if l.Allow(Key{Kind: "k", ID: 7}, 300, t0).Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 300 {
		t.Fatalf("allowed %d of 800 with a limit of 300 on two nodes", n)
	}
	if sa, sb := ra.Stats(), rb.Stats(); sa.Shared+sb.Shared != 800 || sa.Fallback+sb.Fallback != 0 || !sa.Up {
		t.Fatalf("stats %+v %+v", sa, sb)
	}
}

// Peek asks no Redis: a key is refused on a node once an Allow there found
// it spent.
func TestSharedPeek(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	a, _ := node(t, url, prefix, nil)
	b, _ := node(t, url, prefix, nil)
	k := Key{Kind: "ip", Addr: netip.MustParseAddr("198.51.100.7")}
	a.Allow(k, 2, t0)
	a.Allow(k, 2, t0)
	if r := a.Peek(k, 2, t0); r.Allowed || r.Remaining != 0 {
		t.Fatalf("peek on the node that spent the key: %+v", r)
	}
	if r := b.Peek(k, 2, t0); !r.Allowed {
		t.Fatalf("peek on a node that never saw the key: %+v", r)
	}
	if r := b.Allow(k, 2, t0); r.Allowed {
		t.Fatalf("allow on the other node: %+v", r)
	}
	if r := b.Peek(k, 2, t0); r.Allowed {
		t.Fatalf("peek after the refusal: %+v", r)
	}
	if r := b.Peek(k, 2, t0.Add(Window)); !r.Allowed {
		t.Fatalf("peek in the next window: %+v", r)
	}
}

// Redis stopped: every decision is made at once on the node, with its
// share of the limit; the outage is logged and counted once; Redis back,
// the limits are shared again.
func TestFallbackAndRecovery(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	prefix := redistest.Prefix(t)
	a, ra := node(t, srv.URL(), prefix, log)
	b, rb := node(t, srv.URL(), prefix, log)
	for _, l := range []*Limiter{a, b} {
		l.SetLiveNodes(3) // a third node is alive but idle
	}
	k := Key{Kind: "k", ID: 1}
	if r := a.Allow(k, 30, t0); !r.Allowed || r.Remaining != 29 {
		t.Fatalf("shared: %+v", r)
	}

	srv.Stop()
	// 30 ÷ 3 nodes = 10 each, counted from zero on each node.
	for _, l := range []*Limiter{a, b} {
		allowed := 0
		for i := range 15 {
			r := l.Allow(k, 30, t0.Add(time.Second))
			if r.Limit != 30 {
				t.Fatalf("request %d: limit %d, want the configured 30", i+1, r.Limit)
			}
			if r.Allowed {
				allowed++
				if r.Remaining != 10-allowed {
					t.Fatalf("request %d: %+v", i+1, r)
				}
			}
		}
		if allowed != 10 {
			t.Fatalf("fallback allowed %d of 15, want 10", allowed)
		}
		if r := l.Peek(k, 30, t0.Add(time.Second)); r.Allowed {
			t.Fatalf("peek over the share: %+v", r)
		}
	}
	for _, r := range []*Redis{ra, rb} {
		if s := r.Stats(); s.Up || s.Outages != 1 || s.Fallback < 15 {
			t.Fatalf("stats during the outage: %+v", s)
		}
	}
	if n := logs.count("Redis is unreachable"); n != 2 {
		t.Fatalf("the outage was logged %d times by two nodes, want once each:\n%s", n, logs.b.String())
	}
	// Rounding up keeps a small limit usable.
	a.SetLiveNodes(4)
	if r := a.Allow(Key{Kind: "l", ID: 9}, 2, t0); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("limit 2 over 4 nodes: %+v", r)
	}

	srv.Start()
	// The background probe notices within its interval.
	deadline := time.Now().Add(10 * time.Second)
	for !ra.Up() || !rb.Up() {
		if time.Now().After(deadline) {
			t.Fatal("the limiters did not notice Redis was back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := logs.count("Redis answers again"); n != 2 {
		t.Fatalf("recovery logged %d times, want once per node", n)
	}
	// Shared again (the restarted Redis kept nothing: no persistence is
	// needed, a lost window only forgets its counts).
	k2 := Key{Kind: "k", ID: 2}
	for i := range 4 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if r := l.Allow(k2, 3, t0.Add(2*time.Second)); r.Allowed != (i < 3) {
			t.Fatalf("after recovery, request %d: %+v", i+1, r)
		}
	}
	if s := ra.Stats(); s.Outages != 1 || !s.Up {
		t.Fatalf("stats after recovery: %+v", s)
	}
}

// A Redis that accepts connections but never answers costs a request the
// timeout, once: then the node decides locally without asking.
func TestFallbackOnTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	r, err := NewRedis(RedisConfig{URL: "redis://" + ln.Addr().String(), Timeout: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), ProbeInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	l := New()
	l.UseRedis(r)
	start := time.Now()
	if res := l.Allow(Key{Kind: "k", ID: 1}, 5, t0); !res.Allowed {
		t.Fatalf("first request: %+v", res)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a silent Redis held the request for %v", d)
	}
	if r.Up() {
		t.Fatal("still up after a timeout")
	}
	for range 4 {
		l.Allow(Key{Kind: "k", ID: 1}, 5, t0)
	}
	if res := l.Allow(Key{Kind: "k", ID: 1}, 5, t0); res.Allowed {
		t.Fatalf("fallback over the limit: %+v", res)
	}
	if s := r.Stats(); s.Outages != 1 || s.Shared != 0 || s.Fallback != 6 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNewRedisRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/x", "redis://h:1/0?nosuch=1"} {
		if _, err := NewRedis(RedisConfig{URL: u}); err == nil {
			t.Errorf("NewRedis(%q) accepted it", u)
		}
	}
	r, err := NewRedis(RedisConfig{URL: "rediss://user:pw@127.0.0.1:6380/2"})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
}
