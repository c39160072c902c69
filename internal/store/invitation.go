package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

const invitationColumns = `i.id, i.org_id, i.email, i.role, i.digest, i.invited_by, i.created_at, i.expires_at, i.accepted_at, i.revoked_at`

func invitationDest(inv *core.Invitation, role *string) []any {
	return []any{&inv.ID, &inv.OrgID, &inv.Email, role, &inv.Digest, &inv.InvitedBy, utc{&inv.CreatedAt}, utc{&inv.ExpiresAt},
		nullTime{&inv.AcceptedAt}, nullTime{&inv.RevokedAt}}
}

// CreateInvitation inserts an invitation or renews the pending one of the
// same organization and email (the partial unique index names the pending
// ones), keeping its ID.
func (s *Store) CreateInvitation(ctx context.Context, inv *core.Invitation) error {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = s.clock()
	}
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO invitations (org_id, email, role, digest, invited_by, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (org_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL
		 DO UPDATE SET role = excluded.role, digest = excluded.digest, invited_by = excluded.invited_by,
		        created_at = excluded.created_at, expires_at = excluded.expires_at
		 RETURNING id`,
		inv.OrgID, inv.Email, string(inv.Role), inv.Digest, inv.InvitedBy, ts(inv.CreatedAt), ts(inv.ExpiresAt)).Scan(&inv.ID)
	return s.conflict(err, "create invitation", "Invitation already exists.")
}

// ListInvitations returns an organization's pending invitations, oldest
// first.
func (s *Store) ListInvitations(ctx context.Context, orgID int64) ([]core.Invitation, error) {
	const op = "list invitations"
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+invitationColumns+` FROM invitations i
		  WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.created_at, i.id`, orgID)
	if err != nil {
		return nil, s.wrap(err, op)
	}
	defer rows.Close()
	var out []core.Invitation
	for rows.Next() {
		var inv core.Invitation
		var role string
		if err := rows.Scan(invitationDest(&inv, &role)...); err != nil {
			return nil, s.wrap(err, op)
		}
		inv.Role = core.Role(role)
		out = append(out, inv)
	}
	return out, s.wrap(rows.Err(), op)
}

// Invitation returns one invitation of an organization.
func (s *Store) Invitation(ctx context.Context, orgID, id int64) (*core.Invitation, error) {
	var inv core.Invitation
	var role string
	err := s.r().QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations i WHERE i.org_id = $1 AND i.id = $2`, orgID, id).
		Scan(invitationDest(&inv, &role)...)
	if err != nil {
		return nil, s.wrap(notFound(err, "Invitation"), "invitation")
	}
	inv.Role = core.Role(role)
	return &inv, nil
}

// InvitationByDigest returns the invitation of a token with its
// organization's name.
func (s *Store) InvitationByDigest(ctx context.Context, digest []byte) (*core.Invitation, error) {
	var inv core.Invitation
	var role string
	err := s.r().QueryRowContext(ctx, `SELECT `+invitationColumns+`, o.name FROM invitations i
		JOIN organizations o ON o.id = i.org_id WHERE i.digest = $1`, digest).
		Scan(append(invitationDest(&inv, &role), &inv.OrgName)...)
	if err != nil {
		return nil, s.wrap(notFound(err, "Invitation"), "invitation by digest")
	}
	inv.Role = core.Role(role)
	return &inv, nil
}

// RenewInvitation gives a pending invitation a new token and expiry.
func (s *Store) RenewInvitation(ctx context.Context, orgID, id int64, digest []byte, expires time.Time) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE invitations SET digest = $1, expires_at = $2
		  WHERE org_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL`,
		digest, ts(expires), orgID, id)
	if err != nil {
		return s.wrap(err, "renew invitation")
	}
	return affected(res, "Invitation")
}

// RevokeInvitation ends a pending invitation.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, id int64, at time.Time) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE invitations SET revoked_at = $1
		  WHERE org_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL`,
		ts(at), orgID, id)
	if err != nil {
		return s.wrap(err, "revoke invitation")
	}
	return affected(res, "Invitation")
}

// UseInvitation accepts a pending, unexpired invitation once: of two
// concurrent uses, only the first UPDATE matches.
func (s *Store) UseInvitation(ctx context.Context, id, userID int64, at time.Time) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE invitations SET accepted_at = $1, accepted_by = $2
		  WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND digest IS NOT NULL AND expires_at > $1`,
		ts(at), userID, id)
	if err != nil {
		return s.wrap(err, "use invitation")
	}
	return affected(res, "Invitation")
}

// CreatePasswordReset stores a reset and drops the user's expired ones,
// so a user's rows stay as few as the throttle lets through in an hour.
func (s *Store) CreatePasswordReset(ctx context.Context, pr *core.PasswordReset) error {
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = s.clock()
	}
	return s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1 AND expires_at <= $2`,
			pr.UserID, ts(pr.CreatedAt)); err != nil {
			return s.wrap(err, "create password reset")
		}
		_, err := q.ExecContext(ctx, `INSERT INTO password_resets (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			pr.Digest, pr.UserID, ts(pr.CreatedAt), ts(pr.ExpiresAt))
		return s.conflict(err, "create password reset", "Password reset already exists.")
	})
}

// PasswordReset returns a reset usable at now.
func (s *Store) PasswordReset(ctx context.Context, digest []byte, now time.Time) (*core.PasswordReset, error) {
	var pr core.PasswordReset
	err := s.r().QueryRowContext(ctx,
		`SELECT digest, user_id, created_at, expires_at, used_at FROM password_resets
		  WHERE digest = $1 AND used_at IS NULL AND expires_at > $2`, digest, ts(now)).
		Scan(&pr.Digest, &pr.UserID, utc{&pr.CreatedAt}, utc{&pr.ExpiresAt}, nullTime{&pr.UsedAt})
	if err != nil {
		return nil, s.wrap(notFound(err, "Password reset"), "password reset")
	}
	return &pr, nil
}

// UsePasswordReset spends a reset once and deletes the user's others: a
// second link mailed before stops working when the password changes.
func (s *Store) UsePasswordReset(ctx context.Context, digest []byte, at time.Time) (int64, error) {
	var userID int64
	err := s.inTx(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx,
			`UPDATE password_resets SET used_at = $1 WHERE digest = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id`,
			ts(at), digest).Scan(&userID)
		if err != nil {
			return s.wrap(notFound(err, "Password reset"), "use password reset")
		}
		_, err = q.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1 AND digest <> $2`, userID, digest)
		return s.wrap(err, "use password reset")
	})
	return userID, err
}
