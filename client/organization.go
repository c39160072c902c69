package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Switches allow or forbid; nil leaves it to the plan (in a policy) or
// allows (in a plan). Lifetimes are in seconds.
type Switches struct {
	// GlobalKeys false: every API key must be bound to a project.
	GlobalKeys *bool `json:"global_keys"`
	// APIProjectDeletion false: projects are deleted in the dashboard only.
	APIProjectDeletion *bool `json:"api_project_deletion"`
	// KeysWithoutExpiry false: every API key needs an expiry.
	KeysWithoutExpiry *bool `json:"keys_without_expiry"`
	// MaxKeyLifetime: an API key expires at most this many seconds after
	// it is created or rotated.
	MaxKeyLifetime *int64 `json:"max_key_lifetime"`
	// LiveKeysWithoutIPAllowlist false: every live key needs allowed_ips.
	LiveKeysWithoutIPAllowlist *bool `json:"live_keys_without_ip_allowlist"`
}

// PlanRules are a plan's caps (nil: no cap) and switches.
type PlanRules struct {
	MaxProjects              *int64 `json:"max_projects"`
	MaxLicensesPerProject    *int64 `json:"max_licenses_per_project"`
	MaxDomainsPerProject     *int64 `json:"max_domains_per_project"`
	MaxInjectablesPerProject *int64 `json:"max_injectables_per_project"`
	MaxAPIKeys               *int64 `json:"max_api_keys"`
	MaxMembers               *int64 `json:"max_members"`
	MaxWebhookEndpoints      *int64 `json:"max_webhook_endpoints"`
	Switches
}

// Plan is the allowance the instance operator gave the organization.
type Plan struct {
	Name  string    `json:"name"`
	Rules PlanRules `json:"rules"`
}

// Policy is what the organization's owners set, only ever stricter than
// the plan.
type Policy struct {
	Switches
	// DeveloperScopes is the most a developer's key may hold; nil: no
	// limit, an empty list: no scope at all.
	DeveloperScopes []string `json:"developer_scopes"`
	// DefaultKeyLifetime (seconds) is the expiry given to a key created
	// without one.
	DefaultKeyLifetime *int64 `json:"default_key_lifetime"`
}

// EffectiveRules are what holds: plan and policy together.
type EffectiveRules struct {
	GlobalKeys                 bool   `json:"global_keys"`
	APIProjectDeletion         bool   `json:"api_project_deletion"`
	KeysWithoutExpiry          bool   `json:"keys_without_expiry"`
	MaxKeyLifetime             *int64 `json:"max_key_lifetime"`
	LiveKeysWithoutIPAllowlist bool   `json:"live_keys_without_ip_allowlist"`
}

// UsageCount is how much of a cap is used; Limit is nil without a cap.
type UsageCount struct {
	Used  int64  `json:"used"`
	Limit *int64 `json:"limit"`
}

// Organization is the caller's organization: its plan, policy and usage.
type Organization struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
	// Plan is nil when the organization has none (no limits).
	Plan      *Plan          `json:"plan"`
	Policy    Policy         `json:"policy"`
	Effective EffectiveRules `json:"effective"`
	// Usage is keyed by cap: projects, api_keys, members,
	// webhook_endpoints, and for UsageProjectID licenses_per_project,
	// domains_per_project, injectables_per_project.
	Usage          map[string]UsageCount `json:"usage"`
	UsageProjectID int64                 `json:"usage_project_id,omitempty"`
}

// OrganizationService reads the organization's plan and usage and sets
// its policy.
type OrganizationService struct{ c *Client }

// Get returns the organization; projectID, when not 0, adds that
// project's per-project usage (a project-bound key gets its project's).
func (s *OrganizationService) Get(ctx context.Context, projectID int64, opts ...CallOption) (*Organization, error) {
	q := url.Values{}
	if projectID != 0 {
		q.Set("project", strconv.FormatInt(projectID, 10))
	}
	var o Organization
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "organization", query: q}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// SetPolicy replaces the whole policy (an owner's organization-wide live
// key with api_keys:write). A policy looser than the plan is refused with
// ErrorPlanLimit.
func (s *OrganizationService) SetPolicy(ctx context.Context, p Policy, opts ...CallOption) (*Organization, error) {
	var o Organization
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPut, path: "organization/policy", body: p}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}
