package client

import (
	"context"
	"errors"
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
	// The customer and order the license was sold with.
	CustomerName  *string `json:"customer_name"`
	CustomerEmail *string `json:"customer_email"`
	ExternalID    *string `json:"external_id"` // unique in the project
	// Metadata holds the vendor's own entries (never nil from the server).
	Metadata map[string]string `json:"metadata"`
	// Seats (MaxConcurrent copies at once, each held HeartbeatTTL seconds
	// after a heartbeat) and the churn limit; nil: none or the default.
	MaxConcurrent           *int64     `json:"max_concurrent"`
	HeartbeatTTL            *int64     `json:"heartbeat_ttl"`
	MaxNewActivationsPerDay *int64     `json:"max_new_activations_per_day"`
	RevokedAt               *time.Time `json:"revoked_at"`
	SuspendedAt             *time.Time `json:"suspended_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
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

	CustomerName  string `json:"customer_name,omitempty"`
	CustomerEmail string `json:"customer_email,omitempty"`
	// ExternalID is the order or subscription ID in the billing system:
	// a second license with the same one in the project is ErrConflict
	// with code EXTERNAL_ID_TAKEN.
	ExternalID string `json:"external_id,omitempty"`
	// Metadata: at most 50 entries, keys up to 40 characters (no square
	// brackets), values up to 500.
	Metadata map[string]string `json:"metadata,omitempty"`
	// MaxConcurrent caps the seats; HeartbeatTTL (30..86400 seconds) is
	// how long a seat lasts; MaxNewActivationsPerDay is the churn limit.
	MaxConcurrent           *int64 `json:"max_concurrent,omitempty"`
	HeartbeatTTL            *int64 `json:"heartbeat_ttl,omitempty"`
	MaxNewActivationsPerDay *int64 `json:"max_new_activations_per_day,omitempty"`
	// ExpiresIn is a duration instead of ExpiresAt: seconds ("86400") or
	// a number with a unit s, m, h, d, w or y ("30d", "1y").
	ExpiresIn string `json:"expires_in,omitempty"`
	// NoDefault names fields sent as null ("max_domains", "expires_in"…):
	// no restriction, where leaving them out takes the project's or the
	// organization's license default.
	NoDefault []string `json:"-"`
}

// LicenseUpdate is the body of Licenses.Update: nil fields are left as
// they are. An empty AllowedIPs or AllowedCountries clears the list; 0
// makes a limit unlimited; ClearDomain unpins and ClearExpiry makes the
// license never expire. An empty customer field or external ID clears it.
// Metadata is a merge patch: the keys listed are set, a key set to ""
// is removed, the others stay; ClearMetadata (without Metadata) removes
// every entry.
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

	CustomerName            *string           `json:"customer_name,omitempty"`
	CustomerEmail           *string           `json:"customer_email,omitempty"`
	ExternalID              *string           `json:"external_id,omitempty"`
	Metadata                map[string]string `json:"metadata,omitempty"`
	ClearMetadata           bool              `json:"-"`
	MaxConcurrent           *int64            `json:"max_concurrent,omitempty"`
	HeartbeatTTL            *int64            `json:"heartbeat_ttl,omitempty"`
	ClearHeartbeatTTL       bool              `json:"-"` // back to the default
	MaxNewActivationsPerDay *int64            `json:"max_new_activations_per_day,omitempty"`
	// ExpiresIn sets the expiry to now plus a duration (see LicenseCreate);
	// not with ExpiresAt.
	ExpiresIn *string `json:"expires_in,omitempty"`
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
	if u.ClearHeartbeatTTL {
		nulls = append(nulls, "heartbeat_ttl")
	}
	if !u.ClearMetadata {
		return withNulls(plain(u), nulls...)
	}
	// One request carries one patch: "clear everything, then set these"
	// would need the current keys, so it takes two calls.
	if len(u.Metadata) > 0 {
		return nil, errClearAndSetMetadata
	}
	nulls = append(nulls, "metadata")
	return withNulls(plain(u), nulls...)
}

var errClearAndSetMetadata = errors.New("latchkey: LicenseUpdate: ClearMetadata and Metadata cannot be sent together")

// LicenseFilter narrows Licenses.List and Licenses.ListAll. Every field
// set narrows the list.
type LicenseFilter struct {
	// Status is LicenseActive, LicenseRevoked or LicenseSuspended.
	Status string
	// Search matches titles (DevPayr's search).
	Search string
	// Query matches a substring of the title, the customer's name or
	// e-mail, or the external ID; or, when it is a license key, the
	// license with that key (so a pasted key finds its license).
	Query string
	// ExternalID matches exactly; CustomerEmail ignoring case.
	ExternalID    string
	CustomerEmail string
	// Metadata entries must all be present with these values.
	Metadata map[string]string
	// Mode is ModeLive or ModeTest: only live or only test licenses; ""
	// both. An sk_test_ key sees test licenses only, whatever Mode says.
	Mode string
	// ProjectID narrows ListAll to one project (List ignores it).
	ProjectID int64
	// PerPage is the page size (default 20, at most 50).
	PerPage int
}

func (f *LicenseFilter) query() url.Values {
	if f == nil {
		return url.Values{}
	}
	q := (&ListOptions{PerPage: f.PerPage}).query()
	for k, v := range map[string]string{"status": f.Status, "search": f.Search, "q": f.Query, "external_id": f.ExternalID,
		"customer_email": f.CustomerEmail, "mode": f.Mode} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range f.Metadata {
		q.Set("metadata["+k+"]", v)
	}
	return q
}

// LicenseService manages a project's licenses (scopes licenses:read and
// licenses:write).
type LicenseService struct{ c *Client }

func licensesPath(projectID int64) string { return "project/" + id(projectID) + "/licenses" }

// List iterates over a project's licenses, newest first. f may be nil.
func (s *LicenseService) List(ctx context.Context, projectID int64, f *LicenseFilter, opts ...CallOption) iter.Seq2[License, error] {
	return list[License](ctx, s.c, licensesPath(projectID), f.query(), opts...)
}

// ListAll iterates over the licenses of every project the key can see
// (a project-bound key: its project), newest first. f may be nil;
// f.ProjectID narrows it to one project.
func (s *LicenseService) ListAll(ctx context.Context, f *LicenseFilter, opts ...CallOption) iter.Seq2[License, error] {
	q := f.query()
	if f != nil && f.ProjectID != 0 {
		q.Set("project_id", id(f.ProjectID))
	}
	return list[License](ctx, s.c, "licenses", q, opts...)
}

// Where Licenses.Renew counts from.
const (
	RenewFromExpiry = "expiry" // the later of the current expiry and now (the default)
	RenewFromNow    = "now"
)

// LicenseRenew is the body of Licenses.Renew.
type LicenseRenew struct {
	// Duration is seconds ("86400") or a number with a unit s, m, h, d,
	// w or y ("30d", "1y"), at most 100 years.
	Duration string `json:"duration"`
	// From is RenewFromExpiry (also when empty) or RenewFromNow. A license
	// that never expires needs RenewFromNow.
	From string `json:"from,omitempty"`
}

// Renew extends a license's expiry. An expired license renewed validates
// again; its status is left as it is.
func (s *LicenseService) Renew(ctx context.Context, projectID, licenseID int64, in LicenseRenew, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/renew", in, opts...)
}

// Get returns one license.
func (s *LicenseService) Get(ctx context.Context, projectID, licenseID int64, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodGet, licensesPath(projectID)+"/"+id(licenseID), nil, opts...)
}

// Create issues a license; hand its UUID to the customer.
func (s *LicenseService) Create(ctx context.Context, projectID int64, in LicenseCreate, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID), in, opts...)
}

// Update changes the fields that are set.
func (s *LicenseService) Update(ctx context.Context, projectID, licenseID int64, in LicenseUpdate, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPatch, licensesPath(projectID)+"/"+id(licenseID), in, opts...)
}

// Suspend suspends an active license: validations answer SUSPENDED until
// it is reactivated.
func (s *LicenseService) Suspend(ctx context.Context, projectID, licenseID int64, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/suspend", nil, opts...)
}

// Revoke revokes an active license: validations answer REVOKED.
func (s *LicenseService) Revoke(ctx context.Context, projectID, licenseID int64, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/revoke", nil, opts...)
}

// Reactivate makes a revoked or suspended, unexpired license active again.
func (s *LicenseService) Reactivate(ctx context.Context, projectID, licenseID int64, opts ...CallOption) (*License, error) {
	return s.call(ctx, http.MethodPost, licensesPath(projectID)+"/"+id(licenseID)+"/reactivate", nil, opts...)
}

// Delete deletes a license.
func (s *LicenseService) Delete(ctx context.Context, projectID, licenseID int64, opts ...CallOption) error {
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: licensesPath(projectID) + "/" + id(licenseID)}, nil)
	return err
}

func (s *LicenseService) call(ctx context.Context, method, path string, body any, opts ...CallOption) (*License, error) {
	var l License
	if _, err := s.c.do(ctx, &request{opts: opts, method: method, path: path, body: body}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
