package service

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// LicenseInput holds the fields of a license create or update (seed 001).
type LicenseInput struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules (a string where a number belongs); they are reported
	// together with the rules' own, after the access checks.
	Problems core.Problems

	Title                  Opt[string]
	DomainID               Opt[int64] // 0 unpins
	ExpiresAt              Opt[*time.Time]
	MaxDomains             Opt[*int64]
	MaxSubdomainsPerDomain Opt[*int64]
	MaxUsagePerDay         Opt[*int64]
	AllowedIPs             Opt[*string]
	AllowedCountries       Opt[*string]
	IsTestLicense          Opt[bool]
	AllowConfigs           Opt[bool]
	ValidateAgainst        Opt[string]
}

// reveal decrypts the license key for display.
func (s *Service) reveal(l *core.License) error {
	b, err := s.licenseBox.Open(l.KeyEnc)
	if err != nil {
		return err
	}
	l.UUID = string(b)
	return nil
}

// validateLicense checks the set fields (and title on create), normalising
// the IP and country lists. Rules needing the store (domain of the
// project, unique title) are checked by the caller.
func (s *Service) validateLicense(in *LicenseInput, create bool) core.Problems {
	p := core.Problems{}
	p.Merge(in.Problems)
	if in.Title.Set || create {
		in.Title.V = strings.TrimSpace(in.Title.V)
		if in.Title.V == "" {
			p.Add("title", "The title field is required.")
		}
		maxLen(p, "title", in.Title.V, 255)
	}
	if in.ExpiresAt.V != nil && !in.ExpiresAt.V.After(s.now()) {
		p.Add("expires_at", "The expires at field must be a date after now.")
	}
	for field, v := range map[string]*int64{"max_domains": in.MaxDomains.V, "max_subdomains_per_domain": in.MaxSubdomainsPerDomain.V,
		"max_usage_per_day": in.MaxUsagePerDay.V} {
		if v != nil && *v < 0 {
			p.Add(field, "The "+label(field)+" field must be at least 0.")
		}
	}
	if in.AllowedIPs.V != nil {
		ips, bad := licensing.ParseIPList(*in.AllowedIPs.V)
		switch {
		case bad != "":
			p.Add("allowed_ips", "The allowed ips field must be a comma-separated list of valid IP addresses (or CIDR blocks): "+quoteShort(bad)+" is not one.")
		case len(ips) == 0:
			in.AllowedIPs.V = nil
		default:
			norm := licensing.FormatIPList(ips)
			in.AllowedIPs.V = &norm
		}
	}
	if in.AllowedCountries.V != nil {
		codes, bad := licensing.ParseCountries(*in.AllowedCountries.V)
		switch {
		case bad != "":
			p.Add("allowed_countries", "The allowed countries field must be a comma-separated list of ISO 3166-1 alpha-2 codes: "+
				quoteShort(bad)+" is not one"+licensing.CountryHint(bad)+".")
		case len(codes) == 0:
			in.AllowedCountries.V = nil
		default:
			norm := strings.Join(codes, ", ")
			in.AllowedCountries.V = &norm
		}
	}
	if in.ValidateAgainst.Set && in.ValidateAgainst.V != core.ValidateProjectDomains && in.ValidateAgainst.V != core.ValidateLicenseDomains {
		p.Add("validate_against", "The validate against field must be project_domains or license_domains.")
	}
	return p
}

// checkPinnedDomain adds a problem unless id is a domain of the project.
func checkPinnedDomain(ctx context.Context, st core.Store, p core.Problems, projectID, id int64) error {
	if id == 0 {
		return nil
	}
	d, err := st.Domain(ctx, id)
	if core.IsCode(err, core.ENotFound) || (err == nil && d.ProjectID != projectID) {
		p.Add("domain_id", "The selected domain id is invalid.")
		return nil
	}
	return err
}

// ListLicenses returns a project's licenses, newest first.
func (s *Service) ListLicenses(ctx context.Context, actor *core.Actor, projectID int64, f core.LicenseFilter) ([]core.License, error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeLicensesRead)
	if err != nil {
		return nil, err
	}
	f.ProjectID = p.ID
	ls, err := s.store.ListLicenses(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if err := s.reveal(&ls[i]); err != nil {
			return nil, err
		}
	}
	return ls, nil
}

// License returns one license. DevPayr checks that the license belongs to
// the project (404) before it checks the key (403): the one use case that
// does not open with recordAccess.
func (s *Service) License(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error) {
	l, err := s.licenses.get(ctx, s, id)
	if err != nil {
		return nil, err
	}
	if l.ProjectID != projectID {
		return nil, core.NotFound("License")
	}
	if _, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeLicensesRead); err != nil {
		return nil, err
	}
	return l, nil
}

// CreateLicense issues a license; its key is l.UUID.
func (s *Service) CreateLicense(ctx context.Context, actor *core.Actor, projectID int64, in LicenseInput) (*core.License, error) {
	var l *core.License
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, projectID, core.ScopeLicensesWrite)
		if err != nil {
			return err
		}
		probs := s.validateLicense(&in, true)
		if err := checkPinnedDomain(ctx, st, probs, p.ID, in.DomainID.V); err != nil {
			return err
		}
		if err := probs.Err(); err != nil {
			return err
		}
		now := s.now()
		key := licensing.NewKey(now)
		l = &core.License{
			ProjectID: p.ID, KeyDigest: licensing.KeyDigest(key), KeyEnc: s.licenseBox.Seal([]byte(key)), UUID: key,
			DomainID: in.DomainID.V, Title: in.Title.V, Status: core.LicenseActive, ExpiresAt: in.ExpiresAt.V,
			MaxDomains: in.MaxDomains.V, MaxSubdomainsPerDomain: in.MaxSubdomainsPerDomain.V, MaxUsagePerDay: in.MaxUsagePerDay.V,
			AllowedIPs: in.AllowedIPs.V, AllowedCountries: in.AllowedCountries.V, IsTestLicense: in.IsTestLicense.V,
			AllowConfigs: in.AllowConfigs.V, ValidateAgainst: in.ValidateAgainst.V, UserID: actor.UserID,
		}
		if !in.ValidateAgainst.Set {
			l.ValidateAgainst = core.ValidateLicenseDomains
			if l.DomainID != 0 {
				l.ValidateAgainst = core.ValidateProjectDomains
			}
		}
		if err := st.CreateLicense(ctx, l); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("title", "The title has already been taken.")
			}
			return err
		}
		catalogChanged(changed, p.ID)
		if err := s.emitLicense(ctx, st, p.OrgID, EventLicenseCreated, nil, l); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("license.create", "license", l.ID, p.ID, licenseAudit(l)))
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func licenseAudit(l *core.License) map[string]any {
	d := map[string]any{"title": l.Title, "status": l.Status, "is_test_license": l.IsTestLicense}
	if l.ExpiresAt != nil {
		d["expires_at"] = l.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if l.DomainID != 0 {
		d["domain_id"] = l.DomainID
	}
	return d
}

var errLicenseNotInProject = &core.Error{Code: core.EForbidden, Reason: core.ReasonLicenseNotInProject,
	Message: "The license does not belong to this project."}

// UpdateLicense changes any field, under the create rules (native).
func (s *Service) UpdateLicense(ctx context.Context, actor *core.Actor, projectID, id int64, in LicenseInput) (*core.License, error) {
	var out *core.License
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id, core.NotFound("License"))
		if err != nil {
			return err
		}
		probs := s.validateLicense(&in, false)
		if in.DomainID.Set {
			if err := checkPinnedDomain(ctx, st, probs, projectID, in.DomainID.V); err != nil {
				return err
			}
		}
		if err := probs.Err(); err != nil {
			return err
		}
		upd := core.LicenseUpdate{}
		if in.Title.Set {
			upd.Title = &in.Title.V
		}
		if in.DomainID.Set {
			upd.DomainID = &in.DomainID.V
			if !in.ValidateAgainst.Set && in.DomainID.V != 0 {
				in.ValidateAgainst = Some(core.ValidateProjectDomains)
			}
		}
		if in.ExpiresAt.Set {
			upd.ExpiresAt = &in.ExpiresAt.V
		}
		if in.MaxDomains.Set {
			upd.MaxDomains = &in.MaxDomains.V
		}
		if in.MaxSubdomainsPerDomain.Set {
			upd.MaxSubdomainsPerDomain = &in.MaxSubdomainsPerDomain.V
		}
		if in.MaxUsagePerDay.Set {
			upd.MaxUsagePerDay = &in.MaxUsagePerDay.V
		}
		if in.AllowedIPs.Set {
			upd.AllowedIPs = &in.AllowedIPs.V
		}
		if in.AllowedCountries.Set {
			upd.AllowedCountries = &in.AllowedCountries.V
		}
		if in.IsTestLicense.Set {
			upd.IsTestLicense = &in.IsTestLicense.V
		}
		if in.AllowConfigs.Set {
			upd.AllowConfigs = &in.AllowConfigs.V
		}
		if in.ValidateAgainst.Set {
			upd.ValidateAgainst = &in.ValidateAgainst.V
		}
		out, err = st.UpdateLicense(ctx, l.ID, upd)
		if core.IsCode(err, core.EConflict) {
			return core.Invalid("title", "The title has already been taken.")
		}
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeLicense, ID: l.ID})
		catalogChanged(changed, projectID)
		if err := s.emitLicense(ctx, st, p.OrgID, EventLicenseUpdated, l, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("license.update", "license", l.ID, projectID, licenseAudit(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, s.reveal(out)
}

// transition moves a license from one status to another.
func (s *Service) transition(ctx context.Context, actor *core.Actor, projectID, id int64, action string,
	check func(l *core.License, now time.Time) error, apply func(now time.Time) core.LicenseUpdate) (*core.License, error) {
	var out *core.License
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id, errLicenseNotInProject)
		if err != nil {
			return err
		}
		now := s.now()
		if err := check(l, now); err != nil {
			return err
		}
		out, err = st.UpdateLicense(ctx, l.ID, apply(now))
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeLicense, ID: l.ID})
		catalogChanged(changed, projectID)
		if err := s.emitLicense(ctx, st, p.OrgID, transitionEvents[action], l, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit(action, "license", l.ID, projectID,
			map[string]any{"title": l.Title, "from": l.Status, "to": out.Status}))
	})
	if err != nil {
		return nil, err
	}
	return out, s.reveal(out)
}

// transitionEvents names the event of each status change.
var transitionEvents = map[string]string{"license.revoke": EventLicenseRevoked, "license.suspend": EventLicenseSuspended,
	"license.reactivate": EventLicenseReactivated}

func stateError(msg string) error {
	return &core.Error{Code: core.EForbidden, Reason: core.ReasonInvalidState, Message: msg}
}

// RevokeLicense revokes an active license; it fails validation from the
// next request on, until reactivated.
func (s *Service) RevokeLicense(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error) {
	return s.transition(ctx, actor, projectID, id, "license.revoke",
		func(l *core.License, now time.Time) error {
			if l.Status != core.LicenseActive {
				return stateError("The license is not active, so it cannot be revoked.")
			}
			return nil
		},
		func(now time.Time) core.LicenseUpdate {
			st, at := core.LicenseRevoked, &now
			return core.LicenseUpdate{Status: &st, RevokedAt: &at}
		})
}

// SuspendLicense suspends an active license (native; reactivate undoes it).
func (s *Service) SuspendLicense(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error) {
	return s.transition(ctx, actor, projectID, id, "license.suspend",
		func(l *core.License, now time.Time) error {
			if l.Status != core.LicenseActive {
				return stateError("The license is not active, so it cannot be suspended.")
			}
			return nil
		},
		func(now time.Time) core.LicenseUpdate {
			st, at := core.LicenseSuspended, &now
			return core.LicenseUpdate{Status: &st, SuspendedAt: &at}
		})
}

// ReactivateLicense reactivates a revoked or suspended license that has
// not expired.
func (s *Service) ReactivateLicense(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error) {
	return s.transition(ctx, actor, projectID, id, "license.reactivate",
		func(l *core.License, now time.Time) error {
			switch {
			case l.Status == core.LicenseActive:
				return stateError("The license is not revoked, so it cannot be reactivated.")
			case l.Expired(now):
				return stateError("The license has expired, so it cannot be reactivated.")
			}
			return nil
		},
		func(now time.Time) core.LicenseUpdate {
			st := core.LicenseActive
			var none *time.Time
			return core.LicenseUpdate{Status: &st, RevokedAt: &none, SuspendedAt: &none}
		})
}

// DeleteLicense deletes a license with its activations and usage. A
// license of another project answers 422, as DevPayr's validation-style
// refusal.
func (s *Service) DeleteLicense(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error) {
	var l *core.License
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		var err error
		var p *core.Project
		p, l, err = recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id,
			core.Invalid("license", "The selected license is invalid for this project."))
		if err != nil {
			return err
		}
		if err := st.DeleteLicense(ctx, l.ID); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeLicense, ID: l.ID})
		catalogChanged(changed, projectID)
		if err := s.emitLicense(ctx, st, p.OrgID, EventLicenseDeleted, nil, l); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("license.delete", "license", l.ID, projectID, map[string]any{"title": l.Title}))
	})
	return l, err
}
