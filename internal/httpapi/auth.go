package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

type actorKey struct{}

// actorFrom returns the authenticated actor of a request that passed
// requireKey.
func actorFrom(r *http.Request) *core.Actor {
	a, _ := r.Context().Value(actorKey{}).(*core.Actor)
	return a
}

// credential extracts an API key from the headers DevPayr, Paygentic and
// Devdraft clients send. Header names are matched case-insensitively
// (net/http canonicalises them). It returns the secret and, for Devdraft's
// pair, the public ID that must match it.
func credential(r *http.Request) (secret, publicID string) {
	if v := strings.TrimSpace(r.Header.Get("X-Api-Key")); v != "" {
		return v, ""
	}
	if auth := strings.TrimSpace(r.Header.Get("Authorization")); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		tok := strings.TrimSpace(auth[7:])
		if strings.HasPrefix(tok, "pk_") {
			return strings.TrimSpace(r.Header.Get("X-Secret-Key")), tok
		}
		return tok, ""
	}
	return strings.TrimSpace(r.Header.Get("X-Secret-Key")), ""
}

// authenticator is the API-key part of the API: it turns credentials into
// an actor, counts use, and enforces rate limits.
type authenticator struct {
	keys     *keys.Authenticator
	usage    *keys.Usage
	limiter  *ratelimit.Limiter
	ip       *ipGuard
	keyLimit int
	// maxKeyLimit is --max-key-rate-limit; 0: none.
	maxKeyLimit int
	now         func() time.Time
	onResult    func(result string)
}

// requireKey authenticates the request and runs next with the actor in
// the context. Failures answer DevPayr's exact bodies: 401 when no key is
// sent, 403 "Invalid or expired API key." for anything unusable.
// Unauthenticated failures count against the client IP's budget, and an
// address over it is refused before any lookup (ipGuard); authenticated
// requests count against the key's limit.
func (au *authenticator) requireKey(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := au.ip.check(w, r); err != nil {
			au.result("refused")
			return err
		}
		ctx := r.Context()
		ip := core.ClientIP(ctx)
		now := au.now()
		secret, publicID := credential(r)
		fail := func(err error) error {
			au.result("refused")
			if res, ok := au.ip.fail(r); !ok {
				return limited(w, res, now)
			}
			return err
		}
		if secret == "" {
			return fail(keys.ErrMissing)
		}
		ko, err := au.keys.Lookup(ctx, secret)
		if err != nil {
			if core.ErrorCode(err) == core.EInternal {
				return err
			}
			return fail(err)
		}
		if publicID != "" && publicID != ko.Key.PublicID {
			return fail(keys.ErrInvalid)
		}
		actor, err := keys.Authorize(ko, ip, r.UserAgent(), now)
		if err != nil {
			return fail(err)
		}
		limit := ko.Key.RateLimit
		if limit == 0 {
			limit = au.keyLimit
		} else if au.maxKeyLimit > 0 && limit > au.maxKeyLimit {
			limit = au.maxKeyLimit
		}
		res := au.limiter.Allow(ratelimit.Key{Kind: "k", ID: ko.Key.ID}, limit, now)
		setLimitHeaders(w, res)
		if !res.Allowed {
			au.result("rate_limited")
			return limited(w, res, now)
		}
		au.result("ok")
		au.usage.Record(ko.Key.ID, ip, now)
		return next(w, r.WithContext(context.WithValue(ctx, actorKey{}, actor)))
	}
}

func (au *authenticator) result(r string) {
	if au.onResult != nil {
		au.onResult(r)
	}
}

// setLimitHeaders writes the rate-limit headers. The map is written
// directly, with the names spelled as clients document them: Header.Set
// would re-canonicalise "X-RateLimit-…" (allocating) on every request.
func setLimitHeaders(w http.ResponseWriter, res ratelimit.Result) {
	h := w.Header()
	// The three numbers formatted into one string (one allocation instead
	// of one per number past 99), each value a slice of it.
	var num [64]byte
	b := strconv.AppendInt(num[:0], int64(res.Limit), 10)
	l := len(b)
	b = strconv.AppendInt(b, int64(res.Remaining), 10)
	m := len(b)
	b = strconv.AppendInt(b, res.Reset.Unix(), 10)
	s := string(b)
	vals := []string{s[:l], s[l:m], s[m:]}
	h["X-RateLimit-Limit"] = vals[0:1:1]
	h["X-RateLimit-Remaining"] = vals[1:2:2]
	h["X-RateLimit-Reset"] = vals[2:3:3]
}

// limited answers 429 with the headers a client needs to back off.
func limited(w http.ResponseWriter, res ratelimit.Result, now time.Time) error {
	setLimitHeaders(w, res)
	secs := int((res.RetryAfter(now) + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return &core.Error{Code: core.ERateLimited, Reason: core.ReasonRateLimited, Message: "Too Many Attempts."}
}
