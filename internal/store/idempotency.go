package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// claimAttempts bounds the retries of a claim that raced another request
// changing the row between the upsert and the read (a release, a prune, a
// lease running out): each retry starts over, and the few needed in
// practice are far below this.
const claimAttempts = 4

// claimIdempotency inserts the claim, or takes over a row that expired or
// whose lease ran out with the same fingerprint; the WHERE of DO UPDATE
// decides on the row as committed, under its lock (PostgreSQL) or the one
// writer (SQLite), so two nodes claiming at once cannot both win. The token
// comes back only when this claim wrote the row.
const claimIdempotency = `INSERT INTO idempotency_keys
		(api_key_id, idem_key, fingerprint, token, locked_until, created_at, expires_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (api_key_id, idem_key) DO UPDATE SET
		fingerprint = excluded.fingerprint, token = excluded.token, locked_until = excluded.locked_until,
		status = NULL, headers = NULL, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at <= excluded.created_at
		OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until <= excluded.created_at
			AND idempotency_keys.fingerprint = excluded.fingerprint)
	RETURNING token`

// ClaimIdempotencyKey implements core.IdempotencyStore.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c *core.IdempotencyClaim) (*core.IdempotencyResult, error) {
	now := ts(c.Now)
	for range claimAttempts {
		var token string
		err := s.w().QueryRowContext(ctx, claimIdempotency, c.APIKeyID, c.Key, c.Fingerprint, c.Token,
			ts(c.LeaseUntil), now, ts(c.ExpiresAt)).Scan(&token)
		if err == nil && token == c.Token {
			return &core.IdempotencyResult{Outcome: core.IdempotencyClaimed}, nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, s.wrap(err, "claim idempotency key")
		}
		// The row is another request's: say what it holds.
		var (
			fp          []byte
			status      sql.NullInt64
			headers     sql.NullString
			body        []byte
			lockedUntil *time.Time
			expiresAt   time.Time
		)
		err = s.r().QueryRowContext(ctx, `SELECT fingerprint, status, headers, body, locked_until, expires_at
			FROM idempotency_keys WHERE api_key_id = $1 AND idem_key = $2`, c.APIKeyID, c.Key).
			Scan(&fp, &status, &headers, &body, nullTime{&lockedUntil}, utc{&expiresAt})
		if errors.Is(err, sql.ErrNoRows) {
			continue // released or pruned meanwhile: claim again
		}
		if err != nil {
			return nil, s.wrap(err, "read idempotency key")
		}
		if !expiresAt.After(now) {
			continue // expired meanwhile
		}
		if !bytes.Equal(fp, c.Fingerprint) {
			return &core.IdempotencyResult{Outcome: core.IdempotencyMismatch}, nil
		}
		if !status.Valid {
			if lockedUntil != nil && !lockedUntil.After(now) {
				continue // the lease ran out meanwhile: take it over
			}
			return &core.IdempotencyResult{Outcome: core.IdempotencyInUse}, nil
		}
		resp := &core.StoredResponse{Status: int(status.Int64), Body: body}
		if headers.Valid && headers.String != "" {
			if err := json.Unmarshal([]byte(headers.String), &resp.Header); err != nil {
				return nil, fmt.Errorf("store: idempotency key headers: %w", err)
			}
		}
		if resp.Body == nil {
			resp.Body = []byte{}
		}
		return &core.IdempotencyResult{Outcome: core.IdempotencyReplay, Response: resp}, nil
	}
	// The row kept changing under us: answer as for a request in flight,
	// which a client retries.
	return &core.IdempotencyResult{Outcome: core.IdempotencyInUse}, nil
}

// CompleteIdempotencyKey implements core.IdempotencyStore.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, apiKeyID int64, key, token string, resp *core.StoredResponse) (bool, error) {
	var headers []byte
	if len(resp.Header) > 0 {
		var err error
		if headers, err = json.Marshal(resp.Header); err != nil {
			return false, fmt.Errorf("store: idempotency key headers: %w", err)
		}
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res, err := s.w().ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, headers = $2, body = $3, locked_until = NULL
		WHERE api_key_id = $4 AND idem_key = $5 AND token = $6 AND status IS NULL`,
		resp.Status, string(headers), body, apiKeyID, key, token)
	if err != nil {
		return false, s.wrap(err, "complete idempotency key")
	}
	n, err := res.RowsAffected()
	return n == 1, s.wrap(err, "complete idempotency key")
}

// ReleaseIdempotencyKey implements core.IdempotencyStore.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, apiKeyID int64, key, token string) error {
	_, err := s.w().ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE api_key_id = $1 AND idem_key = $2 AND token = $3 AND status IS NULL`, apiKeyID, key, token)
	return s.wrap(err, "release idempotency key")
}

// PruneIdempotencyKeys implements core.IdempotencyStore. The batch is
// chosen by the expiry index, so one call touches at most limit rows.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.w().ExecContext(ctx, `DELETE FROM idempotency_keys WHERE (api_key_id, idem_key) IN (
		SELECT api_key_id, idem_key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`,
		ts(now), limit)
	if err != nil {
		return 0, s.wrap(err, "prune idempotency keys")
	}
	n, err := res.RowsAffected()
	return int(n), s.wrap(err, "prune idempotency keys")
}
