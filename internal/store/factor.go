package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// SaveTOTP stores an unconfirmed authenticator secret in place of the
// user's previous one.
func (s *Store) SaveTOTP(ctx context.Context, f *core.TOTPFactor) error {
	f.CreatedAt, f.ConfirmedAt, f.LastStep = s.clock(), nil, 0
	_, err := s.w().ExecContext(ctx, `INSERT INTO totp_factors (user_id, secret_enc, confirmed_at, last_step, created_at)
		VALUES ($1, $2, NULL, 0, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed_at = NULL, last_step = 0,
			created_at = excluded.created_at`, f.UserID, f.SecretEnc, f.CreatedAt)
	return s.wrap(err, "save totp")
}

// TOTPFactor returns the user's authenticator secret.
func (s *Store) TOTPFactor(ctx context.Context, userID int64) (*core.TOTPFactor, error) {
	f := core.TOTPFactor{UserID: userID}
	err := s.r().QueryRowContext(ctx, `SELECT secret_enc, confirmed_at, last_step, created_at FROM totp_factors WHERE user_id = $1`,
		userID).Scan(&f.SecretEnc, nullTime{&f.ConfirmedAt}, &f.LastStep, utc{&f.CreatedAt})
	if err != nil {
		return nil, s.wrap(notFound(err, "Authenticator app"), "totp")
	}
	return &f, nil
}

// UseTOTPStep accepts step once: the conditional update is what keeps two
// requests racing with the same code from both passing.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE totp_factors SET last_step = $2, confirmed_at = COALESCE(confirmed_at, $3)
		WHERE user_id = $1 AND last_step < $2`, userID, step, ts(at))
	if err != nil {
		return s.wrap(err, "use totp step")
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(err, "use totp step")
	} else if n == 1 {
		return nil
	}
	if _, err := s.TOTPFactor(ctx, userID); err != nil {
		return err
	}
	return &core.Error{Code: core.EConflict, Message: "This code was used already: wait for the next one."}
}

// DeleteTOTP removes the user's authenticator app.
func (s *Store) DeleteTOTP(ctx context.Context, userID int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = $1`, userID)
	if err != nil {
		return s.wrap(err, "delete totp")
	}
	return affected(res, "Authenticator app")
}

// ReplaceRecoveryCodes sets the user's recovery codes in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, digests [][]byte) error {
	now := s.clock()
	return s.wrap(s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, d := range digests {
			if _, err := q.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)`,
				userID, d, now); err != nil {
				return err
			}
		}
		return nil
	}), "replace recovery codes")
}

// UseRecoveryCode spends one unused code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, digest []byte, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE recovery_codes SET used_at = $3
		WHERE user_id = $1 AND digest = $2 AND used_at IS NULL`, userID, digest, ts(at))
	if err != nil {
		return s.wrap(err, "use recovery code")
	}
	return affected(res, "Recovery code")
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, s.wrap(err, "count recovery codes")
}

const passkeyColumns = `id, user_id, credential_id, name, credential, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (*core.Passkey, error) {
	var p core.Passkey
	err := sc.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, utc{&p.CreatedAt}, nullTime{&p.LastUsedAt})
	return &p, err
}

// CreatePasskey inserts a passkey.
func (s *Store) CreatePasskey(ctx context.Context, p *core.Passkey) error {
	p.CreatedAt, p.LastUsedAt = s.clock(), nil
	err := s.w().QueryRowContext(ctx, `INSERT INTO passkeys (user_id, credential_id, name, credential, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, p.UserID, p.CredentialID, p.Name, p.Credential, p.CreatedAt).Scan(&p.ID)
	return s.conflict(err, "create passkey", "This passkey is registered already.")
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID int64) ([]core.Passkey, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, s.wrap(err, "list passkeys")
	}
	defer rows.Close()
	var out []core.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, s.wrap(err, "scan passkey")
		}
		out = append(out, *p)
	}
	return out, s.wrap(rows.Err(), "list passkeys")
}

// PasskeyByCredentialID finds the passkey a browser presented.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*core.Passkey, error) {
	p, err := scanPasskey(s.r().QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if err != nil {
		return nil, s.wrap(notFound(err, "Passkey"), "passkey")
	}
	return p, nil
}

// UpdatePasskeyUse stores the credential after a sign-in.
func (s *Store) UpdatePasskeyUse(ctx context.Context, id int64, credential []byte, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1`, id, credential, ts(at))
	if err != nil {
		return s.wrap(err, "update passkey")
	}
	return affected(res, "Passkey")
}

// RenamePasskey renames one of the user's passkeys.
func (s *Store) RenamePasskey(ctx context.Context, userID, id int64, name string) error {
	res, err := s.w().ExecContext(ctx, `UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2`, userID, id, name)
	if err != nil {
		return s.wrap(err, "rename passkey")
	}
	return affected(res, "Passkey")
}

// DeletePasskey removes one of the user's passkeys.
func (s *Store) DeletePasskey(ctx context.Context, userID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return s.wrap(err, "delete passkey")
	}
	return affected(res, "Passkey")
}

// HasSecondFactor reports whether the user has a confirmed authenticator
// app or a passkey, in one query: the dashboard asks on every request.
func (s *Store) HasSecondFactor(ctx context.Context, userID int64) (bool, error) {
	var has bool
	err := s.r().QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL)
		OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)`, userID).Scan(&has)
	return has, s.wrap(err, "has second factor")
}

// DeleteUserFactors removes the user's factors and recovery codes together.
func (s *Store) DeleteUserFactors(ctx context.Context, userID int64) error {
	return s.wrap(s.inTx(ctx, func(q querier) error {
		for _, table := range []string{"totp_factors", "recovery_codes", "passkeys"} {
			if _, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
				return err
			}
		}
		return nil
	}), "delete user factors")
}

// SetSessionVerified records a re-authentication.
func (s *Store) SetSessionVerified(ctx context.Context, digest []byte, at time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE sessions SET verified_at = $2 WHERE digest = $1`, digest, ts(at))
	if err != nil {
		return s.wrap(err, "verify session")
	}
	return affected(res, "Session")
}

// RequiresSecondFactor reports the organization's sign-in policy.
func (s *Store) RequiresSecondFactor(ctx context.Context, orgID int64) (bool, error) {
	var req bool
	err := s.r().QueryRowContext(ctx, `SELECT require_second_factor FROM organizations WHERE id = $1`, orgID).Scan(&req)
	return req, s.wrap(notFound(err, "Organization"), "requires second factor")
}

// SetRequireSecondFactor sets the organization's sign-in policy.
func (s *Store) SetRequireSecondFactor(ctx context.Context, orgID int64, require bool) error {
	res, err := s.w().ExecContext(ctx, `UPDATE organizations SET require_second_factor = $2, updated_at = $3 WHERE id = $1`,
		orgID, require, s.clock())
	if err != nil {
		return s.wrap(err, "set require second factor")
	}
	return affected(res, "Organization")
}
