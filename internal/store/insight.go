package store

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// RecordOutcomes adds a batch of outcome counts in one transaction. The
// project is the license's as stored, and a license deleted since it was
// counted adds nothing.
func (s *Store) RecordOutcomes(ctx context.Context, counts []core.OutcomeCount) error {
	if len(counts) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for _, c := range counts {
			if c.Count <= 0 {
				continue
			}
			if _, err := q.ExecContext(ctx,
				`INSERT INTO outcome_counts (license_id, project_id, hour, code, count)
				 SELECT id, project_id, $2, $3, $4 FROM licenses WHERE id = $1
				 ON CONFLICT (license_id, hour, code) DO UPDATE SET count = outcome_counts.count + excluded.count`,
				c.LicenseID, ts(c.Hour), c.Code, c.Count); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(err, "record outcomes")
}

// PruneOutcomes deletes up to n counts of hours before t. It walks the
// projects and each one's (project_id, hour) index, so it reads only the
// rows it deletes: the table has no index on the hour alone, which every
// flush would pay for.
func (s *Store) PruneOutcomes(ctx context.Context, before time.Time, n int) (int64, error) {
	res, err := s.w().ExecContext(ctx,
		`DELETE FROM outcome_counts WHERE (license_id, hour, code) IN (
		   SELECT o.license_id, o.hour, o.code FROM projects p
		     JOIN outcome_counts o ON o.project_id = p.id AND o.hour < $1
		    LIMIT $2)`, ts(before), n)
	if err != nil {
		return 0, s.wrap(err, "prune outcomes")
	}
	k, err := res.RowsAffected()
	return k, s.wrap(err, "prune outcomes")
}

// outcomeWhere is the condition of f on outcome_counts (aliased o), with
// its arguments from $1.
func outcomeWhere(f core.OutcomeFilter) (string, []any) {
	args := []any{ts(f.From), ts(f.To)}
	q := `o.hour >= $1 AND o.hour < $2`
	switch {
	case f.LicenseID != 0:
		args = append(args, f.LicenseID)
		q += ` AND o.license_id = $3`
	case f.ProjectID != 0:
		args = append(args, f.ProjectID)
		q += ` AND o.project_id = $3`
	default:
		args = append(args, f.OrgID)
		q += ` AND o.project_id IN (SELECT id FROM projects WHERE org_id = $3 AND deleted_at IS NULL)`
	}
	return q, args
}

// OutcomeSeries returns f's counts by hour and code, oldest first.
func (s *Store) OutcomeSeries(ctx context.Context, f core.OutcomeFilter) ([]core.OutcomeCount, error) {
	where, args := outcomeWhere(f)
	rows, err := s.r().QueryContext(ctx,
		`SELECT o.hour, o.code, sum(o.count) FROM outcome_counts o WHERE `+where+` GROUP BY o.hour, o.code ORDER BY o.hour, o.code`, args...)
	if err != nil {
		return nil, s.wrap(err, "outcome series")
	}
	defer rows.Close()
	var out []core.OutcomeCount
	for rows.Next() {
		c := core.OutcomeCount{ProjectID: f.ProjectID, LicenseID: f.LicenseID}
		if err := rows.Scan(utc{&c.Hour}, &c.Code, &c.Count); err != nil {
			return nil, s.wrap(err, "outcome series")
		}
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "outcome series")
}

// TopLicenses returns the licenses of f with the most answers.
func (s *Store) TopLicenses(ctx context.Context, f core.OutcomeFilter, limit int) ([]core.LicenseOutcomes, error) {
	where, args := outcomeWhere(f)
	args = append(args, limit)
	rows, err := s.r().QueryContext(ctx,
		`SELECT t.license_id, l.project_id, l.title, t.total, t.valid FROM (
		   SELECT o.license_id, sum(o.count) AS total, sum(CASE WHEN o.code = 'VALID' THEN o.count ELSE 0 END) AS valid
		     FROM outcome_counts o WHERE `+where+` GROUP BY o.license_id) t
		 JOIN licenses l ON l.id = t.license_id
		 ORDER BY t.total DESC, t.license_id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.wrap(err, "top licenses")
	}
	defer rows.Close()
	var out []core.LicenseOutcomes
	for rows.Next() {
		var l core.LicenseOutcomes
		if err := rows.Scan(&l.LicenseID, &l.ProjectID, &l.Title, &l.Total, &l.Valid); err != nil {
			return nil, s.wrap(err, "top licenses")
		}
		out = append(out, l)
	}
	return out, s.wrap(rows.Err(), "top licenses")
}

// InsightFigures counts f's active licenses (active and not expired at
// To) and new activations (first seen in [From, To)), and lists the
// active licenses expiring in [To, ExpiringBy).
func (s *Store) InsightFigures(ctx context.Context, f core.InsightFilter) (*core.InsightFigures, error) {
	projects, scope := `SELECT id FROM projects WHERE org_id = $1 AND deleted_at IS NULL`, f.OrgID
	if f.ProjectID != 0 {
		projects, scope = `SELECT id FROM projects WHERE id = $1`, f.ProjectID
	}
	out := &core.InsightFigures{}
	if err := s.r().QueryRowContext(ctx,
		`SELECT count(*) FROM licenses WHERE project_id IN (`+projects+`) AND status = $2 AND (expires_at IS NULL OR expires_at > $3)`,
		scope, core.LicenseActive, ts(f.To)).Scan(&out.ActiveLicenses); err != nil {
		return nil, s.wrap(err, "insight figures")
	}
	if err := s.r().QueryRowContext(ctx,
		`SELECT count(*) FROM activations a JOIN licenses l ON l.id = a.license_id
		  WHERE l.project_id IN (`+projects+`) AND a.first_seen_at >= $2 AND a.first_seen_at < $3`,
		scope, ts(f.From), ts(f.To)).Scan(&out.NewActivations); err != nil {
		return nil, s.wrap(err, "insight figures")
	}
	if f.ExpiringLimit > 0 {
		rows, err := s.r().QueryContext(ctx,
			`SELECT `+licenseColumns+` FROM licenses WHERE project_id IN (`+projects+`) AND status = $2
			    AND expires_at >= $3 AND expires_at < $4 ORDER BY expires_at, id LIMIT $5`,
			scope, core.LicenseActive, ts(f.To), ts(f.ExpiringBy), f.ExpiringLimit)
		if err != nil {
			return nil, s.wrap(err, "insight figures")
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLicense(rows)
			if err != nil {
				return nil, s.wrap(err, "insight figures")
			}
			out.Expiring = append(out.Expiring, *l)
		}
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "insight figures")
		}
	}
	return out, nil
}

// OrgKeyUsage sums the per-day requests of an organization's API keys.
func (s *Store) OrgKeyUsage(ctx context.Context, orgID int64, from, to string) ([]core.DayCount, error) {
	return s.dayCounts(ctx,
		`SELECT u.day, sum(u.count) FROM api_key_usage u JOIN api_keys k ON k.id = u.key_id
		  WHERE k.org_id = $1 AND u.day >= $2 AND u.day <= $3 GROUP BY u.day ORDER BY u.day`, orgID, from, to)
}
