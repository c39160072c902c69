package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// License statuses.
const (
	LicenseActive    = "active"
	LicenseRevoked   = "revoked"
	LicenseSuspended = "suspended"
)

// License is a license of a project. Its key, the one customers' copies
// send, is UUID.
type License struct {
	ID                     int64      `json:"id"`
	ProjectID              int64      `json:"project_id"`
	DomainID               *int64     `json:"domain_id"`
	Title                  string     `json:"title"`
	UUID                   string     `json:"uuid"`
	Status                 string     `json:"status"`
	IsActive               bool       `json:"is_active"`
	IsExpired              bool       `json:"is_expired"`
	ExpiresAt              *time.Time `json:"expires_at"`
	MaxDomains             *int64     `json:"max_domains"`
	MaxSubdomainsPerDomain *int64     `json:"max_subdomains_per_domain"`
	MaxUsagePerDay         *int64     `json:"max_usage_per_day"`
	AllowedIPs             *string    `json:"allowed_ips"`
	AllowedCountries       *string    `json:"allowed_countries"`
	IsTestLicense          bool       `json:"is_test_license"`
	AllowConfigs           bool       `json:"allow_configs"`
	RevokedAt              *time.Time `json:"revoked_at"`
	SuspendedAt            *time.Time `json:"suspended_at"`
	CreatedAt              time.Time  `json:"created_at"`
	UpdatedAt              time.Time  `json:"updated_at"`
}

// Values of LicenseCreate.ValidateAgainst.
const (
	ValidateProjectDomains = "project_domains"
	ValidateLicenseDomains = "license_domains"
)

// LicenseCreate is the body of Licenses.Create. Only Title is required.
type LicenseCreate struct {
	Title string `json:"title"`
	// DomainID pins the license to a domain of the project.
	DomainID *int64 `json:"domain_id,omitempty"`
	// ExpiresAt must be in the future; nil means never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// The limits: nil or 0 means unlimited.
	MaxDomains             *int64 `json:"max_domains,omitempty"`
	MaxSubdomainsPerDomain *int64 `json:"max_subdomains_per_domain,omitempty"`
	MaxUsagePerDay         *int64 `json:"max_usage_per_day,omitempty"`
	// AllowedIPs is a comma-separated list of IPs and CIDR blocks.
	AllowedIPs string `json:"allowed_ips,omitempty"`
	// AllowedCountries is a comma-separated list of ISO 3166-1 alpha-2
	// codes ("NG, US, GB").
	AllowedCountries string `json:"allowed_countries,omitempty"`
	IsTestLicense    bool   `json:"is_test_license,omitempty"`
	AllowConfigs     bool   `json:"allow_configs,omitempty"`
	// ValidateAgainst is ValidateProjectDomains or ValidateLicenseDomains;
	// empty means the server's default (project domains when pinned).
	ValidateAgainst string `json:"validate_against,omitempty"`
}

// LicenseUpdate is the body of Licenses.Update: nil fields are left as
// they are. An empty AllowedIPs or AllowedCountries clears the list; 0
// makes a limit unlimited; ClearDomain unpins and ClearExpiry makes the
// license never expire.
type LicenseUpdate struct {
	Title                  *string    `json:"title,omitempty"`
	DomainID               *int64     `json:"domain_id,omitempty"`
	ClearDomain            bool       `json:"-"`
	ExpiresAt              *time.Time `json:"expires_at,omitempty"`
	ClearExpiry            bool       `json:"-"`
	MaxDomains             *int64     `json:"max_domains,omitempty"`
	MaxSubdomainsPerDomain *int64     `json:"max_subdomains_per_domain,omitempty"`
	MaxUsagePerDay         *int64     `json:"max_usage_per_day,omitempty"`
	AllowedIPs             *string    `json:"allowed_ips,omitempty"`
	AllowedCountries       *string    `json:"allowed_countries,omitempty"`
	IsTestLicense          *bool      `json:"is_test_license,omitempty"`
	AllowConfigs           *bool      `json:"allow_configs,omitempty"`
	ValidateAgainst        *string    `json:"validate_against,omitempty"`
}

// MarshalJSON encodes the set fields, with null for the cleared ones.
func (u LicenseUpdate) MarshalJSON() ([]byte, error) {
	type plain LicenseUpdate
	var nulls []string
	if u.ClearDomain {
		nulls = append(nulls, "domain_id")
	}
	if u.ClearExpiry {
		nulls = append(nulls, "expires_at")
	}
	return withNulls(plain(u), nulls...)
}

// LicenseFilter narrows Licenses.List.
type LicenseFilter struct {
	// Status is LicenseActive, LicenseRevoked or LicenseSuspended.
	Status string
	// Search matches titles.
	Search string
	// PerPage is the page size (default 20, at most 50).
	PerPage int
}

// LicenseService manages a project's licenses (scopes licenses:read and
// licenses:write).
type LicenseService struct{ c *Client }

func licensesPath(projectID int64) string { return "project/" + id(projectID) + "/licenses" }

// List iterates over a project's licenses, newest first. f may be nil.
func (s *LicenseService) List(ctx context.Context, projectID int64, f *LicenseFilter) iter.Seq2[License, error] {
	q := url.Values{}
	if f != nil {
		q = (&ListOptions{PerPage: f.PerPage}).query()
		if f.Status != "" {
			q.Set("status", f.Status)
		}
		if f.Search != "" {
			q.Set("search", f.Search)
		}
	}
	return list[License](ctx, s.c, licensesPath(projectID), q)
}

// Get returns one license.
func (s *LicenseService) Get(ctx context.Context, projectID, licenseID int64) (*License, error) {
	return s.call(ctx, http.MethodGet, licensesPath(projectID)+"/"+id(licenseID), nil)
}

// Create issues a license; hand its UUID to the customer.
func (s *LicenseService) Create(ctx context.Context, projectID int64, in LicenseCreate) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID), in)
}

// Update changes the fields that are set.
func (s *LicenseService) Update(ctx context.Context, projectID, licenseID int64, in LicenseUpdate) (*License, error) {
	return s.call(ctx, http.MethodPatch, licensesPath(projectID)+"/"+id(licenseID), in)
}

// Suspend suspends an active license: validations answer SUSPENDED until
// it is reactivated.
func (s *LicenseService) Suspend(ctx context.Context, projectID, licenseID int64) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/suspend", nil)
}

// Revoke revokes an active license: validations answer REVOKED.
func (s *LicenseService) Revoke(ctx context.Context, projectID, licenseID int64) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/revoke", nil)
}

// Reactivate makes a revoked or suspended, unexpired license active again.
func (s *LicenseService) Reactivate(ctx context.Context, projectID, licenseID int64) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/reactivate", nil)
}

// Delete deletes a license.
func (s *LicenseService) Delete(ctx context.Context, projectID, licenseID int64) error {
	_, err := s.c.do(ctx, &request{method: http.MethodDelete, path: licensesPath(projectID) + "/" + id(licenseID)}, nil)
	return err
}

func (s *LicenseService) call(ctx context.Context, method, path string, body any) (*License, error) {
	var l License
	if _, err := s.c.do(ctx, &request{method: method, path: path, body: body}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
