package service

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// ProjectInput holds the fields of a project create or update; unset
// fields are left alone on update.
type ProjectInput struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules (a string where a number belongs); they are reported
	// together with the rules' own, after the access checks.
	Problems core.Problems

	Name               Opt[string]
	Slug               Opt[string]
	Description        Opt[*string]
	DefaultRedirectURL Opt[*string]
	LogoURL            Opt[*string]
	WebhookURL         Opt[*string]
	WebhookSecret      Opt[*string]
	Meta               Opt[json.RawMessage]
	IsActive           Opt[bool]
	HasPaid            Opt[bool]
	// LicenseDefaults is a merge patch of the project's license defaults
	// (issue 15; license_defaults.go).
	LicenseDefaults Opt[LicenseDefaultsPatch]
	// LicenseFileEncryption encrypts the project's license files under
	// each license's key (issue 16; license_file.go).
	LicenseFileEncryption Opt[bool]
}

// ListProjects returns the projects the actor may see, oldest first after
// afterID: every project of its organization, or a project-scoped key's
// own.
func (s *Service) ListProjects(ctx context.Context, actor *core.Actor, afterID int64, limit int) ([]core.Project, error) {
	if err := actor.Require(core.ScopeProjectsRead); err != nil {
		return nil, err
	}
	return s.store.ListProjects(ctx, core.ProjectFilter{OrgID: actor.OrgID, OnlyID: actor.ProjectID, AfterID: afterID, Limit: limit})
}

func maxLen(p core.Problems, field string, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		p.Add(field, "The "+label(field)+" field must not be greater than "+strconv.Itoa(n)+" characters.")
	}
}

func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

func validURL(p core.Problems, field string, v *string) {
	if v == nil {
		return
	}
	u, err := url.Parse(*v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*v) > 2048 {
		p.Add(field, "The "+label(field)+" field must be a valid URL.")
	}
}

func validSlug(p core.Problems, slug string) {
	if slug == "" {
		p.Add("slug", "The slug field must not be empty.")
		return
	}
	maxLen(p, "slug", slug, 255)
	for _, r := range slug {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			p.Add("slug", "The slug field must only contain letters, numbers, dashes, and underscores.")
			return
		}
	}
}

// validateProject checks the fields that are set; create requires name.
func validateProject(in *ProjectInput, create bool) error {
	p := core.Problems{}
	p.Merge(in.Problems)
	if in.Name.Set || create {
		name := strings.TrimSpace(in.Name.V)
		in.Name.V = name
		if name == "" {
			p.Add("name", "The name field is required.")
		}
		maxLen(p, "name", name, 255)
	}
	if in.Slug.Set {
		validSlug(p, in.Slug.V)
	}
	if in.Description.Set && in.Description.V != nil {
		maxLen(p, "description", *in.Description.V, 1000)
	}
	validURL(p, "default_redirect_url", in.DefaultRedirectURL.V)
	validURL(p, "logo_url", in.LogoURL.V)
	validURL(p, "webhook_url", in.WebhookURL.V)
	if in.WebhookSecret.Set && in.WebhookSecret.V != nil {
		maxLen(p, "webhook_secret", *in.WebhookSecret.V, 255)
	}
	checkProjectLicenseDefaults(p, in)
	return p.Err()
}

// uniqueSlug returns base, or base-2, base-3… that no live project of the
// organization uses.
func uniqueSlug(ctx context.Context, st core.Store, orgID int64, base string) (string, error) {
	slug := base
	for i := 2; ; i++ {
		_, err := st.ProjectBySlug(ctx, orgID, slug)
		if core.IsCode(err, core.ENotFound) {
			return slug, nil
		}
		if err != nil {
			return "", err
		}
		slug = base + "-" + strconv.Itoa(i)
	}
}

// CreateProject creates a project. Only global keys may (DevPayr's rule);
// setting has_paid needs payments:write.
func (s *Service) CreateProject(ctx context.Context, actor *core.Actor, in ProjectInput) (*core.Project, error) {
	if actor.ProjectID != 0 {
		return nil, &core.Error{Code: core.EForbidden, Reason: core.ReasonGlobalKeyRequired,
			Message: "Only global API keys can create projects."}
	}
	if err := actor.Require(core.ScopeProjectsWrite); err != nil {
		return nil, err
	}
	if in.HasPaid.Set {
		if err := actor.Require(core.ScopePaymentsWrite); err != nil {
			return nil, err
		}
	}
	// The fields are checked before the transaction (write may run its
	// function again) and reported inside it, after the plan's cap: DevPayr
	// enforces the project count before validation.
	invalid := validateProject(&in, true)
	p := &core.Project{OrgID: actor.OrgID, Name: in.Name.V, Description: in.Description.V,
		DefaultRedirectURL: in.DefaultRedirectURL.V, LogoURL: in.LogoURL.V, WebhookURL: in.WebhookURL.V,
		Meta: in.Meta.V, IsActive: true, HasPaid: in.HasPaid.V, CreatedBy: actor.UserID,
		LicenseDefaults: in.LicenseDefaults.V.apply(core.LicenseDefaults{}), LicenseFileEncryption: in.LicenseFileEncryption.V}
	if in.IsActive.Set {
		p.IsActive = in.IsActive.V
	}
	if in.WebhookSecret.V != nil {
		p.WebhookSecretEnc = s.webhookBox.Seal([]byte(*in.WebhookSecret.V))
	}
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		if err := s.checkCap(ctx, st, actor.OrgID, 0, core.CapProjects); err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		var err error
		if in.Slug.Set {
			p.Slug = in.Slug.V
		} else if p.Slug, err = uniqueSlug(ctx, st, actor.OrgID, slugOrDefault(in.Name.V)); err != nil {
			return err
		}
		if err := st.CreateProject(ctx, p); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("slug", "The slug has already been taken.")
			}
			return err
		}
		ep, err := s.syncProjectEndpoint(ctx, st, changed, p, true)
		if err != nil {
			return err
		}
		if err := s.emitProject(ctx, st, EventProjectCreated, nil, p, ep); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("project.create", "project", p.ID, p.ID, map[string]any{"name": p.Name, "slug": p.Slug}))
	})
	return p, err
}

func slugOrDefault(name string) string {
	if s := Slugify(name); s != "" {
		return s
	}
	return "project"
}

// UpdateProject changes the fields that are set.
func (s *Service) UpdateProject(ctx context.Context, actor *core.Actor, id int64, in ProjectInput) (*core.Project, error) {
	var out *core.Project
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, id, core.ScopeProjectsWrite)
		if err != nil {
			return err
		}
		if in.HasPaid.Set {
			if err := actor.Require(core.ScopePaymentsWrite); err != nil {
				return err
			}
		}
		if err := validateProject(&in, false); err != nil {
			return err
		}
		upd := core.ProjectUpdate{}
		if in.Name.Set {
			upd.Name = &in.Name.V
		}
		if in.Slug.Set {
			upd.Slug = &in.Slug.V
		}
		if in.Description.Set {
			upd.Description = &in.Description.V
		}
		if in.DefaultRedirectURL.Set {
			upd.DefaultRedirectURL = &in.DefaultRedirectURL.V
		}
		if in.LogoURL.Set {
			upd.LogoURL = &in.LogoURL.V
		}
		if in.WebhookURL.Set {
			upd.WebhookURL = &in.WebhookURL.V
		}
		if in.WebhookSecret.Set {
			var enc []byte
			if in.WebhookSecret.V != nil {
				enc = s.webhookBox.Seal([]byte(*in.WebhookSecret.V))
			}
			upd.WebhookSecretEnc = &enc
		}
		if in.Meta.Set {
			upd.Meta = &in.Meta.V
		}
		if in.IsActive.Set {
			upd.IsActive = &in.IsActive.V
		}
		if in.HasPaid.Set {
			upd.HasPaid = &in.HasPaid.V
		}
		if in.LicenseDefaults.Set {
			upd.LicenseDefaults = new(in.LicenseDefaults.V.apply(p.LicenseDefaults))
		}
		if in.LicenseFileEncryption.Set {
			upd.LicenseFileEncryption = &in.LicenseFileEncryption.V
		}
		out, err = st.UpdateProject(ctx, p.ID, upd)
		if core.IsCode(err, core.EConflict) {
			return core.Invalid("slug", "The slug has already been taken.")
		}
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeProject, ID: p.ID})
		catalogChanged(changed, p.ID)
		ep, err := s.syncProjectEndpoint(ctx, st, changed, out, in.WebhookSecret.Set)
		if err != nil {
			return err
		}
		if err := s.emitProject(ctx, st, EventProjectUpdated, p, out, ep); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("project.update", "project", p.ID, p.ID, projectChanges(in)))
	})
	return out, err
}

// projectChanges lists the fields an update set, for the audit log; the
// webhook secret's value is never recorded.
func projectChanges(in ProjectInput) map[string]any {
	d := map[string]any{}
	if in.Name.Set {
		d["name"] = in.Name.V
	}
	if in.Slug.Set {
		d["slug"] = in.Slug.V
	}
	if in.Description.Set {
		d["description"] = in.Description.V
	}
	if in.DefaultRedirectURL.Set {
		d["default_redirect_url"] = in.DefaultRedirectURL.V
	}
	if in.LogoURL.Set {
		d["logo_url"] = in.LogoURL.V
	}
	if in.WebhookURL.Set {
		d["webhook_url"] = in.WebhookURL.V
	}
	if in.WebhookSecret.Set {
		d["webhook_secret"] = "(changed)"
	}
	if in.Meta.Set {
		d["meta"] = json.RawMessage(in.Meta.V)
	}
	if in.IsActive.Set {
		d["is_active"] = in.IsActive.V
	}
	if in.HasPaid.Set {
		d["has_paid"] = in.HasPaid.V
	}
	if in.LicenseDefaults.Set {
		d["license_defaults"] = "(changed)"
	}
	if in.LicenseFileEncryption.Set {
		d["license_file_encryption"] = in.LicenseFileEncryption.V
	}
	return d
}

// DeleteProject soft-deletes a project: it, its domains, licenses and
// injectables become inaccessible and its project-scoped keys are revoked.
func (s *Service) DeleteProject(ctx context.Context, actor *core.Actor, id int64) error {
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, id, core.ScopeProjectsWrite)
		if err != nil {
			return err
		}
		if err := s.checkProjectDeletion(ctx, st, actor, p.OrgID); err != nil {
			return err
		}
		if err := st.DeleteProject(ctx, p.ID, s.now()); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeProject, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitProject(ctx, st, EventProjectDeleted, nil, p, nil); err != nil {
			return err
		}
		deleted := *p
		deleted.WebhookURL = nil // its endpoint goes with it
		if _, err := s.syncProjectEndpoint(ctx, st, changed, &deleted, false); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("project.delete", "project", p.ID, p.ID, map[string]any{"name": p.Name, "slug": p.Slug}))
	})
}

// WebhookSecret returns a project's webhook secret, for signing outgoing
// webhooks; empty when none is set.
func (s *Service) WebhookSecret(p *core.Project) (string, error) {
	if len(p.WebhookSecretEnc) == 0 {
		return "", nil
	}
	b, err := s.webhookBox.Open(p.WebhookSecretEnc)
	return string(b), err
}
