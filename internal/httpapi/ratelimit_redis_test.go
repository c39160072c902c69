package httpapi_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
	"github.com/latchkey/latchkey/internal/service"
)

// withRedis shares a node's limits in the Redis at url, under a prefix of
// the test's own.
func withRedis(url, prefix string) apptest.Option {
	return func(c *config.Config) {
		c.RedisURL, c.RedisKeyPrefix = url, prefix
		// Generous: on a busy test machine 100 ms is sometimes exceeded,
		// and these tests count on every decision reaching Redis.
		c.RedisTimeout = 5 * time.Second
		c.LicenseRateLimit, c.IPRateLimit = 3, 3
	}
}

// twoNodes starts a runtime fixture and a peer on one PostgreSQL sharing
// limits in the Redis at url, their clocks at the same second of a minute.
func twoNodes(t *testing.T, url string) (*runtime, *runtime) {
	t.Helper()
	b := postgresOnly(t)
	prefix := redistest.Prefix(t)
	a := newRuntime(t, b, withRedis(url, prefix))
	peer := *a
	peer.n = a.n.Peer(t, withRedis(url, prefix), func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	at := a.n.Clock.Now().Truncate(time.Minute).Add(10 * time.Second)
	a.n.Clock.Set(at)
	peer.n.Clock.Set(at)
	return a, &peer
}

// metric returns the value of the sample named by series in n's /metrics.
func metric(t *testing.T, n *apptest.Node, series string) float64 {
	t.Helper()
	r := n.Do(t, "GET", "/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no %s in /metrics", series)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// With --redis-url, every limit is the cluster's: two nodes together
// admit the limit once, with the headers a single node would send.
func TestSharedRateLimitsAcrossNodes(t *testing.T) {
	a, b := twoNodes(t, redistest.URL(t))
	_, secret := a.n.CreateKey(t, a.owner, service.KeyInput{RateLimit: 4})
	b.n.Sync(t, a.n)
	reset := strconv.FormatInt(a.n.Clock.Now().Truncate(time.Minute).Add(time.Minute).Unix(), 10)
	nodes := []*apptest.Node{a.n, b.n}

	// Per API key.
	for i := range 4 {
		r := nodes[i%2].Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
		wantStatus(t, r, 200)
		if r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(3-i) || r.Header.Get("X-RateLimit-Limit") != "4" || r.Header.Get("X-RateLimit-Reset") != reset {
			t.Fatalf("request %d: headers %v", i+1, r.Header)
		}
	}
	for _, n := range nodes {
		r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
		wantStatus(t, r, 429, "Too Many Attempts.")
		if r.Header.Get("Retry-After") != "50" || r.Header.Get("X-RateLimit-Remaining") != "0" || r.Header.Get("X-RateLimit-Reset") != reset {
			t.Fatalf("429 headers: %v", r.Header)
		}
	}

	// Per license (runtime validations).
	c := check{license: "basic", domain: "shop.example.com"}
	for i, rt := range []*runtime{a, b, a} {
		if r := rt.devpayr(t, c); r.Status != 200 {
			t.Fatalf("validation %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := b.devpayr(t, c); r.Status != 429 || r.Header.Get("X-RateLimit-Limit") != "3" {
		t.Fatalf("over the license limit on the other node: %d %v", r.Status, r.Header)
	}

	// Per client IP: failures on either node spend one budget.
	for _, rt := range []*runtime{a, b, a} {
		if r := rt.devpayr(t, check{license: "unknown", domain: "x.example.com", client: "203.0.113.9"}); r.Status != 404 {
			t.Fatalf("unknown license: %d", r.Status)
		}
	}
	for _, rt := range []*runtime{b, a} {
		if r := rt.devpayr(t, check{license: "unknown", domain: "x.example.com", client: "203.0.113.9"}); r.Status != 429 {
			t.Fatalf("guessing across nodes is not throttled: %d", r.Status)
		}
		// Once refused there, a valid credential from the address is too.
		if r := rt.devpayr(t, check{license: "pinned", domain: "shop.example.com", client: "203.0.113.9"}); r.Status != 429 {
			t.Fatalf("a spent address with a valid license: %d", r.Status)
		}
	}

	if v := metric(t, a.n, "latchkey_ratelimit_redis_up"); v != 1 {
		t.Fatalf("redis_up = %v", v)
	}
	if v := metric(t, a.n, `latchkey_ratelimit_decisions_total{backend="redis"}`); v < 6 {
		t.Fatalf("decisions on redis = %v", v)
	}
	if r := a.n.Do(t, "GET", "/readyz", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"redis":"up"`) {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
}

// Redis stopped: no request fails; each node allows its share of every
// limit (the limit ÷ the live nodes of the heartbeat table) with the
// configured limit in its headers; the outage shows in /metrics and
// /readyz; Redis back, the limits are shared again.
func TestRateLimitsWhenRedisStops(t *testing.T) {
	srv := redistest.Start(t)
	a, b := twoNodes(t, srv.URL())
	ctx := context.Background()
	nodes := []*apptest.Node{a.n, b.n}
	for _, n := range nodes {
		if err := n.Stack.Beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		if err := n.Stack.Beat(ctx); err != nil { // the first beat may have counted itself alone
			t.Fatal(err)
		}
		if got := n.Stack.Limiter.LiveNodes(); got != 2 {
			t.Fatalf("live nodes = %d, want 2", got)
		}
	}
	_, secret := a.n.CreateKey(t, a.owner, service.KeyInput{RateLimit: 4})
	b.n.Sync(t, a.n)

	srv.Stop()
	for _, n := range nodes {
		for i := range 2 {
			r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
			wantStatus(t, r, 200)
			if r.Header.Get("X-RateLimit-Limit") != "4" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) {
				t.Fatalf("request %d during the outage: %v", i+1, r.Header)
			}
		}
		r := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
		wantStatus(t, r, 429)
		if r.Header.Get("Retry-After") != "50" {
			t.Fatalf("429 during the outage: %v", r.Header)
		}
		// The runtime routes keep answering too (3 ÷ 2, rounded up).
		for range 2 {
			if r := (&runtime{n: n, keys: a.keys}).devpayr(t, check{license: "basic", domain: "shop.example.com"}); r.Status != 200 {
				t.Fatalf("validation during the outage: %d %s", r.Status, r.Body)
			}
		}
		if v := metric(t, n, "latchkey_ratelimit_redis_outages_total"); v != 1 {
			t.Fatalf("outages = %v", v)
		}
		if v := metric(t, n, "latchkey_ratelimit_redis_up"); v != 0 {
			t.Fatalf("redis_up during the outage = %v", v)
		}
		if v := metric(t, n, "latchkey_ratelimit_live_nodes"); v != 2 {
			t.Fatalf("live_nodes = %v", v)
		}
		if r := n.Do(t, "GET", "/readyz", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"redis":"down"`) {
			t.Fatalf("readyz during the outage: %d %s", r.Status, r.Body)
		}
	}

	srv.Start()
	for _, n := range nodes {
		// The background probe would notice within a second; asking
		// directly keeps the test off the wall clock.
		if !n.Stack.Redis.Probe(ctx) {
			t.Fatal("Redis is back but the probe says no")
		}
	}
	_, fresh := a.n.CreateKey(t, a.owner, service.KeyInput{RateLimit: 3})
	b.n.Sync(t, a.n)
	for i := range 4 {
		r := nodes[i%2].Do(t, "GET", "/api/v1/projects", nil, apptest.Key(fresh)...)
		if want := map[bool]int{true: 200, false: 429}[i < 3]; r.Status != want {
			t.Fatalf("after recovery, request %d: %d", i+1, r.Status)
		}
	}
	if v := metric(t, a.n, "latchkey_ratelimit_redis_up"); v != 1 {
		t.Fatalf("redis_up after recovery = %v", v)
	}

	// A node stopping cleanly leaves the count of live nodes at once: the
	// other's share grows without waiting for the heartbeat to age.
	if err := b.n.Stack.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.n.Stack.Beat(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.n.Stack.Limiter.LiveNodes(); got != 1 {
		t.Fatalf("live nodes after a clean stop = %d, want 1", got)
	}
}
