package store

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

const slugConflict = "The slug has already been taken."

// CreateInjectable inserts i.
func (s *Store) CreateInjectable(ctx context.Context, i *core.Injectable) error {
	now := s.clock()
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO injectables (project_id, title, slug, type, mode, target_path, validate_endpoint, encrypted_content,
		                          file_path, content_hash, signature, only_if_paid, is_active, meta, created_by, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id`,
		i.ProjectID, i.Title, i.Slug, i.Type, i.Mode, i.TargetPath, optStringArg(i.ValidateEndpoint), i.EncryptedContent,
		optStringArg(i.FilePath), i.ContentHash, i.Signature, i.OnlyIfPaid, i.IsActive, jsonArg(i.Meta, "{}"), nullID(i.CreatedBy), now).Scan(&i.ID)
	if err != nil {
		return s.conflict(err, "create injectable", slugConflict)
	}
	i.CreatedAt, i.UpdatedAt = now, now
	return nil
}

const injectableColumns = `id, project_id, title, slug, type, mode, target_path, validate_endpoint, encrypted_content, file_path,
	content_hash, signature, only_if_paid, is_active, meta, last_delivered_at, created_by, created_at, updated_at`

func scanInjectable(row interface{ Scan(...any) error }) (*core.Injectable, error) {
	var i core.Injectable
	var meta []byte
	err := row.Scan(&i.ID, &i.ProjectID, &i.Title, &i.Slug, &i.Type, &i.Mode, &i.TargetPath, optString{&i.ValidateEndpoint},
		&i.EncryptedContent, optString{&i.FilePath}, &i.ContentHash, &i.Signature, &i.OnlyIfPaid, &i.IsActive, &meta,
		nullTime{&i.LastDeliveredAt}, zeroInt{&i.CreatedBy}, utc{&i.CreatedAt}, utc{&i.UpdatedAt})
	i.Meta = meta
	return &i, err
}

// Injectable returns an injectable by ID.
func (s *Store) Injectable(ctx context.Context, id int64) (*core.Injectable, error) {
	i, err := scanInjectable(s.r().QueryRowContext(ctx, `SELECT `+injectableColumns+` FROM injectables WHERE id = $1`, id))
	return i, s.wrap(notFound(err, "Injectable"), "injectable")
}

// ListInjectables returns a project's injectables, oldest first.
func (s *Store) ListInjectables(ctx context.Context, f core.InjectableFilter) ([]core.Injectable, error) {
	var args argList
	q := `SELECT ` + injectableColumns + ` FROM injectables WHERE project_id = ` + args.add(f.ProjectID)
	if f.OnlyActive {
		q += ` AND is_active`
	}
	if f.AfterID != 0 {
		q += ` AND id > ` + args.add(f.AfterID)
	}
	q += ` ORDER BY id LIMIT ` + args.add(limit(f.Limit, 20, 10000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list injectables")
	}
	defer rows.Close()
	var out []core.Injectable
	for rows.Next() {
		i, err := scanInjectable(rows)
		if err != nil {
			return nil, s.wrap(err, "list injectables")
		}
		out = append(out, *i)
	}
	return out, s.wrap(rows.Err(), "list injectables")
}

// UpdateInjectable changes the fields of upd that are set.
func (s *Store) UpdateInjectable(ctx context.Context, id int64, upd core.InjectableUpdate) (*core.Injectable, error) {
	var i *core.Injectable
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		for col, v := range map[string]*string{"title": upd.Title, "slug": upd.Slug, "type": upd.Type, "mode": upd.Mode,
			"target_path": upd.TargetPath, "encrypted_content": upd.EncryptedContent, "content_hash": upd.ContentHash, "signature": upd.Signature} {
			if v != nil {
				set.add(col, *v)
			}
		}
		if upd.ValidateEndpoint != nil {
			set.add("validate_endpoint", optStringArg(*upd.ValidateEndpoint))
		}
		if upd.FilePath != nil {
			set.add("file_path", optStringArg(*upd.FilePath))
		}
		if upd.OnlyIfPaid != nil {
			set.add("only_if_paid", *upd.OnlyIfPaid)
		}
		if upd.IsActive != nil {
			set.add("is_active", *upd.IsActive)
		}
		if upd.Meta != nil {
			set.add("meta", jsonArg(*upd.Meta, "{}"))
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE injectables SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return s.conflict(err, "update injectable", slugConflict)
		}
		if err := affected(res, "Injectable"); err != nil {
			return err
		}
		i, err = scanInjectable(q.QueryRowContext(ctx, `SELECT `+injectableColumns+` FROM injectables WHERE id = $1`, id))
		return err
	})
	return i, s.wrap(err, "update injectable")
}

// DeleteInjectable removes an injectable.
func (s *Store) DeleteInjectable(ctx context.Context, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM injectables WHERE id = $1`, id)
	if err != nil {
		return s.wrap(err, "delete injectable")
	}
	return affected(res, "Injectable")
}
