package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, se *core.Session) error {
	now := s.clock()
	if se.CreatedAt.IsZero() {
		se.CreatedAt = now
	}
	if se.LastSeenAt.IsZero() {
		se.LastSeenAt = now
	}
	if se.VerifiedAt.IsZero() {
		se.VerifiedAt = se.CreatedAt
	}
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO sessions (digest, user_id, org_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at, verified_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		se.Digest, se.UserID, se.OrgID, se.CSRFToken, se.IP, se.UserAgent, ts(se.CreatedAt), ts(se.LastSeenAt), ts(se.ExpiresAt),
		ts(se.VerifiedAt))
	return s.conflict(err, "create session", "Session already exists.")
}

// SessionByDigest returns a live session.
func (s *Store) SessionByDigest(ctx context.Context, digest []byte, now time.Time) (*core.Session, error) {
	var se core.Session
	var verified *time.Time
	err := s.r().QueryRowContext(ctx,
		`SELECT digest, user_id, org_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at, verified_at
		   FROM sessions WHERE digest = $1 AND expires_at > $2`, digest, ts(now)).
		Scan(&se.Digest, &se.UserID, &se.OrgID, &se.CSRFToken, &se.IP, &se.UserAgent,
			utc{&se.CreatedAt}, utc{&se.LastSeenAt}, utc{&se.ExpiresAt}, nullTime{&verified})
	if err != nil {
		return nil, s.wrap(notFound(err, "Session"), "session")
	}
	// Sessions older than migration 0009 were verified at their sign-in.
	se.VerifiedAt = se.CreatedAt
	if verified != nil {
		se.VerifiedAt = *verified
	}
	return &se, nil
}

// UpdateSession records activity and the selected organization.
func (s *Store) UpdateSession(ctx context.Context, digest []byte, orgID int64, lastSeen, expires time.Time) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE sessions SET org_id = $1, last_seen_at = $2, expires_at = $3 WHERE digest = $4`,
		orgID, ts(lastSeen), ts(expires), digest)
	if err != nil {
		return s.wrap(err, "update session")
	}
	return affected(res, "Session")
}

// DeleteSession ends a session; ending an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, digest []byte) error {
	_, err := s.w().ExecContext(ctx, `DELETE FROM sessions WHERE digest = $1`, digest)
	return s.wrap(err, "delete session")
}

// DeleteUserSessions ends a user's sessions in one organization or all.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, orgID int64) error {
	var err error
	if orgID == 0 {
		_, err = s.w().ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	} else {
		_, err = s.w().ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND org_id = $2`, userID, orgID)
	}
	return s.wrap(err, "delete user sessions")
}
