package service

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// The idempotency contract's numbers (docs/idempotency.md).
const (
	// IdempotencyTTL is how long a key's answer is replayed, counted from
	// its first request.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyLease is how long a request holds its key before another
	// request with the same key and body may take it over: far longer
	// than any management request runs, short enough that a node's crash
	// does not leave a client waiting for long.
	IdempotencyLease = time.Minute
	// idempotencyPruneBatch bounds one DELETE, and idempotencyPruneBatches
	// the DELETEs of one tick, so that pruning never holds the writer for
	// long; what is left waits for the next tick.
	idempotencyPruneBatch   = 1000
	idempotencyPruneBatches = 50
)

// IdempotencyClaim is a claim a request holds on its key.
type IdempotencyClaim struct {
	apiKeyID int64
	key      string
	token    string
}

// ClaimIdempotencyKey claims key, scoped to the actor's API key, for a
// request whose fingerprint is fp. With core.IdempotencyClaimed the caller
// runs the request and then calls Complete or Release on the claim; the
// other outcomes are answered without running it.
func (s *Service) ClaimIdempotencyKey(ctx context.Context, a *core.Actor, key string, fp []byte) (*core.IdempotencyResult, *IdempotencyClaim, error) {
	if a == nil || a.Type != core.ActorAPIKey || a.KeyID == 0 {
		return nil, nil, core.Errorf(core.EBadRequest, "Idempotency keys are scoped to an API key.")
	}
	now := s.now()
	c := &IdempotencyClaim{apiKeyID: a.KeyID, key: key, token: rand.Text()}
	res, err := s.store.ClaimIdempotencyKey(ctx, &core.IdempotencyClaim{APIKeyID: a.KeyID, Key: key, Fingerprint: fp, Token: c.token,
		Now: now, LeaseUntil: now.Add(IdempotencyLease), ExpiresAt: now.Add(IdempotencyTTL)})
	if err != nil {
		return nil, nil, err
	}
	if res.Outcome != core.IdempotencyClaimed {
		c = nil
	}
	return res, c, nil
}

// CompleteIdempotencyKey stores the answer of c's request for replay. A
// claim lost meanwhile (its lease ran out and another request took it
// over) stores nothing and is logged: that request's answer is the one
// kept.
func (s *Service) CompleteIdempotencyKey(ctx context.Context, c *IdempotencyClaim, resp *core.StoredResponse) error {
	ok, err := s.store.CompleteIdempotencyKey(ctx, c.apiKeyID, c.key, c.token, resp)
	if err == nil && !ok {
		s.log.WarnContext(ctx, "idempotency key taken over before its request completed; its answer is not stored",
			"api_key_id", c.apiKeyID, "lease", IdempotencyLease)
	}
	return err
}

// ReleaseIdempotencyKey gives c's key up without an answer, so that the
// next request with it runs (the answer was a 5xx or a 429).
func (s *Service) ReleaseIdempotencyKey(ctx context.Context, c *IdempotencyClaim) error {
	return s.store.ReleaseIdempotencyKey(ctx, c.apiKeyID, c.key, c.token)
}

// PruneIdempotencyKeys deletes keys expired at the service's time, in
// bounded batches, and returns how many it deleted. The scheduler's tick
// runs it on the node that holds the scheduler lease.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for range idempotencyPruneBatches {
		n, err := s.store.PruneIdempotencyKeys(ctx, now, idempotencyPruneBatch)
		total += n
		if err != nil || n < idempotencyPruneBatch {
			return total, err
		}
	}
	return total, nil
}
