package store

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

const titleConflict = "The title has already been taken."

// CreateLicense inserts l.
func (s *Store) CreateLicense(ctx context.Context, l *core.License) error {
	now := s.clock()
	if l.Status == "" {
		l.Status = core.LicenseActive
	}
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO licenses (project_id, key_digest, key_enc, domain_id, title, status, expires_at, max_domains,
		                       max_subdomains_per_domain, max_usage_per_day, allowed_ips, allowed_countries,
		                       is_test_license, allow_configs, validate_against, meta, user_id, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id`,
		l.ProjectID, l.KeyDigest, l.KeyEnc, nullID(l.DomainID), l.Title, l.Status, tsp(l.ExpiresAt), optIntArg(l.MaxDomains),
		optIntArg(l.MaxSubdomainsPerDomain), optIntArg(l.MaxUsagePerDay), optStringArg(l.AllowedIPs), optStringArg(l.AllowedCountries),
		l.IsTestLicense, l.AllowConfigs, l.ValidateAgainst, jsonArg(l.Meta, ""), nullID(l.UserID), now).Scan(&l.ID)
	if err != nil {
		return s.conflict(err, "create license", titleConflict)
	}
	l.CreatedAt, l.UpdatedAt = now, now
	return nil
}

const licenseColumns = `id, project_id, key_digest, key_enc, domain_id, title, status, expires_at, max_domains,
	max_subdomains_per_domain, max_usage_per_day, allowed_ips, allowed_countries, is_test_license, allow_configs,
	validate_against, meta, user_id, revoked_at, suspended_at, created_at, updated_at`

func scanLicense(row interface{ Scan(...any) error }) (*core.License, error) {
	var l core.License
	var meta []byte
	err := row.Scan(&l.ID, &l.ProjectID, &l.KeyDigest, &l.KeyEnc, zeroInt{&l.DomainID}, &l.Title, &l.Status,
		nullTime{&l.ExpiresAt}, optInt{&l.MaxDomains}, optInt{&l.MaxSubdomainsPerDomain}, optInt{&l.MaxUsagePerDay},
		optString{&l.AllowedIPs}, optString{&l.AllowedCountries}, &l.IsTestLicense, &l.AllowConfigs, &l.ValidateAgainst,
		&meta, zeroInt{&l.UserID}, nullTime{&l.RevokedAt}, nullTime{&l.SuspendedAt}, utc{&l.CreatedAt}, utc{&l.UpdatedAt})
	if len(meta) > 0 {
		l.Meta = meta
	}
	return &l, err
}

// License returns a license by ID.
func (s *Store) License(ctx context.Context, id int64) (*core.License, error) {
	l, err := scanLicense(s.r().QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE id = $1`, id))
	return l, s.wrap(notFound(err, "License"), "license")
}

// LicenseByDigest returns the license whose key has the given digest.
func (s *Store) LicenseByDigest(ctx context.Context, digest []byte) (*core.License, error) {
	l, err := scanLicense(s.r().QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE key_digest = $1`, digest))
	return l, s.wrap(notFound(err, "License"), "license by digest")
}

// ListLicenses returns a project's licenses, newest first. The keyset
// condition on the primary key keeps every page, however deep, one index
// range scan.
func (s *Store) ListLicenses(ctx context.Context, f core.LicenseFilter) ([]core.License, error) {
	var args argList
	q := `SELECT ` + licenseColumns + ` FROM licenses WHERE project_id = ` + args.add(f.ProjectID)
	if f.Status != "" {
		q += ` AND status = ` + args.add(f.Status)
	}
	if f.Search != "" {
		q += ` AND lower(title) LIKE ` + args.add("%"+escapeLike(strings.ToLower(f.Search))+"%") + ` ESCAPE '\'`
	}
	if f.BeforeID != 0 {
		q += ` AND id < ` + args.add(f.BeforeID)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(limit(f.Limit, 20, 1000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list licenses")
	}
	defer rows.Close()
	var out []core.License
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return nil, s.wrap(err, "list licenses")
		}
		out = append(out, *l)
	}
	return out, s.wrap(rows.Err(), "list licenses")
}

// CountLicenses returns how many licenses a project has, by status.
func (s *Store) CountLicenses(ctx context.Context, projectID int64) (map[string]int64, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT status, count(*) FROM licenses WHERE project_id = $1 GROUP BY status`, projectID)
	if err != nil {
		return nil, s.wrap(err, "count licenses")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.wrap(err, "count licenses")
		}
		out[st] = n
	}
	return out, s.wrap(rows.Err(), "count licenses")
}

// UpdateLicense changes the fields of upd that are set.
func (s *Store) UpdateLicense(ctx context.Context, id int64, upd core.LicenseUpdate) (*core.License, error) {
	var l *core.License
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if upd.Title != nil {
			set.add("title", *upd.Title)
		}
		if upd.DomainID != nil {
			set.add("domain_id", nullID(*upd.DomainID))
		}
		if upd.ExpiresAt != nil {
			set.add("expires_at", tsp(*upd.ExpiresAt))
		}
		for col, v := range map[string]**int64{"max_domains": upd.MaxDomains, "max_subdomains_per_domain": upd.MaxSubdomainsPerDomain,
			"max_usage_per_day": upd.MaxUsagePerDay} {
			if v != nil {
				set.add(col, optIntArg(*v))
			}
		}
		if upd.AllowedIPs != nil {
			set.add("allowed_ips", optStringArg(*upd.AllowedIPs))
		}
		if upd.AllowedCountries != nil {
			set.add("allowed_countries", optStringArg(*upd.AllowedCountries))
		}
		if upd.IsTestLicense != nil {
			set.add("is_test_license", *upd.IsTestLicense)
		}
		if upd.AllowConfigs != nil {
			set.add("allow_configs", *upd.AllowConfigs)
		}
		if upd.ValidateAgainst != nil {
			set.add("validate_against", *upd.ValidateAgainst)
		}
		if upd.Status != nil {
			set.add("status", *upd.Status)
		}
		if upd.RevokedAt != nil {
			set.add("revoked_at", tsp(*upd.RevokedAt))
		}
		if upd.SuspendedAt != nil {
			set.add("suspended_at", tsp(*upd.SuspendedAt))
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE licenses SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return s.conflict(err, "update license", titleConflict)
		}
		if err := affected(res, "License"); err != nil {
			return err
		}
		l, err = scanLicense(q.QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE id = $1`, id))
		return err
	})
	return l, s.wrap(err, "update license")
}

// DeleteLicense removes a license with its activations and usage.
func (s *Store) DeleteLicense(ctx context.Context, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM licenses WHERE id = $1`, id)
	if err != nil {
		return s.wrap(err, "delete license")
	}
	return affected(res, "License")
}
