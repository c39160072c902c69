package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchkey/latchkey/internal/core"
)

// ListActivations returns a license's activations, oldest first.
func (s *Store) ListActivations(ctx context.Context, licenseID int64) ([]core.Activation, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT id, license_id, identifier, base_domain, first_seen_at, last_seen_at, last_ip, country, user_agent
		   FROM activations WHERE license_id = $1 ORDER BY id`, licenseID)
	if err != nil {
		return nil, s.wrap(err, "list activations")
	}
	defer rows.Close()
	var out []core.Activation
	for rows.Next() {
		var a core.Activation
		if err := rows.Scan(&a.ID, &a.LicenseID, &a.Identifier, &a.BaseDomain, utc{&a.FirstSeenAt}, utc{&a.LastSeenAt}, &a.LastIP, &a.Country, &a.UserAgent); err != nil {
			return nil, s.wrap(err, "list activations")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "list activations")
}

// errOutcome rolls a validation write back while carrying its outcome.
type errOutcome struct{ outcome string }

func (e errOutcome) Error() string { return e.outcome }

// RecordValidation applies one passing validation's writes atomically.
func (s *Store) RecordValidation(ctx context.Context, w core.ValidationWrite) (string, int64, error) {
	var count int64
	if w.Activation == nil && w.Cap > 0 && s.tx == nil && s.group == nil {
		// The commonest capped validation is one statement: outside a
		// transaction it is one round trip instead of three (BEGIN, the
		// statement, COMMIT), and just as atomic. Not with group commit
		// (SQLite), where a transaction shares its commit with others.
		outcome, err := capUse(ctx, s.w(), w, &count)
		return outcome, count, s.wrap(err, "record validation")
	}
	err := s.inTx(ctx, func(q querier) error {
		if a := w.Activation; a != nil {
			fresh := false
			if w.MaxDomains > 0 || w.MaxSubdomains > 0 || w.NewPerDay > 0 {
				// Serialise activations of one license: two new domains
				// racing for the last slot (or the day's last new
				// activation) must not both get it.
				var id int64
				if err := q.QueryRowContext(ctx, `SELECT id FROM licenses WHERE id = $1`+s.d.ForUpdate, w.LicenseID).Scan(&id); err != nil {
					return notFound(err, "License")
				}
				var known int
				if err := q.QueryRowContext(ctx, `SELECT count(*) FROM activations WHERE license_id = $1 AND identifier = $2`,
					w.LicenseID, a.Identifier).Scan(&known); err != nil {
					return err
				}
				fresh = known == 0
			}
			if fresh && (w.MaxDomains > 0 || w.MaxSubdomains > 0) {
				var bases, baseKnown, subs int64
				if err := q.QueryRowContext(ctx,
					`SELECT count(DISTINCT base_domain),
					        count(CASE WHEN base_domain = $2 THEN 1 END),
					        count(CASE WHEN base_domain = $2 AND identifier <> base_domain THEN 1 END)
					   FROM activations WHERE license_id = $1`, w.LicenseID, a.BaseDomain).Scan(&bases, &baseKnown, &subs); err != nil {
					return err
				}
				if w.MaxDomains > 0 && baseKnown == 0 && bases >= w.MaxDomains {
					return errOutcome{core.WriteTooManyDomains}
				}
				if w.MaxSubdomains > 0 && a.Identifier != a.BaseDomain && subs >= w.MaxSubdomains {
					return errOutcome{core.WriteTooManySubs}
				}
			}
			if fresh && w.NewPerDay > 0 {
				c, err := churnCount(ctx, q, w.LicenseID, w.Day)
				if err != nil {
					return err
				}
				if !c.Allows(w.FreeActivations, w.NewPerDay) {
					return errOutcome{core.WriteTooManyActivations}
				}
				// Counted under the license's lock, in the activation's
				// transaction: a deletion later does not give it back.
				if _, err := q.ExecContext(ctx,
					`INSERT INTO activation_days (license_id, day, count) VALUES ($1, $2, 1)
					 ON CONFLICT (license_id, day) DO UPDATE SET count = activation_days.count + 1`, w.LicenseID, w.Day); err != nil {
					return err
				}
			}
			if err := upsertActivation(ctx, q, w.LicenseID, *a); err != nil {
				return err
			}
		}
		if w.Cap > 0 {
			outcome, err := capUse(ctx, q, w, &count)
			if err == nil && outcome != core.WriteOK {
				return errOutcome{outcome}
			}
			return err
		}
		return nil
	})
	var eo errOutcome
	if errors.As(err, &eo) {
		return eo.outcome, count, nil
	}
	return core.WriteOK, count, s.wrap(err, "record validation")
}

// capUse counts one use of a capped license, unless the day's count has
// reached the cap. One statement decides and counts: the row lock taken by
// ON CONFLICT DO UPDATE (PostgreSQL) or the single writer (SQLite) makes
// "below the cap, then +1" atomic.
func capUse(ctx context.Context, q querier, w core.ValidationWrite, count *int64) (string, error) {
	err := q.QueryRowContext(ctx,
		`INSERT INTO license_usage (license_id, day, count) VALUES ($1, $2, 1)
		 ON CONFLICT (license_id, day) DO UPDATE SET count = license_usage.count + 1
		  WHERE license_usage.count < $3
		 RETURNING count`, w.LicenseID, w.Day, w.Cap).Scan(count)
	if errors.Is(err, sql.ErrNoRows) {
		return core.WriteUsageExceeded, nil
	}
	if err != nil {
		return "", err
	}
	return core.WriteOK, nil
}

func upsertActivation(ctx context.Context, q querier, licenseID int64, a core.Activation) error {
	_, err := q.ExecContext(ctx,
		`INSERT INTO activations (license_id, identifier, base_domain, first_seen_at, last_seen_at, last_ip, country, user_agent)
		 SELECT $1, $2, $3, $4, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM licenses WHERE id = $1)
		 ON CONFLICT (license_id, identifier) DO UPDATE
		    SET last_seen_at = excluded.last_seen_at, last_ip = excluded.last_ip, country = excluded.country,
		        user_agent = excluded.user_agent
		  WHERE activations.last_seen_at < excluded.last_seen_at`,
		licenseID, a.Identifier, a.BaseDomain, ts(a.LastSeenAt), a.LastIP, a.Country, a.UserAgent)
	return err
}

// RecordLicenseUses writes a batch of counted validations.
func (s *Store) RecordLicenseUses(ctx context.Context, uses []core.LicenseUse) error {
	if len(uses) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for _, u := range uses {
			if u.Count > 0 {
				if _, err := q.ExecContext(ctx,
					`INSERT INTO license_usage (license_id, day, count) SELECT $1, $2, $3
					  WHERE EXISTS (SELECT 1 FROM licenses WHERE id = $1)
					 ON CONFLICT (license_id, day) DO UPDATE SET count = license_usage.count + excluded.count`,
					u.LicenseID, u.Day, u.Count); err != nil {
					return err
				}
			}
			for _, a := range u.Seen {
				if err := upsertActivation(ctx, q, u.LicenseID, a); err != nil {
					return err
				}
			}
			for _, a := range u.Touched {
				if _, err := q.ExecContext(ctx,
					`UPDATE activations SET last_seen_at = $3, last_ip = $4, country = $5, user_agent = $6
					  WHERE license_id = $1 AND identifier = $2 AND last_seen_at < $3`,
					u.LicenseID, a.Identifier, ts(a.LastSeenAt), a.LastIP, a.Country, a.UserAgent); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return s.wrap(err, "record license uses")
}

// LicenseUsage returns per-day counts for a license in [from, to].
func (s *Store) LicenseUsage(ctx context.Context, licenseID int64, from, to string) ([]core.DayCount, error) {
	return s.dayCounts(ctx, `SELECT day, count FROM license_usage WHERE license_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
		licenseID, from, to)
}
