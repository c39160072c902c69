package core

import (
	"context"
	"fmt"
	"time"
)

// Plan is an allowance the instance operator gives organizations (issue
// 15): caps on what they may create and switches on what they may do. An
// organization without a plan has no limits.
type Plan struct {
	ID        int64
	Name      string
	Rules     Rules
	CreatedAt time.Time
	UpdatedAt time.Time
	// Organizations counts the organizations on the plan (ListPlans and
	// PlanByName fill it in).
	Organizations int64
}

// Rules are a plan's caps and switches. A nil field does not limit. The
// JSON form is what the store keeps and the API shows.
type Rules struct {
	// Caps: creating one more is refused once the count reaches the cap.
	MaxProjects              *int64 `json:"max_projects,omitempty"`                // per organization
	MaxLicensesPerProject    *int64 `json:"max_licenses_per_project,omitempty"`    //
	MaxDomainsPerProject     *int64 `json:"max_domains_per_project,omitempty"`     //
	MaxInjectablesPerProject *int64 `json:"max_injectables_per_project,omitempty"` //
	MaxAPIKeys               *int64 `json:"max_api_keys,omitempty"`                // live (not revoked or expired) keys per organization
	MaxMembers               *int64 `json:"max_members,omitempty"`                 // members plus pending invitations
	MaxWebhookEndpoints      *int64 `json:"max_webhook_endpoints,omitempty"`       // per organization

	Switches
}

// Switches allow or forbid; a nil switch allows. A policy holds the same
// switches as a plan and may only make them stricter.
type Switches struct {
	// GlobalKeys false: every API key must be bound to a project.
	GlobalKeys *bool `json:"global_keys,omitempty"`
	// APIProjectDeletion false: projects are deleted in the dashboard only.
	APIProjectDeletion *bool `json:"api_project_deletion,omitempty"`
	// KeysWithoutExpiry false: every API key needs an expiry.
	KeysWithoutExpiry *bool `json:"keys_without_expiry,omitempty"`
	// MaxKeyLifetime (seconds): an API key expires at most this long after
	// it is created (or rotated), as GitHub's fine-grained tokens.
	MaxKeyLifetime *int64 `json:"max_key_lifetime,omitempty"`
	// LiveKeysWithoutIPAllowlist false: every live key needs allowed_ips.
	LiveKeysWithoutIPAllowlist *bool `json:"live_keys_without_ip_allowlist,omitempty"`
}

// Policy is what an organization's owners set within its plan: the plan's
// switches, only ever stricter, plus which scopes developers may give
// their keys and a default key lifetime.
type Policy struct {
	Switches
	// DeveloperScopes, when set, is the most a developer's key may hold
	// (an owner's keys are not limited by it).
	DeveloperScopes *ScopeSet `json:"developer_scopes,omitempty"`
	// DefaultKeyLifetime (seconds) is the expiry given to a key created
	// without one.
	DefaultKeyLifetime *int64 `json:"default_key_lifetime,omitempty"`
}

// LicenseDefaults are the values a license create takes for the fields it
// leaves out (issue 15): per project, with the organization's as the
// fallback field by field. A nil field has no default. Values are stored
// normalised, as a license stores them.
type LicenseDefaults struct {
	ExpiresIn              *string `json:"expires_in,omitempty"` // a licensing.ParseDuration text: "30d", "1y", "3600"
	MaxDomains             *int64  `json:"max_domains,omitempty"`
	MaxSubdomainsPerDomain *int64  `json:"max_subdomains_per_domain,omitempty"`
	MaxUsagePerDay         *int64  `json:"max_usage_per_day,omitempty"`
	MaxConcurrent          *int64  `json:"max_concurrent,omitempty"`
	HeartbeatTTL           *int64  `json:"heartbeat_ttl,omitempty"`
	AllowedCountries       *string `json:"allowed_countries,omitempty"`
	AllowedIPs             *string `json:"allowed_ips,omitempty"`
	IsTestLicense          *bool   `json:"is_test_license,omitempty"`
	AllowConfigs           *bool   `json:"allow_configs,omitempty"`
}

// Or returns d with each nil field taken from fallback.
func (d LicenseDefaults) Or(fallback LicenseDefaults) LicenseDefaults {
	if d.ExpiresIn == nil {
		d.ExpiresIn = fallback.ExpiresIn
	}
	for _, f := range []struct{ dst, src **int64 }{
		{&d.MaxDomains, &fallback.MaxDomains}, {&d.MaxSubdomainsPerDomain, &fallback.MaxSubdomainsPerDomain},
		{&d.MaxUsagePerDay, &fallback.MaxUsagePerDay}, {&d.MaxConcurrent, &fallback.MaxConcurrent},
		{&d.HeartbeatTTL, &fallback.HeartbeatTTL},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **string }{
		{&d.AllowedCountries, &fallback.AllowedCountries}, {&d.AllowedIPs, &fallback.AllowedIPs},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **bool }{
		{&d.IsTestLicense, &fallback.IsTestLicense}, {&d.AllowConfigs, &fallback.AllowConfigs},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	return d
}

// Cap names one of a plan's caps: the resource it counts and how the
// refusal names it.
type Cap string

// The caps, as Usage and PLAN_LIMIT messages name them.
const (
	CapProjects              Cap = "projects"
	CapLicensesPerProject    Cap = "licenses_per_project"
	CapDomainsPerProject     Cap = "domains_per_project"
	CapInjectablesPerProject Cap = "injectables_per_project"
	CapAPIKeys               Cap = "api_keys"
	CapMembers               Cap = "members"
	CapWebhookEndpoints      Cap = "webhook_endpoints"
)

// Caps lists every cap in display order.
var Caps = []Cap{CapProjects, CapLicensesPerProject, CapDomainsPerProject, CapInjectablesPerProject,
	CapAPIKeys, CapMembers, CapWebhookEndpoints}

// PerProject reports whether the cap counts within one project.
func (c Cap) PerProject() bool {
	return c == CapLicensesPerProject || c == CapDomainsPerProject || c == CapInjectablesPerProject
}

// Noun is how a message names what the cap counts ("3 projects", "100
// licenses per project").
func (c Cap) Noun() string {
	switch c {
	case CapProjects:
		return "projects"
	case CapLicensesPerProject:
		return "licenses per project"
	case CapDomainsPerProject:
		return "domains per project"
	case CapInjectablesPerProject:
		return "injectables per project"
	case CapAPIKeys:
		return "API keys"
	case CapMembers:
		return "members"
	case CapWebhookEndpoints:
		return "webhook endpoints"
	}
	return string(c)
}

// Limit returns the rules' cap c, or nil when there is none.
func (r *Rules) Limit(c Cap) *int64 {
	switch c {
	case CapProjects:
		return r.MaxProjects
	case CapLicensesPerProject:
		return r.MaxLicensesPerProject
	case CapDomainsPerProject:
		return r.MaxDomainsPerProject
	case CapInjectablesPerProject:
		return r.MaxInjectablesPerProject
	case CapAPIKeys:
		return r.MaxAPIKeys
	case CapMembers:
		return r.MaxMembers
	case CapWebhookEndpoints:
		return r.MaxWebhookEndpoints
	}
	return nil
}

// SetLimit sets the rules' cap c (nil removes it).
func (r *Rules) SetLimit(c Cap, v *int64) {
	switch c {
	case CapProjects:
		r.MaxProjects = v
	case CapLicensesPerProject:
		r.MaxLicensesPerProject = v
	case CapDomainsPerProject:
		r.MaxDomainsPerProject = v
	case CapInjectablesPerProject:
		r.MaxInjectablesPerProject = v
	case CapAPIKeys:
		r.MaxAPIKeys = v
	case CapMembers:
		r.MaxMembers = v
	case CapWebhookEndpoints:
		r.MaxWebhookEndpoints = v
	}
}

// Allowed reports whether a switch allows: nil allows.
func Allowed(sw *bool) bool { return sw == nil || *sw }

// Stricter returns the switches that hold when both a and b apply: each
// forbids what either forbids, and the shorter key lifetime wins.
func Stricter(a, b Switches) Switches {
	and := func(x, y *bool) *bool {
		if x != nil && !*x {
			return x
		}
		if y != nil && !*y {
			return y
		}
		if x != nil {
			return x
		}
		return y
	}
	out := Switches{
		GlobalKeys:                 and(a.GlobalKeys, b.GlobalKeys),
		APIProjectDeletion:         and(a.APIProjectDeletion, b.APIProjectDeletion),
		KeysWithoutExpiry:          and(a.KeysWithoutExpiry, b.KeysWithoutExpiry),
		LiveKeysWithoutIPAllowlist: and(a.LiveKeysWithoutIPAllowlist, b.LiveKeysWithoutIPAllowlist),
		MaxKeyLifetime:             a.MaxKeyLifetime,
	}
	if b.MaxKeyLifetime != nil && (out.MaxKeyLifetime == nil || *b.MaxKeyLifetime < *out.MaxKeyLifetime) {
		out.MaxKeyLifetime = b.MaxKeyLifetime
	}
	return out
}

// Usage counts what a plan caps in an organization; the per-project caps
// count in one project (zero when none was asked for).
type Usage map[Cap]int64

// ReasonPlanLimit is the code of a refusal by the organization's plan or
// policy (403).
const ReasonPlanLimit = "PLAN_LIMIT"

// PlanLimit returns the 403 refusing a request beyond the plan; message
// names the limit and the plan ("Your plan (free) allows 3 projects.").
func PlanLimit(format string, args ...any) *Error {
	return &Error{Code: EForbidden, Reason: ReasonPlanLimit, Message: fmt.Sprintf(format, args...)}
}

// PlanStore holds plans and each organization's plan, policy and license
// defaults.
type PlanStore interface {
	// CreatePlan returns EConflict when the name is taken (case-insensitively).
	CreatePlan(ctx context.Context, p *Plan) error
	Plan(ctx context.Context, id int64) (*Plan, error)
	// PlanByName matches case-insensitively.
	PlanByName(ctx context.Context, name string) (*Plan, error)
	// ListPlans returns every plan by name.
	ListPlans(ctx context.Context) ([]Plan, error)
	// UpdatePlan replaces the plan's name (when not "") and rules.
	UpdatePlan(ctx context.Context, id int64, name string, rules Rules) (*Plan, error)
	// DeletePlan returns EConflict while an organization is on the plan.
	DeletePlan(ctx context.Context, id int64) error
	// SetOrganizationPlan puts the organization on planID (0: no plan).
	SetOrganizationPlan(ctx context.Context, orgID, planID int64) error
	SetOrganizationPolicy(ctx context.Context, orgID int64, p Policy) error
	SetOrganizationLicenseDefaults(ctx context.Context, orgID int64, d LicenseDefaults) error
	// Usage counts caps (all of them when none is named) in the
	// organization, and the per-project caps in projectID (skipped when it
	// is 0). Inside InTx on PostgreSQL it first locks the organization's
	// row, so that creations checked against one cap from several nodes
	// are serialised and a cap of N admits N.
	Usage(ctx context.Context, orgID, projectID int64, caps ...Cap) (Usage, error)
}
