package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

const titleConflict = "The title has already been taken."

// CreateLicense inserts l with its metadata entries.
func (s *Store) CreateLicense(ctx context.Context, l *core.License) error {
	now := s.clock()
	if l.Status == "" {
		l.Status = core.LicenseActive
	}
	meta, err := metadataArg(l.Metadata)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx,
			`INSERT INTO licenses (project_id, key_digest, key_enc, domain_id, title, status, expires_at, max_domains,
			                       max_subdomains_per_domain, max_usage_per_day, allowed_ips, allowed_countries,
			                       is_test_license, allow_configs, validate_against, meta, user_id, created_at, updated_at,
			                       customer_name, customer_email, external_id, metadata, max_concurrent, heartbeat_ttl,
			                       max_new_activations_per_day)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18,
			         $19, $20, $21, $22, $23, $24, $25) RETURNING id`,
			l.ProjectID, l.KeyDigest, l.KeyEnc, nullID(l.DomainID), l.Title, l.Status, tsp(l.ExpiresAt), optIntArg(l.MaxDomains),
			optIntArg(l.MaxSubdomainsPerDomain), optIntArg(l.MaxUsagePerDay), optStringArg(l.AllowedIPs), optStringArg(l.AllowedCountries),
			l.IsTestLicense, l.AllowConfigs, l.ValidateAgainst, jsonArg(l.Meta, ""), nullID(l.UserID), now,
			optStringArg(l.CustomerName), optStringArg(l.CustomerEmail), optStringArg(l.ExternalID), meta,
			optIntArg(l.MaxConcurrent), optIntArg(l.HeartbeatTTL), optIntArg(l.MaxNewActivationsPerDay)).Scan(&l.ID)
		if err != nil {
			return s.licenseConflict(err, "create license")
		}
		return putMetadata(ctx, q, l.ID, l.Metadata, false)
	})
	if err != nil {
		return s.wrap(err, "create license")
	}
	l.CreatedAt, l.UpdatedAt = now, now
	return nil
}

// licenseConflict names the unique rule a license write broke: the title
// (DevPayr's) or the external ID (unique in the project when set).
func (s *Store) licenseConflict(err error, op string) error {
	if s.d.UniqueViolation != nil && s.d.UniqueViolation(err) && strings.Contains(err.Error(), "external_id") {
		return &core.Error{Code: core.EConflict, Message: ExternalIDConflict,
			Fields: map[string][]string{"external_id": {ExternalIDConflict}}}
	}
	return s.conflict(err, op, titleConflict)
}

// ExternalIDConflict is the message of a duplicate external ID.
const ExternalIDConflict = "The external id has already been taken in this project."

// metadataArg serialises metadata for the licenses.metadata column: a
// JSON object with sorted keys, NULL when empty.
func metadataArg(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jsonArg(b, ""), nil
}

// putMetadata writes the index rows of a license's metadata, replacing
// those it had when replace is set.
func putMetadata(ctx context.Context, q querier, licenseID int64, m map[string]string, replace bool) error {
	if replace {
		if _, err := q.ExecContext(ctx, `DELETE FROM license_metadata WHERE license_id = $1`, licenseID); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable order of statements, for the statement cache and for reading logs
	for _, k := range keys {
		if _, err := q.ExecContext(ctx, `INSERT INTO license_metadata (license_id, key, value) VALUES ($1, $2, $3)`,
			licenseID, k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

const licenseColumns = `id, project_id, key_digest, key_enc, domain_id, title, status, expires_at, max_domains,
	max_subdomains_per_domain, max_usage_per_day, allowed_ips, allowed_countries, is_test_license, allow_configs,
	validate_against, meta, user_id, revoked_at, suspended_at, created_at, updated_at, customer_name, customer_email,
	external_id, metadata, max_concurrent, heartbeat_ttl, max_new_activations_per_day`

func scanLicense(row interface{ Scan(...any) error }) (*core.License, error) {
	var l core.License
	var meta, metadata []byte
	err := row.Scan(&l.ID, &l.ProjectID, &l.KeyDigest, &l.KeyEnc, zeroInt{&l.DomainID}, &l.Title, &l.Status,
		nullTime{&l.ExpiresAt}, optInt{&l.MaxDomains}, optInt{&l.MaxSubdomainsPerDomain}, optInt{&l.MaxUsagePerDay},
		optString{&l.AllowedIPs}, optString{&l.AllowedCountries}, &l.IsTestLicense, &l.AllowConfigs, &l.ValidateAgainst,
		&meta, zeroInt{&l.UserID}, nullTime{&l.RevokedAt}, nullTime{&l.SuspendedAt}, utc{&l.CreatedAt}, utc{&l.UpdatedAt},
		optString{&l.CustomerName}, optString{&l.CustomerEmail}, optString{&l.ExternalID}, &metadata,
		optInt{&l.MaxConcurrent}, optInt{&l.HeartbeatTTL}, optInt{&l.MaxNewActivationsPerDay})
	if err != nil {
		return &l, err
	}
	if len(meta) > 0 {
		l.Meta = meta
	}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &l.Metadata); err != nil {
			return &l, fmt.Errorf("license %d: metadata: %w", l.ID, err)
		}
	}
	return &l, nil
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

// licenseWhere builds the condition of a license filter, without the
// keyset cursor.
func licenseWhere(f core.LicenseFilter, args *argList) string {
	var q string
	if f.ProjectID != 0 {
		q = `project_id = ` + args.add(f.ProjectID)
	} else {
		// Licenses of deleted projects stay in the table until the project
		// is purged; they are nobody's to list.
		q = `project_id IN (SELECT id FROM projects WHERE org_id = ` + args.add(f.OrgID) + ` AND deleted_at IS NULL)`
	}
	if f.Status != "" {
		q += ` AND status = ` + args.add(f.Status)
	}
	if f.Search != "" {
		q += ` AND lower(title) LIKE ` + args.add(likeArg(f.Search)) + ` ESCAPE '\'`
	}
	if f.ExternalID != "" {
		q += ` AND external_id = ` + args.add(f.ExternalID)
	}
	if f.CustomerEmail != "" {
		q += ` AND lower(customer_email) = ` + args.add(strings.ToLower(f.CustomerEmail))
	}
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q += ` AND id IN (SELECT license_id FROM license_metadata WHERE key = ` + args.add(k) + ` AND value = ` + args.add(f.Metadata[k]) + `)`
	}
	switch {
	case f.QueryDigest != nil:
		q += ` AND key_digest = ` + args.add(f.QueryDigest)
	case f.Query != "":
		p := args.add(likeArg(f.Query))
		q += ` AND (lower(title) LIKE ` + p + ` ESCAPE '\' OR lower(coalesce(customer_name, '')) LIKE ` + p + ` ESCAPE '\'` +
			` OR lower(coalesce(customer_email, '')) LIKE ` + p + ` ESCAPE '\' OR lower(coalesce(external_id, '')) LIKE ` + p + ` ESCAPE '\')`
	}
	if f.Statuses != nil {
		if len(f.Statuses) == 0 {
			q += ` AND 1 = 0`
		} else {
			sts := make([]string, len(f.Statuses))
			for i, st := range f.Statuses {
				sts[i] = args.add(st)
			}
			q += ` AND status IN (` + strings.Join(sts, ", ") + `)`
		}
	}
	if !f.LiveAt.IsZero() {
		q += ` AND (expires_at IS NULL OR expires_at > ` + args.add(ts(f.LiveAt)) + `)`
	}
	if f.Expiring {
		q += ` AND expires_at IS NOT NULL`
	}
	if f.Mode != "" {
		q += ` AND is_test_license = ` + args.add(f.Mode == core.ModeTest)
	}
	if !f.ExpiresFrom.IsZero() {
		q += ` AND expires_at >= ` + args.add(ts(f.ExpiresFrom))
	}
	if !f.ExpiresBefore.IsZero() {
		q += ` AND expires_at < ` + args.add(ts(f.ExpiresBefore))
	}
	if f.NoExpiry {
		q += ` AND expires_at IS NULL`
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			q += ` AND 1 = 0`
		} else {
			ids := make([]string, len(f.IDs))
			for i, id := range f.IDs {
				ids[i] = args.add(id)
			}
			q += ` AND id IN (` + strings.Join(ids, ", ") + `)`
		}
	}
	return q
}

// licenseOrder is the ORDER BY of a filter's sort. Both backends order
// NULLs differently by default, so missing values are placed explicitly:
// last ascending, first descending (as a perpetual license "expires"
// after every dated one). Text is compared in lower case so that both
// backends agree whatever their collation.
func licenseOrder(f core.LicenseFilter) string {
	dir := " DESC"
	if f.Asc {
		dir = " ASC"
	}
	var col string
	switch f.Sort {
	case core.LicenseSortTitle:
		col = `lower(title)`
	case core.LicenseSortCustomer:
		col = `(customer_name IS NULL AND customer_email IS NULL)` + map[bool]string{true: " ASC", false: " DESC"}[f.Asc] +
			`, lower(coalesce(customer_name, customer_email, ''))`
	case core.LicenseSortStatus:
		col = `status`
	case core.LicenseSortExpires:
		col = `(expires_at IS NULL)` + map[bool]string{true: " ASC", false: " DESC"}[f.Asc] + `, expires_at`
	default:
		return `id` + dir
	}
	return col + dir + `, id` + dir
}

// likeArg is a case-insensitive LIKE pattern for a substring.
func likeArg(s string) string { return "%" + escapeLike(strings.ToLower(s)) + "%" }

// ListLicenses returns the licenses a filter selects, newest first. The
// keyset condition on the primary key keeps every page, however deep, one
// index range scan.
func (s *Store) ListLicenses(ctx context.Context, f core.LicenseFilter) ([]core.License, error) {
	var args argList
	q := `SELECT ` + licenseColumns + ` FROM licenses WHERE ` + licenseWhere(f, &args)
	if f.BeforeID != 0 {
		q += ` AND id < ` + args.add(f.BeforeID)
	}
	q += ` ORDER BY ` + licenseOrder(f) + ` LIMIT ` + args.add(limit(f.Limit, 20, 10001))
	if f.Offset > 0 {
		q += ` OFFSET ` + args.add(f.Offset)
	}
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

// CountMatchingLicenses returns how many licenses a filter selects (its
// cursor and limit ignored).
func (s *Store) CountMatchingLicenses(ctx context.Context, f core.LicenseFilter) (int64, error) {
	var args argList
	var n int64
	err := s.r().QueryRowContext(ctx, `SELECT count(*) FROM licenses WHERE `+licenseWhere(f, &args), args...).Scan(&n)
	return n, s.wrap(err, "count matching licenses")
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
		// Slices, not maps: the statement's text must not depend on map
		// order, or each order would be prepared and cached apart.
		for _, c := range []struct {
			col string
			v   **int64
		}{{"max_domains", upd.MaxDomains}, {"max_subdomains_per_domain", upd.MaxSubdomainsPerDomain},
			{"max_usage_per_day", upd.MaxUsagePerDay}, {"max_concurrent", upd.MaxConcurrent},
			{"heartbeat_ttl", upd.HeartbeatTTL}, {"max_new_activations_per_day", upd.MaxNewActivationsPerDay}} {
			if c.v != nil {
				set.add(c.col, optIntArg(*c.v))
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
		for _, c := range []struct {
			col string
			v   **string
		}{{"customer_name", upd.CustomerName}, {"customer_email", upd.CustomerEmail}, {"external_id", upd.ExternalID}} {
			if c.v != nil {
				set.add(c.col, optStringArg(*c.v))
			}
		}
		if upd.Metadata != nil {
			meta, err := metadataArg(*upd.Metadata)
			if err != nil {
				return err
			}
			set.add("metadata", meta)
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE licenses SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return s.licenseConflict(err, "update license")
		}
		if err := affected(res, "License"); err != nil {
			return err
		}
		if upd.Metadata != nil {
			if err := putMetadata(ctx, q, id, *upd.Metadata, true); err != nil {
				return err
			}
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
