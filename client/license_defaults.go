package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// LicenseDefaults are the values a license create takes for the fields it
// leaves out: a project's own, then its organization's, field by field. A
// nil field has no default. ExpiresIn is a duration from the license's
// creation ("30d", "1y", seconds) or "never". An empty AllowedIPs or
// AllowedCountries, or a 0 limit, is "no restriction" and overrides the
// organization's default.
type LicenseDefaults struct {
	ExpiresIn              *string `json:"expires_in,omitempty"`
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

// LicenseDefaultFields names the fields of LicenseDefaults as the API
// does.
var LicenseDefaultFields = []string{"expires_in", "max_domains", "max_subdomains_per_domain", "max_usage_per_day",
	"max_concurrent", "heartbeat_ttl", "allowed_countries", "allowed_ips", "is_test_license", "allow_configs"}

// LicenseDefaultsPatch changes a project's defaults (ProjectUpdate): the
// fields set in Set change, the fields named in Remove lose their default,
// the others stay. Clear removes every default not in Set.
type LicenseDefaultsPatch struct {
	Set    LicenseDefaults
	Remove []string
	Clear  bool
}

// MarshalJSON sends the patch as a JSON merge patch: removed fields as
// null, and null for the whole object when it clears everything.
func (p LicenseDefaultsPatch) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(p.Set)
	if err != nil {
		return nil, err
	}
	if p.Clear && string(b) == "{}" {
		return []byte("null"), nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	remove := p.Remove
	if p.Clear {
		remove = LicenseDefaultFields
	}
	for _, f := range remove {
		if _, set := m[f]; !set {
			m[f] = nil
		}
	}
	return json.Marshal(m)
}

// MarshalJSON sends the fields named in NoDefault as null: no restriction,
// and no project or organization default.
func (in LicenseCreate) MarshalJSON() ([]byte, error) {
	type plain LicenseCreate
	b, err := json.Marshal(plain(in))
	if err != nil || len(in.NoDefault) == 0 {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, f := range in.NoDefault {
		m[f] = json.RawMessage("null")
	}
	return json.Marshal(m)
}

// LicenseDefaultsService reads and changes license defaults: a project's
// (projects:read, projects:write) and the organization's (changed by owners
// and admins).
type LicenseDefaultsService struct{ c *Client }

// Project returns a project's own defaults.
func (s *LicenseDefaultsService) Project(ctx context.Context, projectID int64, opts ...CallOption) (*LicenseDefaults, error) {
	p, err := s.c.Projects.Get(ctx, projectID, opts...)
	if err != nil {
		return nil, err
	}
	return &p.LicenseDefaults, nil
}

// UpdateProject changes a project's defaults and returns them.
func (s *LicenseDefaultsService) UpdateProject(ctx context.Context, projectID int64, patch LicenseDefaultsPatch, opts ...CallOption) (*LicenseDefaults, error) {
	p, err := s.c.Projects.Update(ctx, projectID, ProjectUpdate{LicenseDefaults: &patch}, opts...)
	if err != nil {
		return nil, err
	}
	return &p.LicenseDefaults, nil
}

type orgDefaults struct {
	LicenseDefaults LicenseDefaults `json:"license_defaults"`
}

// Organization returns the organization-wide defaults.
func (s *LicenseDefaultsService) Organization(ctx context.Context, opts ...CallOption) (*LicenseDefaults, error) {
	var out orgDefaults
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "organization/license-defaults"}, &out); err != nil {
		return nil, err
	}
	return &out.LicenseDefaults, nil
}

// SetOrganization replaces the organization-wide defaults with d: a field
// left nil has no default afterwards.
func (s *LicenseDefaultsService) SetOrganization(ctx context.Context, d LicenseDefaults, opts ...CallOption) (*LicenseDefaults, error) {
	var out orgDefaults
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPut, path: "organization/license-defaults", body: orgDefaults{d}}, &out); err != nil {
		return nil, err
	}
	return &out.LicenseDefaults, nil
}
