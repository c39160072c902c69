package service

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// License defaults (issue 15): a project's, with its organization's as the
// fallback field by field, fill the fields a license create leaves out. A
// field sent as null is "no restriction" and takes no default; a field sent
// with a value is kept as sent.

// NeverExpires is the expires_in default meaning "no expiry": it lets a
// project override an organization-wide expiry.
const NeverExpires = "never"

// LicenseDefaultsPatch changes a set of license defaults as a JSON merge
// patch: a field set to nil removes that default, an unset field keeps it.
// Clear (the whole object sent as null) removes every default first.
type LicenseDefaultsPatch struct {
	Clear bool

	ExpiresIn              Opt[*string]
	MaxDomains             Opt[*int64]
	MaxSubdomainsPerDomain Opt[*int64]
	MaxUsagePerDay         Opt[*int64]
	MaxConcurrent          Opt[*int64]
	HeartbeatTTL           Opt[*int64]
	AllowedCountries       Opt[*string]
	AllowedIPs             Opt[*string]
	IsTestLicense          Opt[*bool]
	AllowConfigs           Opt[*bool]
}

// LicenseDefaultFields names the defaultable fields, in display order.
var LicenseDefaultFields = []string{"expires_in", "max_domains", "max_subdomains_per_domain", "max_usage_per_day",
	"max_concurrent", "heartbeat_ttl", "allowed_countries", "allowed_ips", "is_test_license", "allow_configs"}

// apply returns cur changed by the patch.
func (d LicenseDefaultsPatch) apply(cur core.LicenseDefaults) core.LicenseDefaults {
	if d.Clear {
		cur = core.LicenseDefaults{}
	}
	for _, f := range []struct {
		o   Opt[*string]
		dst **string
	}{{d.ExpiresIn, &cur.ExpiresIn}, {d.AllowedCountries, &cur.AllowedCountries}, {d.AllowedIPs, &cur.AllowedIPs}} {
		if f.o.Set {
			*f.dst = f.o.V
		}
	}
	for _, f := range []struct {
		o   Opt[*int64]
		dst **int64
	}{{d.MaxDomains, &cur.MaxDomains}, {d.MaxSubdomainsPerDomain, &cur.MaxSubdomainsPerDomain},
		{d.MaxUsagePerDay, &cur.MaxUsagePerDay}, {d.MaxConcurrent, &cur.MaxConcurrent}, {d.HeartbeatTTL, &cur.HeartbeatTTL}} {
		if f.o.Set {
			*f.dst = f.o.V
		}
	}
	for _, f := range []struct {
		o   Opt[*bool]
		dst **bool
	}{{d.IsTestLicense, &cur.IsTestLicense}, {d.AllowConfigs, &cur.AllowConfigs}} {
		if f.o.Set {
			*f.dst = f.o.V
		}
	}
	return cur
}

// ReplaceLicenseDefaults is the patch that replaces every default with d.
func ReplaceLicenseDefaults(d core.LicenseDefaults) LicenseDefaultsPatch {
	return LicenseDefaultsPatch{Clear: true,
		ExpiresIn: Some(d.ExpiresIn), MaxDomains: Some(d.MaxDomains), MaxSubdomainsPerDomain: Some(d.MaxSubdomainsPerDomain),
		MaxUsagePerDay: Some(d.MaxUsagePerDay), MaxConcurrent: Some(d.MaxConcurrent), HeartbeatTTL: Some(d.HeartbeatTTL),
		AllowedCountries: Some(d.AllowedCountries), AllowedIPs: Some(d.AllowedIPs), IsTestLicense: Some(d.IsTestLicense),
		AllowConfigs: Some(d.AllowConfigs)}
}

// defaultRules checks defaults with the license rules only: they read the
// clock for expires_at alone, which a default never holds.
var defaultRules = &Service{now: time.Now}

// checkLicenseDefaults checks the values a patch sets under the license
// create rules, with their messages, reported under prefix.field
// ("license_defaults.max_domains") and naming it so, and normalises them as a license
// stores them. An empty list or a 0 limit is kept (not turned into nil):
// it is "no restriction" that overrides the organization's default.
func checkLicenseDefaults(p core.Problems, prefix string, d *LicenseDefaultsPatch) {
	in := LicenseInput{MaxDomains: d.MaxDomains, MaxSubdomainsPerDomain: d.MaxSubdomainsPerDomain,
		MaxUsagePerDay: d.MaxUsagePerDay, MaxConcurrent: d.MaxConcurrent, HeartbeatTTL: d.HeartbeatTTL,
		AllowedCountries: d.AllowedCountries, AllowedIPs: d.AllowedIPs}
	rules := defaultRules.validateLicense(&in, false)
	for field, msgs := range rules {
		full := prefix + "." + field
		for _, m := range msgs {
			// The license rule's message, naming the field in full as the
			// request's own problems do ("The license defaults.max domains
			// field must be at least 0.").
			p.Add(full, strings.Replace(m, "The "+label(field)+" field", "The "+label(full)+" field", 1))
		}
	}
	keep := func(sent, norm *string) *string {
		if sent != nil && norm == nil {
			return new("")
		}
		return norm
	}
	if !rules.Has("allowed_ips") && d.AllowedIPs.V != nil {
		d.AllowedIPs.V = keep(d.AllowedIPs.V, in.AllowedIPs.V)
	}
	if !rules.Has("allowed_countries") && d.AllowedCountries.V != nil {
		d.AllowedCountries.V = keep(d.AllowedCountries.V, in.AllowedCountries.V)
	}
	if v := d.ExpiresIn.V; v != nil {
		norm := strings.ToLower(strings.TrimSpace(*v))
		if _, err := licensing.ParseDuration(norm); err != nil && norm != NeverExpires {
			p.Add(prefix+".expires_in", licensing.DurationHint(prefix+".expires_in")+` Use "never" for no expiry.`)
		} else {
			d.ExpiresIn.V = &norm
		}
	}
}

// applyLicenseDefaults fills the fields a license create left out with the
// project's defaults, then the organization's. It runs before the fields
// are checked, so a default goes through the same rules as a sent value.
// The project and organization are read outside the create's transaction:
// the access checks stay in it, and a project the actor may not use gets
// no defaults here and is refused there.
func (s *Service) applyLicenseDefaults(ctx context.Context, projectID int64, in *LicenseInput) {
	d, err := s.effectiveLicenseDefaults(ctx, s.store, projectID)
	if err != nil {
		return
	}
	fillLicenseDefaults(d, in)
}

// effectiveLicenseDefaults merges a project's defaults with its
// organization's.
func (s *Service) effectiveLicenseDefaults(ctx context.Context, st core.Store, projectID int64) (core.LicenseDefaults, error) {
	var p *core.Project
	var err error
	if st == s.store {
		p, err = s.projects.get(ctx, st, projectID) // the cache projectFor reads
	} else {
		p, err = st.Project(ctx, projectID)
	}
	if err != nil {
		return core.LicenseDefaults{}, err
	}
	o, err := st.Organization(ctx, p.OrgID)
	if err != nil {
		return core.LicenseDefaults{}, err
	}
	return p.LicenseDefaults.Or(o.LicenseDefaults), nil
}

// fillLicenseDefaults sets each field of in that was not sent from d. An
// expiry is "sent" when either expires_at or expires_in was.
func fillLicenseDefaults(d core.LicenseDefaults, in *LicenseInput) {
	if d.ExpiresIn != nil && !in.ExpiresAt.Set && !in.ExpiresIn.Set {
		if *d.ExpiresIn == NeverExpires {
			in.ExpiresAt = Some[*time.Time](nil)
		} else {
			in.ExpiresIn = Some(*d.ExpiresIn)
		}
	}
	for _, f := range []struct {
		dst *Opt[*int64]
		v   *int64
	}{{&in.MaxDomains, d.MaxDomains}, {&in.MaxSubdomainsPerDomain, d.MaxSubdomainsPerDomain},
		{&in.MaxUsagePerDay, d.MaxUsagePerDay}, {&in.MaxConcurrent, d.MaxConcurrent}, {&in.HeartbeatTTL, d.HeartbeatTTL}} {
		if f.v != nil && !f.dst.Set {
			*f.dst = Some(new(*f.v))
		}
	}
	for _, f := range []struct {
		dst *Opt[*string]
		v   *string
	}{{&in.AllowedCountries, d.AllowedCountries}, {&in.AllowedIPs, d.AllowedIPs}} {
		if f.v != nil && !f.dst.Set {
			*f.dst = Some(new(*f.v))
		}
	}
	for _, f := range []struct {
		dst *Opt[bool]
		v   *bool
	}{{&in.IsTestLicense, d.IsTestLicense}, {&in.AllowConfigs, d.AllowConfigs}} {
		if f.v != nil && !f.dst.Set {
			*f.dst = Some(*f.v)
		}
	}
}

// ProjectLicenseDefaults returns a project's own defaults and the ones a
// license create applies (merged with the organization's).
func (s *Service) ProjectLicenseDefaults(ctx context.Context, actor *core.Actor, projectID int64) (own, effective core.LicenseDefaults, err error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeProjectsRead)
	if err != nil {
		return own, effective, err
	}
	o, err := s.store.Organization(ctx, p.OrgID)
	if err != nil {
		return own, effective, err
	}
	return p.LicenseDefaults, p.LicenseDefaults.Or(o.LicenseDefaults), nil
}

var errDefaultsAdminsOnly = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only an owner or an admin of the organization can change its license defaults."}

// OrganizationLicenseDefaults returns the organization-wide defaults.
func (s *Service) OrganizationLicenseDefaults(ctx context.Context, actor *core.Actor) (core.LicenseDefaults, error) {
	if err := actor.Require(core.ScopeProjectsRead); err != nil {
		return core.LicenseDefaults{}, err
	}
	o, err := s.store.Organization(ctx, actor.OrgID)
	if err != nil {
		return core.LicenseDefaults{}, err
	}
	return o.LicenseDefaults, nil
}

// SetOrganizationLicenseDefaults changes the organization-wide defaults
// (owners and admins, with projects:write). Problems from reading the
// request are reported with the rules' own.
func (s *Service) SetOrganizationLicenseDefaults(ctx context.Context, actor *core.Actor, d LicenseDefaultsPatch,
	problems core.Problems) (core.LicenseDefaults, error) {
	if actor.Type != core.ActorSystem && actor.Role.Rank() < core.RoleAdmin.Rank() {
		return core.LicenseDefaults{}, errDefaultsAdminsOnly
	}
	if err := actor.Require(core.ScopeProjectsWrite); err != nil {
		return core.LicenseDefaults{}, err
	}
	p := core.Problems{}
	p.Merge(problems)
	checkLicenseDefaults(p, "license_defaults", &d)
	if err := p.Err(); err != nil {
		return core.LicenseDefaults{}, err
	}
	var out core.LicenseDefaults
	err := s.store.InTx(ctx, func(st core.Store) error {
		o, err := st.Organization(ctx, actor.OrgID)
		if err != nil {
			return err
		}
		out = d.apply(o.LicenseDefaults)
		if err := st.SetOrganizationLicenseDefaults(ctx, actor.OrgID, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("organization.license_defaults", "organization", actor.OrgID, 0, licenseDefaultsAudit(out)))
	})
	return out, err
}

// checkProjectLicenseDefaults checks a project input's license_defaults.
func checkProjectLicenseDefaults(p core.Problems, in *ProjectInput) {
	if in.LicenseDefaults.Set {
		checkLicenseDefaults(p, "license_defaults", &in.LicenseDefaults.V)
	}
}

// licenseDefaultsAudit is the audit log's record of a set of defaults: the
// fields that have one.
func licenseDefaultsAudit(d core.LicenseDefaults) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]*string{"expires_in": d.ExpiresIn, "allowed_countries": d.AllowedCountries, "allowed_ips": d.AllowedIPs} {
		if v != nil {
			out[k] = *v
		}
	}
	for k, v := range map[string]*int64{"max_domains": d.MaxDomains, "max_subdomains_per_domain": d.MaxSubdomainsPerDomain,
		"max_usage_per_day": d.MaxUsagePerDay, "max_concurrent": d.MaxConcurrent, "heartbeat_ttl": d.HeartbeatTTL} {
		if v != nil {
			out[k] = *v
		}
	}
	for k, v := range map[string]*bool{"is_test_license": d.IsTestLicense, "allow_configs": d.AllowConfigs} {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}
