package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// DomainInput holds the fields of a domain create or update.
type DomainInput struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules (a string where a number belongs); they are reported
	// together with the rules' own, after the access checks.
	Problems core.Problems

	Domain      Opt[string]
	Environment Opt[string]
	IsPrimary   Opt[bool]
	IsVerified  Opt[bool]
	IsLocked    Opt[bool]
	HasPaid     Opt[bool]
	IsActive    Opt[bool]
}

var errDomainNotInProject = &core.Error{Code: core.EForbidden, Reason: core.ReasonDomainNotInProject,
	Message: "The domain does not belong to this project."}

func validateDomain(in *DomainInput, create bool) error {
	p := core.Problems{}
	p.Merge(in.Problems)
	if in.Domain.Set || create {
		switch host, ok := licensing.ValidHost(in.Domain.V); {
		case in.Domain.V == "":
			p.Add("domain", "The domain field is required.")
		case !ok:
			p.Add("domain", "The domain field must be a valid domain: a fully qualified name (example.com), localhost[:port], an IPv4 address[:port] or [IPv6]:port.")
		default:
			in.Domain.V = host
		}
	}
	if in.Environment.Set || create {
		switch in.Environment.V {
		case core.EnvProduction, core.EnvStaging, core.EnvDevelopment:
		case "":
			p.Add("environment", "The environment field is required.")
		default:
			p.Add("environment", "The selected environment is invalid: use production, staging or development.")
		}
	}
	return p.Err()
}

// ListDomains returns a project's domains, oldest first.
func (s *Service) ListDomains(ctx context.Context, actor *core.Actor, projectID, afterID int64, limit int) ([]core.Domain, error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeDomainsRead)
	if err != nil {
		return nil, err
	}
	return s.store.ListDomains(ctx, core.DomainFilter{ProjectID: p.ID, AfterID: afterID, Limit: limit})
}

// Domain returns one domain of a project. A domain of another project is
// 403 here and for delete, 404 for update, as DevPayr answers.
func (s *Service) Domain(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.Domain, error) {
	_, d, err := recordAccess(ctx, s, s.store, actor, projectID, core.ScopeDomainsRead, domainRecord, id, errDomainNotInProject)
	return d, err
}

// CreateDomain registers a domain on a project; setting has_paid needs
// payments:write.
func (s *Service) CreateDomain(ctx context.Context, actor *core.Actor, projectID int64, in DomainInput) (*core.Domain, error) {
	var d *core.Domain
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, projectID, core.ScopeDomainsWrite)
		if err != nil {
			return err
		}
		if in.HasPaid.Set {
			if err := actor.Require(core.ScopePaymentsWrite); err != nil {
				return err
			}
		}
		if err := s.checkCap(ctx, st, p.OrgID, p.ID, core.CapDomainsPerProject); err != nil {
			return err
		}
		if err := validateDomain(&in, true); err != nil {
			return err
		}
		d = &core.Domain{ProjectID: p.ID, Domain: in.Domain.V, Environment: in.Environment.V, IsPrimary: in.IsPrimary.V,
			IsVerified: in.IsVerified.V, IsLocked: in.IsLocked.V, HasPaid: in.HasPaid.V, IsActive: true, CreatedBy: actor.UserID}
		if in.IsActive.Set {
			d.IsActive = in.IsActive.V
		}
		if err := st.CreateDomain(ctx, d); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("domain", "The domain has already been taken.")
			}
			return err
		}
		changed(core.Change{Kind: core.ChangeDomain, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitDomain(ctx, st, p, EventDomainCreated, nil, d); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("domain.create", "domain", d.ID, p.ID, map[string]any{
			"domain": d.Domain, "environment": d.Environment, "is_primary": d.IsPrimary, "has_paid": d.HasPaid}))
	})
	return d, err
}

// UpdateDomain changes the fields that are set.
func (s *Service) UpdateDomain(ctx context.Context, actor *core.Actor, projectID, id int64, in DomainInput) (*core.Domain, error) {
	var out *core.Domain
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, d, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeDomainsWrite, domainRecord, id, core.NotFound("Domain"))
		if err != nil {
			return err
		}
		if in.HasPaid.Set {
			if err := actor.Require(core.ScopePaymentsWrite); err != nil {
				return err
			}
		}
		if err := validateDomain(&in, false); err != nil {
			return err
		}
		upd := core.DomainUpdate{}
		details := map[string]any{}
		if in.Domain.Set {
			upd.Domain, details["domain"] = &in.Domain.V, in.Domain.V
		}
		if in.Environment.Set {
			upd.Environment, details["environment"] = &in.Environment.V, in.Environment.V
		}
		for name, f := range map[string]struct {
			in  Opt[bool]
			dst **bool
		}{"is_primary": {in.IsPrimary, &upd.IsPrimary}, "is_verified": {in.IsVerified, &upd.IsVerified},
			"is_locked": {in.IsLocked, &upd.IsLocked}, "has_paid": {in.HasPaid, &upd.HasPaid}, "is_active": {in.IsActive, &upd.IsActive}} {
			if f.in.Set {
				v := f.in.V
				*f.dst, details[name] = &v, v
			}
		}
		out, err = st.UpdateDomain(ctx, d.ID, upd)
		if core.IsCode(err, core.EConflict) {
			return core.Invalid("domain", "The domain has already been taken.")
		}
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeDomain, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitDomain(ctx, st, p, EventDomainUpdated, d, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("domain.update", "domain", d.ID, p.ID, details))
	})
	return out, err
}

// DeleteDomain removes a domain; licenses pinned to it become unpinned.
func (s *Service) DeleteDomain(ctx context.Context, actor *core.Actor, projectID, id int64) error {
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, d, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeDomainsWrite, domainRecord, id, errDomainNotInProject)
		if err != nil {
			return err
		}
		if err := st.DeleteDomain(ctx, d.ID); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeDomain, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitDomain(ctx, st, p, EventDomainDeleted, nil, d); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("domain.delete", "domain", d.ID, p.ID, map[string]any{"domain": d.Domain}))
	})
}
