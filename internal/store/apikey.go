package store

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// CreateAPIKey inserts k.
func (s *Store) CreateAPIKey(ctx context.Context, k *core.APIKey) error {
	now := s.clock()
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO api_keys (org_id, user_id, project_id, name, description, public_id, digest, last4, env,
		                       scopes, allowed_ips, rate_limit, expires_at, created_by, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id`,
		k.OrgID, k.UserID, nullID(k.ProjectID), k.Name, k.Description, k.PublicID, k.Digest, k.Last4, k.Env,
		k.Scopes.String(), formatPrefixes(k.AllowedIPs), k.RateLimit, tsp(k.ExpiresAt), k.CreatedBy, now).Scan(&k.ID)
	if err != nil {
		return s.conflict(err, "create api key", "An API key with this digest or public ID already exists.")
	}
	k.CreatedAt, k.UpdatedAt = now, now
	return nil
}

const keyColumns = `k.id, k.org_id, k.user_id, k.project_id, k.name, k.description, k.public_id, k.digest, k.last4,
	k.env, k.scopes, k.allowed_ips, k.rate_limit, k.expires_at, k.revoked_at, k.rotated_to,
	k.last_used_at, k.last_used_ip, k.created_by, k.created_at, k.updated_at, k.disabled_at`

func keyDest(k *core.APIKey, scopes, ips *string) []any {
	return []any{&k.ID, &k.OrgID, &k.UserID, zeroInt{&k.ProjectID}, &k.Name, &k.Description, &k.PublicID,
		&k.Digest, &k.Last4, &k.Env, scopes, ips, &k.RateLimit, nullTime{&k.ExpiresAt}, nullTime{&k.RevokedAt},
		zeroInt{&k.RotatedTo}, nullTime{&k.LastUsedAt}, &k.LastUsedIP, &k.CreatedBy, utc{&k.CreatedAt}, utc{&k.UpdatedAt}, nullTime{&k.DisabledAt}}
}

func finishKey(k *core.APIKey, scopes, ips string) {
	k.Scopes = core.ScopeSetFromString(scopes)
	k.AllowedIPs = parsePrefixes(ips)
}

func scanKey(row interface{ Scan(...any) error }) (*core.APIKey, error) {
	var k core.APIKey
	var scopes, ips string
	if err := row.Scan(keyDest(&k, &scopes, &ips)...); err != nil {
		return nil, err
	}
	finishKey(&k, scopes, ips)
	return &k, nil
}

// APIKey returns the key with the given ID.
func (s *Store) APIKey(ctx context.Context, id int64) (*core.APIKey, error) {
	k, err := scanKey(s.r().QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE k.id = $1`, id))
	return k, s.wrap(notFound(err, "API key"), "api key")
}

// APIKeyOwnerByDigest returns the key whose secret has the given digest,
// with its owner's current role (empty when no longer a member) and status.
func (s *Store) APIKeyOwnerByDigest(ctx context.Context, digest []byte) (*core.KeyOwner, error) {
	var ko core.KeyOwner
	var scopes, ips string
	var role *string
	dest := append(keyDest(&ko.Key, &scopes, &ips), optString{&role}, &ko.UserDisabled, &ko.UserEmail)
	err := s.r().QueryRowContext(ctx,
		`SELECT `+keyColumns+`, m.role, u.disabled, u.email
		   FROM api_keys k
		   JOIN users u ON u.id = k.user_id
		   LEFT JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.user_id
		  WHERE k.digest = $1`, digest).Scan(dest...)
	if err != nil {
		return nil, s.wrap(notFound(err, "API key"), "api key by digest")
	}
	finishKey(&ko.Key, scopes, ips)
	if role != nil {
		ko.Role = core.Role(*role)
	}
	return &ko, nil
}

// ListAPIKeys returns keys newest first.
func (s *Store) ListAPIKeys(ctx context.Context, f core.APIKeyFilter) ([]core.APIKey, error) {
	var args argList
	q := `SELECT ` + keyColumns + ` FROM api_keys k WHERE k.org_id = ` + args.add(f.OrgID)
	if f.UserID != 0 {
		q += ` AND k.user_id = ` + args.add(f.UserID)
	}
	if f.ProjectID != 0 {
		q += ` AND k.project_id = ` + args.add(f.ProjectID)
	}
	if f.NamePrefix != "" {
		q += ` AND lower(k.name) LIKE ` + args.add(escapeLike(strings.ToLower(f.NamePrefix))+"%") + ` ESCAPE '\'`
	}
	if f.Env != "" {
		q += ` AND k.env = ` + args.add(f.Env)
	}
	if f.LastUsedBefore != nil {
		q += ` AND (k.last_used_at IS NULL OR k.last_used_at < ` + args.add(ts(*f.LastUsedBefore)) + `)`
	}
	if f.Unrevoked {
		q += ` AND k.revoked_at IS NULL`
	}
	if f.GlobalOnly {
		q += ` AND k.project_id IS NULL`
	}
	if f.Status != "" {
		// Placeholders are added only where used: PostgreSQL cannot type
		// a parameter the statement never mentions.
		live := func() string {
			return ` AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ` + args.add(ts(f.Now)) + `)`
		}
		switch f.Status {
		case core.KeyActive:
			q += live() + ` AND k.disabled_at IS NULL`
		case core.KeyDisabled:
			q += live() + ` AND k.disabled_at IS NOT NULL`
		case core.KeyRevoked:
			q += ` AND k.revoked_at IS NOT NULL`
		case core.KeyExpired:
			q += ` AND k.revoked_at IS NULL AND k.expires_at <= ` + args.add(ts(f.Now))
		default:
			q += ` AND 1 = 0`
		}
	}
	if f.BeforeID != 0 {
		q += ` AND k.id < ` + args.add(f.BeforeID)
	}
	q += ` ORDER BY k.id DESC LIMIT ` + args.add(limit(f.Limit, 20, 1000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list api keys")
	}
	defer rows.Close()
	var out []core.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.wrap(err, "list api keys")
		}
		out = append(out, *k)
	}
	return out, s.wrap(rows.Err(), "list api keys")
}

// UpdateAPIKey changes the fields of upd that are set.
func (s *Store) UpdateAPIKey(ctx context.Context, id int64, upd core.APIKeyUpdate) (*core.APIKey, error) {
	var k *core.APIKey
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if upd.Name != nil {
			set.add("name", *upd.Name)
		}
		if upd.Description != nil {
			set.add("description", *upd.Description)
		}
		if upd.Scopes != nil {
			set.add("scopes", upd.Scopes.String())
		}
		if upd.AllowedIPs != nil {
			set.add("allowed_ips", formatPrefixes(*upd.AllowedIPs))
		}
		if upd.RateLimit != nil {
			set.add("rate_limit", *upd.RateLimit)
		}
		if upd.ExpiresAt != nil {
			set.add("expires_at", tsp(*upd.ExpiresAt))
		}
		if upd.DisabledAt != nil {
			set.add("disabled_at", tsp(*upd.DisabledAt))
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE api_keys SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return err
		}
		if err := affected(res, "API key"); err != nil {
			return err
		}
		k, err = scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE k.id = $1`, id))
		return err
	})
	return k, s.wrap(err, "update api key")
}

// RevokeAPIKey sets revoked_at once.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64, at time.Time) (*core.APIKey, error) {
	var k *core.APIKey
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1), updated_at = $2 WHERE id = $3`,
			ts(at), s.clock(), id)
		if err != nil {
			return err
		}
		if err := affected(res, "API key"); err != nil {
			return err
		}
		k, err = scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE k.id = $1`, id))
		return err
	})
	return k, s.wrap(err, "revoke api key")
}

// RetireAPIKey records the rotation of id into newID; the old key expires
// at at, or at its own expiry if that comes first.
func (s *Store) RetireAPIKey(ctx context.Context, id, newID int64, at time.Time) (*core.APIKey, error) {
	var k *core.APIKey
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE api_keys
			    SET rotated_to = $1,
			        expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END,
			        updated_at = $3
			  WHERE id = $4`,
			newID, ts(at), s.clock(), id)
		if err != nil {
			return err
		}
		if err := affected(res, "API key"); err != nil {
			return err
		}
		k, err = scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE k.id = $1`, id))
		return err
	})
	return k, s.wrap(err, "retire api key")
}

// RecordKeyUses applies aggregated uses in one transaction.
func (s *Store) RecordKeyUses(ctx context.Context, uses []core.KeyUse) error {
	if len(uses) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for _, u := range uses {
			// Forward-only: a late batch from another node never moves
			// last_used_at back.
			if _, err := q.ExecContext(ctx,
				`UPDATE api_keys SET last_used_at = $1, last_used_ip = $2
				  WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)`,
				ts(u.LastUsedAt), u.LastUsedIP, u.KeyID); err != nil {
				return err
			}
			if u.Count > 0 {
				if _, err := q.ExecContext(ctx,
					`INSERT INTO api_key_usage (key_id, day, count) SELECT $1, $2, $3
					  WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = $1)
					 ON CONFLICT (key_id, day) DO UPDATE SET count = api_key_usage.count + excluded.count`,
					u.KeyID, u.Day, u.Count); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return s.wrap(err, "record key uses")
}

// KeyUsage returns per-day counts for a key in [from, to], oldest first.
func (s *Store) KeyUsage(ctx context.Context, keyID int64, from, to string) ([]core.DayCount, error) {
	return s.dayCounts(ctx, `SELECT day, count FROM api_key_usage WHERE key_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
		keyID, from, to)
}

func (s *Store) dayCounts(ctx context.Context, q string, args ...any) ([]core.DayCount, error) {
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "day counts")
	}
	defer rows.Close()
	var out []core.DayCount
	for rows.Next() {
		var d core.DayCount
		if err := rows.Scan(&d.Day, &d.Count); err != nil {
			return nil, s.wrap(err, "day counts")
		}
		out = append(out, d)
	}
	return out, s.wrap(rows.Err(), "day counts")
}

func formatPrefixes(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// parsePrefixes reads the stored allow-list; it was validated on the way in.
func parsePrefixes(s string) []netip.Prefix {
	if s == "" {
		return nil
	}
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// RevokeUserKeys revokes the user's live keys in the organization.
func (s *Store) RevokeUserKeys(ctx context.Context, orgID, userID int64, at time.Time) ([]core.APIKey, error) {
	var keys []core.APIKey
	err := s.inTx(ctx, func(q querier) error {
		keys = keys[:0] // SQLite's group commit may run this again alone
		rows, err := q.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys k
			WHERE k.org_id = $1 AND k.user_id = $2 AND k.revoked_at IS NULL ORDER BY k.id`, orgID, userID)
		if err != nil {
			return err
		}
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, *k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = $1, updated_at = $1 WHERE org_id = $2 AND user_id = $3 AND revoked_at IS NULL`,
			ts(at), orgID, userID)
		return err
	})
	if err != nil {
		return nil, s.wrap(err, "revoke user keys")
	}
	for i := range keys {
		t := ts(at)
		keys[i].RevokedAt, keys[i].UpdatedAt = &t, t
	}
	return keys, nil
}
