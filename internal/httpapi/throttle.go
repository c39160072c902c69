package httpapi

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// ipGuard is the one per-client-IP throttle of requests that present a
// credential: an API key, or a license key on the runtime routes. Only
// failures are counted (an unknown, malformed or missing credential), so
// legitimate traffic never spends the budget; but once an address has
// spent it, every credential it presents is refused with 429 before any
// lookup, cache insert or decryption, until the window ends: valid ones
// too, or a guessing client could tell a right guess (200) from the wrong
// ones (429) at full speed.
type ipGuard struct {
	limiter *ratelimit.Limiter
	limit   int
	now     func() time.Time
}

func ipKey(r *http.Request) ratelimit.Key {
	return ratelimit.Key{Kind: "ip", Addr: core.ClientIP(r.Context())}
}

// gate refuses a request from an address over its budget before next does
// any work.
func (g *ipGuard) gate(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := g.check(w, r); err != nil {
			return err
		}
		return next(w, r)
	}
}

// check answers 429 for an address over its budget, counting nothing.
func (g *ipGuard) check(w http.ResponseWriter, r *http.Request) error {
	now := g.now()
	if res := g.limiter.Peek(ipKey(r), g.limit, now); !res.Allowed {
		return limited(w, res, now)
	}
	return nil
}

// fail counts a failed credential against the request's address and
// reports whether the address is still within its budget.
func (g *ipGuard) fail(r *http.Request) (ratelimit.Result, bool) {
	res := g.limiter.Allow(ipKey(r), g.limit, g.now())
	return res, res.Allowed
}
