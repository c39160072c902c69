package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// CreateProject inserts p.
func (s *Store) CreateProject(ctx context.Context, p *core.Project) error {
	now := s.clock()
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO projects (org_id, name, slug, description, default_redirect_url, logo_url, webhook_url,
		                       webhook_secret_enc, meta, is_active, has_paid, created_by, created_at, updated_at, license_defaults,
		                       license_file_encryption)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15) RETURNING id`,
		p.OrgID, p.Name, p.Slug, optStringArg(p.Description), optStringArg(p.DefaultRedirectURL), optStringArg(p.LogoURL),
		optStringArg(p.WebhookURL), p.WebhookSecretEnc, jsonArg(p.Meta, "{}"), p.IsActive, p.HasPaid,
		nullID(p.CreatedBy), now, rulesArg(p.LicenseDefaults), p.LicenseFileEncryption).Scan(&p.ID)
	if err != nil {
		return s.conflict(err, "create project", "The slug has already been taken.")
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

const projectColumns = `id, org_id, name, slug, description, default_redirect_url, logo_url, webhook_url,
	webhook_secret_enc, meta, is_active, has_paid, locked_at, created_by, created_at, updated_at, deleted_at, license_defaults,
	license_file_encryption`

func scanProject(row interface{ Scan(...any) error }) (*core.Project, error) {
	var p core.Project
	var meta []byte
	err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Slug, optString{&p.Description}, optString{&p.DefaultRedirectURL},
		optString{&p.LogoURL}, optString{&p.WebhookURL}, &p.WebhookSecretEnc, &meta, &p.IsActive, &p.HasPaid,
		nullTime{&p.LockedAt}, zeroInt{&p.CreatedBy}, utc{&p.CreatedAt}, utc{&p.UpdatedAt}, nullTime{&p.DeletedAt},
		rulesScan{&p.LicenseDefaults}, &p.LicenseFileEncryption)
	p.Meta = meta
	return &p, err
}

// Project returns a live (not deleted) project.
func (s *Store) Project(ctx context.Context, id int64) (*core.Project, error) {
	p, err := scanProject(s.r().QueryRowContext(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = $1 AND deleted_at IS NULL`, id))
	return p, s.wrap(notFound(err, "Project"), "project")
}

// ProjectBySlug returns a live project of the organization by slug.
func (s *Store) ProjectBySlug(ctx context.Context, orgID int64, slug string) (*core.Project, error) {
	p, err := scanProject(s.r().QueryRowContext(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE org_id = $1 AND slug = $2 AND deleted_at IS NULL`, orgID, slug))
	return p, s.wrap(notFound(err, "Project"), "project by slug")
}

// ListProjects returns live projects, oldest first.
func (s *Store) ListProjects(ctx context.Context, f core.ProjectFilter) ([]core.Project, error) {
	var args argList
	q := `SELECT ` + projectColumns + ` FROM projects WHERE deleted_at IS NULL AND org_id = ` + args.add(f.OrgID)
	if f.OnlyID != 0 {
		q += ` AND id = ` + args.add(f.OnlyID)
	}
	if f.AfterID != 0 {
		q += ` AND id > ` + args.add(f.AfterID)
	}
	q += ` ORDER BY id LIMIT ` + args.add(limit(f.Limit, 50, 1000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list projects")
	}
	defer rows.Close()
	var out []core.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, s.wrap(err, "list projects")
		}
		out = append(out, *p)
	}
	return out, s.wrap(rows.Err(), "list projects")
}

// UpdateProject changes the fields of upd that are set.
func (s *Store) UpdateProject(ctx context.Context, id int64, upd core.ProjectUpdate) (*core.Project, error) {
	var p *core.Project
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if upd.Name != nil {
			set.add("name", *upd.Name)
		}
		if upd.Slug != nil {
			set.add("slug", *upd.Slug)
		}
		if upd.Description != nil {
			set.add("description", optStringArg(*upd.Description))
		}
		if upd.DefaultRedirectURL != nil {
			set.add("default_redirect_url", optStringArg(*upd.DefaultRedirectURL))
		}
		if upd.LogoURL != nil {
			set.add("logo_url", optStringArg(*upd.LogoURL))
		}
		if upd.WebhookURL != nil {
			set.add("webhook_url", optStringArg(*upd.WebhookURL))
		}
		if upd.WebhookSecretEnc != nil {
			set.add("webhook_secret_enc", *upd.WebhookSecretEnc)
		}
		if upd.Meta != nil {
			set.add("meta", jsonArg(*upd.Meta, "{}"))
		}
		if upd.IsActive != nil {
			set.add("is_active", *upd.IsActive)
		}
		if upd.HasPaid != nil {
			set.add("has_paid", *upd.HasPaid)
		}
		if upd.LicenseDefaults != nil {
			set.add("license_defaults", rulesArg(*upd.LicenseDefaults))
		}
		if upd.LicenseFileEncryption != nil {
			set.add("license_file_encryption", *upd.LicenseFileEncryption)
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE projects SET `+set.clause()+` WHERE deleted_at IS NULL AND id = `+set.next(),
			append(set.args, id)...)
		if err != nil {
			return s.conflict(err, "update project", "The slug has already been taken.")
		}
		if err := affected(res, "Project"); err != nil {
			return err
		}
		p, err = scanProject(q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
		return err
	})
	return p, s.wrap(err, "update project")
}

// DeleteProject soft-deletes a project: it and everything under it become
// invisible, and its API keys stop working (they are revoked).
func (s *Store) DeleteProject(ctx context.Context, id int64, at time.Time) error {
	return s.wrap(s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE projects SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL`, ts(at), id)
		if err != nil {
			return err
		}
		if err := affected(res, "Project"); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = $1, updated_at = $1 WHERE project_id = $2 AND revoked_at IS NULL`, ts(at), id)
		return err
	}), "delete project")
}
