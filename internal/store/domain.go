package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

const domainConflict = "The domain has already been taken."

// CreateDomain inserts d; when d is primary, the project's other domains
// stop being primary in the same transaction.
func (s *Store) CreateDomain(ctx context.Context, d *core.Domain) error {
	now := s.clock()
	err := s.inTx(ctx, func(q querier) error {
		if d.IsPrimary {
			if _, err := q.ExecContext(ctx, `UPDATE domains SET is_primary = FALSE, updated_at = $1 WHERE project_id = $2 AND is_primary`,
				now, d.ProjectID); err != nil {
				return err
			}
		}
		return q.QueryRowContext(ctx,
			`INSERT INTO domains (project_id, domain, environment, is_primary, is_verified, is_locked, has_paid, is_active,
			                      created_by, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			d.ProjectID, d.Domain, d.Environment, d.IsPrimary, d.IsVerified, d.IsLocked, d.HasPaid, d.IsActive,
			nullID(d.CreatedBy), now).Scan(&d.ID)
	})
	if err != nil {
		return s.conflict(err, "create domain", domainConflict)
	}
	d.CreatedAt, d.UpdatedAt = now, now
	return nil
}

const domainColumns = `id, project_id, domain, environment, is_primary, is_verified, is_locked, has_paid, is_active,
	created_by, created_at, updated_at`

func scanDomain(row interface{ Scan(...any) error }) (*core.Domain, error) {
	var d core.Domain
	err := row.Scan(&d.ID, &d.ProjectID, &d.Domain, &d.Environment, &d.IsPrimary, &d.IsVerified, &d.IsLocked, &d.HasPaid,
		&d.IsActive, zeroInt{&d.CreatedBy}, utc{&d.CreatedAt}, utc{&d.UpdatedAt})
	return &d, err
}

// Domain returns a domain by ID.
func (s *Store) Domain(ctx context.Context, id int64) (*core.Domain, error) {
	d, err := scanDomain(s.r().QueryRowContext(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = $1`, id))
	return d, s.wrap(notFound(err, "Domain"), "domain")
}

// ListDomains returns a project's domains, oldest first.
func (s *Store) ListDomains(ctx context.Context, f core.DomainFilter) ([]core.Domain, error) {
	var args argList
	q := `SELECT ` + domainColumns + ` FROM domains WHERE project_id = ` + args.add(f.ProjectID)
	if f.AfterID != 0 {
		q += ` AND id > ` + args.add(f.AfterID)
	}
	q += ` ORDER BY id LIMIT ` + args.add(limit(f.Limit, 50, 100000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list domains")
	}
	defer rows.Close()
	var out []core.Domain
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, s.wrap(err, "list domains")
		}
		out = append(out, *d)
	}
	return out, s.wrap(rows.Err(), "list domains")
}

// UpdateDomain changes the fields of upd that are set; making a domain
// primary demotes the project's other primary domain.
func (s *Store) UpdateDomain(ctx context.Context, id int64, upd core.DomainUpdate) (*core.Domain, error) {
	var d *core.Domain
	err := s.inTx(ctx, func(q querier) error {
		now := s.clock()
		cur, err := scanDomain(q.QueryRowContext(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = $1`, id))
		if err != nil {
			return notFound(err, "Domain")
		}
		if upd.IsPrimary != nil && *upd.IsPrimary {
			if _, err := q.ExecContext(ctx, `UPDATE domains SET is_primary = FALSE, updated_at = $1 WHERE project_id = $2 AND is_primary AND id <> $3`,
				now, cur.ProjectID, id); err != nil {
				return err
			}
		}
		var set setter
		if upd.Domain != nil {
			set.add("domain", *upd.Domain)
		}
		if upd.Environment != nil {
			set.add("environment", *upd.Environment)
		}
		for col, v := range map[string]*bool{"is_primary": upd.IsPrimary, "is_verified": upd.IsVerified, "is_locked": upd.IsLocked,
			"has_paid": upd.HasPaid, "is_active": upd.IsActive} {
			if v != nil {
				set.add(col, *v)
			}
		}
		set.add("updated_at", now)
		if _, err := q.ExecContext(ctx, `UPDATE domains SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...); err != nil {
			return s.conflict(err, "update domain", domainConflict)
		}
		d, err = scanDomain(q.QueryRowContext(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = $1`, id))
		return err
	})
	return d, s.wrap(err, "update domain")
}

// DeleteDomain removes a domain; licenses pinned to it become unpinned.
func (s *Store) DeleteDomain(ctx context.Context, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM domains WHERE id = $1`, id)
	if err != nil {
		return s.wrap(err, "delete domain")
	}
	return affected(res, "Domain")
}
