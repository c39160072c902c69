package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

const activationColumns = `id, license_id, identifier, base_domain, first_seen_at, last_seen_at, last_ip, country, user_agent`

func scanActivation(sc interface{ Scan(...any) error }, a *core.Activation) error {
	return sc.Scan(&a.ID, &a.LicenseID, &a.Identifier, &a.BaseDomain, utc{&a.FirstSeenAt}, utc{&a.LastSeenAt}, &a.LastIP, &a.Country, &a.UserAgent)
}

// ListActivationPage returns a page of a license's activations, oldest
// first (keyset on the ID).
func (s *Store) ListActivationPage(ctx context.Context, f core.ActivationFilter) ([]core.Activation, error) {
	limit := f.Limit
	if limit <= 0 || limit > 10_001 {
		limit = 10_001
	}
	rows, err := s.r().QueryContext(ctx, `SELECT `+activationColumns+` FROM activations
		WHERE license_id = $1 AND id > $2 ORDER BY id LIMIT $3`, f.LicenseID, f.AfterID, limit)
	if err != nil {
		return nil, s.wrap(err, "list activations")
	}
	defer rows.Close()
	var out []core.Activation
	for rows.Next() {
		var a core.Activation
		if err := scanActivation(rows, &a); err != nil {
			return nil, s.wrap(err, "list activations")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "list activations")
}

// DeleteActivation removes one activation of a license.
func (s *Store) DeleteActivation(ctx context.Context, licenseID, id int64) (*core.Activation, error) {
	var a core.Activation
	err := scanActivation(s.w().QueryRowContext(ctx, `DELETE FROM activations WHERE license_id = $1 AND id = $2
		RETURNING `+activationColumns, licenseID, id), &a)
	if err != nil {
		return nil, s.wrap(notFound(err, "Activation"), "delete activation")
	}
	return &a, nil
}

// ActivationChurn reads the churn counts of a license for day.
func (s *Store) ActivationChurn(ctx context.Context, licenseID int64, day string) (core.ChurnCount, error) {
	c, err := churnCount(ctx, s.r(), licenseID, day)
	return c, s.wrap(err, "activation churn")
}

func churnCount(ctx context.Context, q querier, licenseID int64, day string) (core.ChurnCount, error) {
	var c core.ChurnCount
	err := q.QueryRowContext(ctx,
		`SELECT COALESCE((SELECT SUM(count) FROM activation_days WHERE license_id = $1 AND day <> $2), 0),
		        COALESCE((SELECT count FROM activation_days WHERE license_id = $1 AND day = $2), 0),
		        (SELECT count(*) FROM activations WHERE license_id = $1)`, licenseID, day).Scan(&c.Before, &c.Today, &c.Live)
	return c, err
}

// ReleaseEventDedupe clears an event's dedupe key.
func (s *Store) ReleaseEventDedupe(ctx context.Context, key string) error {
	_, err := s.w().ExecContext(ctx, `UPDATE events SET dedupe_key = NULL WHERE dedupe_key = $1`, key)
	return s.wrap(err, "release event dedupe key")
}
