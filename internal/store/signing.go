package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchkey/latchkey/internal/core"
)

const signingKeyColumns = `id, kid, public_key, private_enc, status, created_at, retired_at`

// SigningKeys returns every signing key: the active one first, then the
// newest.
func (s *Store) SigningKeys(ctx context.Context) ([]core.SigningKey, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY CASE WHEN status = 'active' THEN 0 ELSE 1 END, id DESC`)
	if err != nil {
		return nil, s.wrap(err, "list signing keys")
	}
	defer rows.Close()
	var out []core.SigningKey
	for rows.Next() {
		var k core.SigningKey
		if err := rows.Scan(&k.ID, &k.KID, &k.PublicKey, &k.PrivateEnc, &k.Status, utc{&k.CreatedAt}, nullTime{&k.RetiredAt}); err != nil {
			return nil, s.wrap(err, "scan signing key")
		}
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "list signing keys")
}

// EnsureSigningKey inserts k as the active key when there is none at all.
// Nodes starting together race here; ON CONFLICT makes the loser a no-op.
func (s *Store) EnsureSigningKey(ctx context.Context, k *core.SigningKey) error {
	now := s.clock()
	_, err := s.w().ExecContext(ctx, `INSERT INTO signing_keys (kid, public_key, private_enc, status, created_at)
		SELECT $1, $2, $3, 'active', $4 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)
		ON CONFLICT DO NOTHING`, k.KID, k.PublicKey, k.PrivateEnc, now)
	return s.wrap(err, "ensure signing key")
}

// RotateSigningKey demotes the active key and inserts k as the active one.
func (s *Store) RotateSigningKey(ctx context.Context, k *core.SigningKey) error {
	now := s.clock()
	if _, err := s.w().ExecContext(ctx, `UPDATE signing_keys SET status = 'verifying' WHERE status = 'active'`); err != nil {
		return s.wrap(err, "demote signing key")
	}
	err := s.w().QueryRowContext(ctx, `INSERT INTO signing_keys (kid, public_key, private_enc, status, created_at)
		VALUES ($1, $2, $3, 'active', $4) RETURNING id`, k.KID, k.PublicKey, k.PrivateEnc, now).Scan(&k.ID)
	if err != nil {
		return s.conflict(err, "rotate signing key", "Another rotation of the signing keys happened at the same time; try again.")
	}
	k.Status, k.CreatedAt, k.RetiredAt = core.SigningKeyActive, now, nil
	return nil
}

// RetireSigningKey retires a verifying key and wipes its private part.
func (s *Store) RetireSigningKey(ctx context.Context, kid string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE signing_keys SET status = 'retired', private_enc = $2, retired_at = $3
		WHERE kid = $1 AND status = 'verifying'`, kid, []byte{}, s.clock())
	if err != nil {
		return s.wrap(err, "retire signing key")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var status string
	err = s.w().QueryRowContext(ctx, `SELECT status FROM signing_keys WHERE kid = $1`, kid).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return core.NotFound("Signing key")
	case err != nil:
		return s.wrap(err, "retire signing key")
	case status == core.SigningKeyActive:
		return &core.Error{Code: core.EConflict, Message: "The active signing key cannot be retired: rotate first, then retire it."}
	}
	return nil
}
