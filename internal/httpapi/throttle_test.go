package httpapi_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// cacheTotals sums the counters of a node's caches named in names.
func cacheTotals(t *testing.T, n *apptest.Node, names ...string) (lookups uint64, entries int) {
	t.Helper()
	for _, s := range n.Service().Caches().Stats() {
		for _, name := range names {
			if s.Name == name {
				lookups += s.Hits + s.Misses
				entries += s.Entries
			}
		}
	}
	return lookups, entries
}

// An address that spent its budget of failed credentials is refused on
// every credential route before any lookup, cache insert or decryption,
// and a valid credential from it is refused too, so that a guesser cannot
// tell a right guess from the wrong ones.
func TestThrottleBeforeWork(t *testing.T) {
	routes := []struct {
		name string
		send func(rt *runtime, key string) *apptest.Response
	}{
		{"has-paid", func(rt *runtime, key string) *apptest.Response {
			return rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", key, "X-Devpayr-Domain", "shop.example.com")
		}},
		{"stream", func(rt *runtime, key string) *apptest.Response {
			return rt.n.Do(t, "GET", "/api/v1/injectable/stream", nil, "X-LICENSE-KEY", key, "X-Devpayr-Domain", "shop.example.com")
		}},
		{"native", func(rt *runtime, key string) *apptest.Response {
			return rt.n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"license": key, "domain": "shop.example.com"})
		}},
		{"api key", func(rt *runtime, key string) *apptest.Response {
			return rt.n.Do(t, "GET", "/api/v1/projects", nil, "X-API-KEY", key)
		}},
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		for _, route := range routes {
			t.Run(route.name, func(t *testing.T) {
				rt := newRuntime(t, b, func(c *config.Config) { c.IPRateLimit = 3 })
				rt.n.Clock.Set(rt.n.Clock.Now().Truncate(time.Minute).Add(time.Second))
				guess := func() string { return licensing.NewKey(rt.n.Clock.Now()) }
				valid := rt.keys["basic"]
				if route.name == "api key" {
					guess = func() string { return keys.Mint(core.EnvLive).Secret }
					valid = rt.key
				}
				for i := range 3 {
					if r := route.send(rt, guess()); r.Status == 429 || r.Status >= 500 {
						t.Fatalf("failure %d within the budget: %d %s", i+1, r.Status, r.Body)
					}
				}
				lookups, entries := cacheTotals(t, rt.n, "api_key", "api_key_unknown", "license_snapshot", "license_unknown")
				for range 20 {
					r := route.send(rt, guess())
					if r.Status != 429 || r.Env.Code != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" {
						t.Fatalf("over the budget: %d %s", r.Status, r.Body)
					}
				}
				if l, e := cacheTotals(t, rt.n, "api_key", "api_key_unknown", "license_snapshot", "license_unknown"); l != lookups || e != entries {
					t.Fatalf("refused requests reached the caches: lookups %d -> %d, entries %d -> %d", lookups, l, entries, e)
				}
				if r := route.send(rt, valid); r.Status != 429 {
					t.Fatalf("a valid credential from a throttled address: %d %s", r.Status, r.Body)
				}
				// Another address is not affected, and the next window
				// starts over.
				if r := rt.n.Do(t, "GET", "/api/v1/projects", nil, "X-API-KEY", rt.key, "X-Forwarded-For", "203.0.113.9"); r.Status != 200 {
					t.Fatalf("another address: %d %s", r.Status, r.Body)
				}
				rt.n.Clock.Advance(time.Minute)
				if r := route.send(rt, valid); r.Status != 200 {
					t.Fatalf("next window: %d %s", r.Status, r.Body)
				}
			})
		}
	})
}

// A license key that cannot be one this server issued is refused without a
// lookup: it costs no query and no cache entry.
func TestMalformedLicenseKeyNeverLooksUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		lookups, entries := cacheTotals(t, rt.n, "license_snapshot", "license_unknown")
		for _, key := range []string{"x", "not-a-license-key", "0192f5a0-0000-7000-8000-00000000000g",
			"0192f5a00000-7000-8000-000000000000aa", "0192f5a0-0000-7000-8000-0000000000000"} {
			r := rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", key, "X-Forwarded-For", "198.51.100.1")
			if r.Status != 404 {
				t.Fatalf("%q: %d %s", key, r.Status, r.Body)
			}
		}
		if l, e := cacheTotals(t, rt.n, "license_snapshot", "license_unknown"); l != lookups || e != entries {
			t.Fatalf("malformed keys were looked up: lookups %d -> %d, entries %d -> %d", lookups, l, entries, e)
		}
		// Upper case and surrounding spaces are still the key.
		upper := "  " + string(toUpper(rt.keys["basic"])) + " "
		if r := rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", upper, "X-Devpayr-Domain", "shop.example.com"); r.Status != 200 {
			t.Fatalf("upper-case key: %d %s", r.Status, r.Body)
		}
	})
}

func toUpper(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}
