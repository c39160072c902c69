package core

import (
	"context"
	"time"
)

// IdempotencyStore holds the requests sent with an Idempotency-Key
// (docs/idempotency.md): one row per (API key, key), claimed by the first
// request, then holding its answer until it expires.
type IdempotencyStore interface {
	// ClaimIdempotencyKey claims c.Key for c.APIKeyID atomically, across
	// every node of the database: it inserts the row, or takes over one
	// that expired or whose lease ran out with the same fingerprint, and
	// otherwise reports what the row holds.
	ClaimIdempotencyKey(ctx context.Context, c *IdempotencyClaim) (*IdempotencyResult, error)
	// CompleteIdempotencyKey stores the answer of the claim token holds.
	// It reports false, changing nothing, when the claim was lost (taken
	// over after its lease ran out, or released).
	CompleteIdempotencyKey(ctx context.Context, apiKeyID int64, key, token string, resp *StoredResponse) (bool, error)
	// ReleaseIdempotencyKey deletes the claim token holds, so that the
	// next request with the key runs; a lost claim is left alone.
	ReleaseIdempotencyKey(ctx context.Context, apiKeyID int64, key, token string) error
	// PruneIdempotencyKeys deletes up to limit rows expired at now and
	// returns how many it deleted.
	PruneIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int, error)
}

// IdempotencyClaim is a request's claim on an idempotency key.
type IdempotencyClaim struct {
	APIKeyID int64
	Key      string
	// Fingerprint identifies the request (SHA-256 of its method, path and
	// body): the same key with another fingerprint is a misuse.
	Fingerprint []byte
	// Token identifies this claim: completing or releasing it needs it, so
	// a request whose lease was taken over cannot overwrite the new one.
	Token string
	Now   time.Time
	// LeaseUntil is when another request may take the claim over, should
	// this one never complete (its node crashed).
	LeaseUntil time.Time
	// ExpiresAt is when the row, and its stored answer, may be forgotten.
	ExpiresAt time.Time
}

// IdempotencyOutcome is what a claim found.
type IdempotencyOutcome int

const (
	// IdempotencyClaimed: the caller holds the key and runs the request.
	IdempotencyClaimed IdempotencyOutcome = iota + 1
	// IdempotencyReplay: the key's first request completed; Response
	// holds its answer.
	IdempotencyReplay
	// IdempotencyInUse: the key's first request is still running.
	IdempotencyInUse
	// IdempotencyMismatch: the key was used with another request.
	IdempotencyMismatch
)

// IdempotencyResult is the answer to a claim.
type IdempotencyResult struct {
	Outcome IdempotencyOutcome
	// Response is set with IdempotencyReplay.
	Response *StoredResponse
}

// StoredResponse is an answer kept for replay: status, the headers that
// describe it, and the body byte for byte.
type StoredResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}
