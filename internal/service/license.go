package service

import (
	"context"
	"errors"
	"strconv"
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

	// Issue 14: the customer and order, the vendor's metadata, seats and
	// the churn limit.
	CustomerName  Opt[*string]
	CustomerEmail Opt[*string]
	ExternalID    Opt[*string]
	// Metadata is the whole metadata on create, a merge patch on update;
	// a nil patch (JSON null) removes every entry.
	Metadata                Opt[MetadataPatch]
	MaxConcurrent           Opt[*int64] // 0 stored as nil: no seat limit
	HeartbeatTTL            Opt[*int64] // seconds, 30..86400
	MaxNewActivationsPerDay Opt[*int64] // 0 stored as nil
	// ExpiresIn is a duration (licensing.ParseDuration) that sets
	// expires_at to now plus it; it excludes ExpiresAt.
	ExpiresIn Opt[string]
}

// Bounds of a seat's heartbeat TTL, in seconds.
const (
	MinHeartbeatTTL = 30
	MaxHeartbeatTTL = 86400
)

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
	if in.ExpiresIn.Set {
		d, err := licensing.ParseDuration(in.ExpiresIn.V)
		switch {
		case in.ExpiresAt.Set:
			p.Add("expires_in", "The expires in field cannot be sent with expires at: send one of them.")
		case err != nil:
			p.Add("expires_in", licensing.DurationHint("expires_in"))
		default:
			t := s.now().Add(d)
			in.ExpiresAt = Some(&t)
		}
	}
	s.validateCustomer(p, in)
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

// validateCustomer checks the issue 14 fields, normalising them: text is
// trimmed and an empty one is nil; a zero seat or churn limit is nil (no
// limit).
func (s *Service) validateCustomer(p core.Problems, in *LicenseInput) {
	for field, o := range map[string]*Opt[*string]{"customer_name": &in.CustomerName, "customer_email": &in.CustomerEmail,
		"external_id": &in.ExternalID} {
		if !o.Set || o.V == nil {
			continue
		}
		v := strings.TrimSpace(*o.V)
		switch {
		case v == "":
			o.V = nil
			continue
		case !core.ValidText(v):
			p.Add(field, core.InvalidText(field).Message)
			continue
		}
		maxLen(p, field, v, 255)
		if field == "customer_email" {
			if _, err := ValidEmail(v); err != nil {
				p.Add(field, "The customer email field must be a valid email address.")
			}
		}
		o.V = &v
	}
	if in.Metadata.Set && in.Metadata.V != nil {
		checkMetadata(p, "metadata", in.Metadata.V)
		if len(in.Metadata.V) > 4*MaxMetadataKeys {
			// Even a patch that removes keys cannot name this many.
			p.Add("metadata", "The metadata field must not name more than "+strconv.Itoa(4*MaxMetadataKeys)+" keys.")
		}
	}
	for field, o := range map[string]*Opt[*int64]{"max_concurrent": &in.MaxConcurrent,
		"max_new_activations_per_day": &in.MaxNewActivationsPerDay} {
		switch {
		case !o.Set || o.V == nil:
		case *o.V < 0:
			p.Add(field, "The "+label(field)+" field must be at least 0 (0 or null: no limit).")
		case *o.V == 0:
			o.V = nil
		}
	}
	if v := in.HeartbeatTTL.V; in.HeartbeatTTL.Set && v != nil && (*v < MinHeartbeatTTL || *v > MaxHeartbeatTTL) {
		p.Add("heartbeat_ttl", "The heartbeat ttl field must be between "+strconv.Itoa(MinHeartbeatTTL)+" and "+
			strconv.Itoa(MaxHeartbeatTTL)+" seconds.")
	}
}

// licenseConflict turns the store's unique-rule conflicts into the API's
// answers: a duplicate external ID is 409 EXTERNAL_ID_TAKEN, a duplicate
// title stays DevPayr's 422.
func licenseConflict(err error) error {
	ce, ok := errors.AsType[*core.Error](err)
	if !ok || ce.Code != core.EConflict {
		return err
	}
	if msgs, ok := ce.Fields["external_id"]; ok {
		return &core.Error{Code: core.EConflict, Reason: core.ReasonExternalIDTaken, Message: ce.Message,
			Fields: map[string][]string{"external_id": msgs}}
	}
	return core.Invalid("title", "The title has already been taken.")
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
	if err := checkLicenseFilter(&f, "").Err(); err != nil {
		return nil, err
	}
	scopeLicenses(actor, &f)
	f.ProjectID, f.OrgID = p.ID, 0
	return s.listLicenses(ctx, f)
}

// ListAllLicenses returns the licenses of every live project the actor may
// see, newest first: a project-bound key's project only. projectID, when
// not 0, narrows the list to that project, checked as the per-project list
// checks it.
func (s *Service) ListAllLicenses(ctx context.Context, actor *core.Actor, projectID int64, f core.LicenseFilter) ([]core.License, error) {
	if err := s.allLicensesFilter(ctx, actor, projectID, &f); err != nil {
		return nil, err
	}
	return s.listLicenses(ctx, f)
}

// CountAllLicenses returns how many licenses ListAllLicenses would list
// with f, without its cursor, offset and limit: the dashboard's total.
func (s *Service) CountAllLicenses(ctx context.Context, actor *core.Actor, projectID int64, f core.LicenseFilter) (int64, error) {
	if err := s.allLicensesFilter(ctx, actor, projectID, &f); err != nil {
		return 0, err
	}
	return s.store.CountMatchingLicenses(ctx, f)
}

// allLicensesFilter checks access as ListAllLicenses does and completes f.
func (s *Service) allLicensesFilter(ctx context.Context, actor *core.Actor, projectID int64, f *core.LicenseFilter) error {
	f.ProjectID, f.OrgID = 0, actor.OrgID
	switch {
	case projectID != 0:
		p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeLicensesRead)
		if err != nil {
			return err
		}
		f.ProjectID = p.ID
	case actor.ProjectID != 0:
		// A bound key's project: checked, so that a deleted one lists
		// nothing rather than its leftover licenses.
		p, err := s.projectAccess(ctx, s.store, actor, actor.ProjectID, core.ScopeLicensesRead)
		if err != nil {
			return err
		}
		f.ProjectID = p.ID
	default:
		if err := actor.Require(core.ScopeLicensesRead); err != nil {
			return err
		}
	}
	if err := checkLicenseFilter(f, "").Err(); err != nil {
		return err
	}
	scopeLicenses(actor, f)
	return nil
}

func (s *Service) listLicenses(ctx context.Context, f core.LicenseFilter) ([]core.License, error) {
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
	if err := hideLicense(actor, l); err != nil {
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
	// The fields are checked before the transaction (it only reports them,
	// after the access checks, as DevPayr orders them).
	s.applyLicenseDefaults(ctx, projectID, &in)
	checked := s.validateLicense(&in, true)
	forceTestLicense(actor, &in, true, checked)
	var metadata map[string]string
	if in.Metadata.Set && !checked.Has("metadata") {
		m, err := applyMetadata("metadata", nil, in.Metadata.V)
		if ce, ok := errors.AsType[*core.Error](err); ok {
			checked.Merge(ce.Fields)
		}
		metadata = m
	}
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, projectID, core.ScopeLicensesWrite)
		if err != nil {
			return err
		}
		if err := s.checkCap(ctx, st, p.OrgID, p.ID, core.CapLicensesPerProject); err != nil {
			return err
		}
		probs := core.Problems{}
		probs.Merge(checked)
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
			CustomerName: in.CustomerName.V, CustomerEmail: in.CustomerEmail.V, ExternalID: in.ExternalID.V, Metadata: metadata,
			MaxConcurrent: in.MaxConcurrent.V, HeartbeatTTL: in.HeartbeatTTL.V, MaxNewActivationsPerDay: in.MaxNewActivationsPerDay.V,
		}
		if !in.ValidateAgainst.Set {
			l.ValidateAgainst = core.ValidateLicenseDomains
			if l.DomainID != 0 {
				l.ValidateAgainst = core.ValidateProjectDomains
			}
		}
		if err := st.CreateLicense(ctx, l); err != nil {
			return licenseConflict(err)
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
	// The customer's e-mail and name are personal data: the audit log,
	// kept for years, names the order instead.
	if l.ExternalID != nil {
		d["external_id"] = *l.ExternalID
	}
	if len(l.Metadata) > 0 {
		d["metadata_keys"] = sortedKeys(l.Metadata)
	}
	for k, v := range map[string]*int64{"max_concurrent": l.MaxConcurrent, "heartbeat_ttl": l.HeartbeatTTL,
		"max_new_activations_per_day": l.MaxNewActivationsPerDay} {
		if v != nil {
			d[k] = *v
		}
	}
	return d
}

var errLicenseNotInProject = &core.Error{Code: core.EForbidden, Reason: core.ReasonLicenseNotInProject,
	Message: "The license does not belong to this project."}

// UpdateLicense changes any field, under the create rules (native).
func (s *Service) UpdateLicense(ctx context.Context, actor *core.Actor, projectID, id int64, in LicenseInput) (*core.License, error) {
	var out *core.License
	checked := s.validateLicense(&in, false)
	forceTestLicense(actor, &in, false, checked)
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id, core.NotFound("License"))
		if err != nil {
			return err
		}
		probs := core.Problems{}
		probs.Merge(checked)
		var metadata map[string]string
		if in.Metadata.Set && in.Metadata.V != nil && !probs.Has("metadata") {
			// The merge needs the current entries, so its size is checked here.
			metadata, err = applyMetadata("metadata", l.Metadata, in.Metadata.V)
			if ce, ok := errors.AsType[*core.Error](err); ok {
				probs.Merge(ce.Fields)
			}
		}
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
		for _, f := range []struct {
			in  *Opt[*string]
			dst ***string
		}{{&in.CustomerName, &upd.CustomerName}, {&in.CustomerEmail, &upd.CustomerEmail}, {&in.ExternalID, &upd.ExternalID}} {
			if f.in.Set {
				*f.dst = &f.in.V
			}
		}
		for _, f := range []struct {
			in  *Opt[*int64]
			dst ***int64
		}{{&in.MaxConcurrent, &upd.MaxConcurrent}, {&in.HeartbeatTTL, &upd.HeartbeatTTL},
			{&in.MaxNewActivationsPerDay, &upd.MaxNewActivationsPerDay}} {
			if f.in.Set {
				*f.dst = &f.in.V
			}
		}
		if in.Metadata.Set {
			if metadata == nil {
				metadata = map[string]string{}
			}
			upd.Metadata = &metadata
		}
		out, err = st.UpdateLicense(ctx, l.ID, upd)
		if err != nil {
			return licenseConflict(err)
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
