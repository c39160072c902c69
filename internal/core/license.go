package core

import "time"

// License statuses.
const (
	LicenseActive    = "active"
	LicenseRevoked   = "revoked"
	LicenseSuspended = "suspended"
)

// Domain validation modes (DevPayr's hidden validate_against field).
const (
	ValidateProjectDomains = "project_domains"
	ValidateLicenseDomains = "license_domains"
)

// License is a customer's right to run a project. Its key is the UUID,
// stored as a SHA-256 digest for lookup and an AES-GCM copy for display.
type License struct {
	ID                     int64
	ProjectID              int64
	KeyDigest              []byte // SHA-256 of the UUID string (DevPayr's uuid_hash)
	KeyEnc                 []byte // the UUID encrypted under the instance secret
	UUID                   string // decrypted by the service; empty in the store
	DomainID               int64  // 0: not pinned
	Title                  string
	Status                 string
	ExpiresAt              *time.Time
	MaxDomains             *int64
	MaxSubdomainsPerDomain *int64
	MaxUsagePerDay         *int64
	AllowedIPs             *string // comma-separated, as sent
	AllowedCountries       *string // comma-separated ISO 3166-1 alpha-2, upper-case
	IsTestLicense          bool
	AllowConfigs           bool
	ValidateAgainst        string
	Meta                   []byte // JSON object or nil
	UserID                 int64  // creator; hidden

	// The customer and order the license was sold with (issue 14).
	CustomerName  *string
	CustomerEmail *string
	ExternalID    *string // unique in the project when set
	// Metadata holds the vendor's own string entries (Stripe's metadata);
	// nil or empty when there are none.
	Metadata map[string]string
	// MaxConcurrent caps the seats held at once by running copies (0 or
	// nil: no seats); a seat lasts HeartbeatTTL seconds after a heartbeat.
	MaxConcurrent *int64
	HeartbeatTTL  *int64
	// MaxNewActivationsPerDay is the churn limit: once the license has had
	// max_domains activations, at most this many new ones a UTC day.
	MaxNewActivationsPerDay *int64

	RevokedAt   *time.Time
	SuspendedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Expired reports whether the license has expired at now.
func (l *License) Expired(now time.Time) bool {
	return l.ExpiresAt != nil && !now.Before(*l.ExpiresAt)
}

// LicenseFilter selects licenses, newest first: a project's, or when
// ProjectID is 0 those of every live project of OrgID. Every field set
// narrows the selection.
type LicenseFilter struct {
	ProjectID int64
	OrgID     int64
	Status    string // "" for any
	Search    string // substring of the title, case-insensitive (DevPayr's ?search)
	// ExternalID matches exactly; CustomerEmail case-insensitively.
	ExternalID    string
	CustomerEmail string
	// Metadata holds entries that must all be present with these values.
	Metadata map[string]string
	// Query is ?q=: a substring of the title, customer name or email, or
	// external ID, case-insensitive; or, when QueryDigest is set, the
	// license whose key has that digest (a pasted key).
	Query       string
	QueryDigest []byte
	IDs         []int64 // when not nil, only these
	// Statuses, when not nil, keeps licenses in one of these statuses
	// (besides Status); LiveAt, when set, those not expired at that time;
	// Expiring, those with an expiry. Bulk actions fold the state they
	// apply to into their filter with these, so a count is what changes.
	Statuses []string
	LiveAt   time.Time
	Expiring bool
	// Mode, ModeLive or ModeTest, keeps live or test licenses only; ""
	// keeps both (issue 15).
	Mode string
	// ExpiresFrom and ExpiresBefore, when set, keep licenses whose expiry
	// is in [ExpiresFrom, ExpiresBefore); NoExpiry keeps perpetual ones
	// (the dashboard's expiry window, issue 19).
	ExpiresFrom   time.Time
	ExpiresBefore time.Time
	NoExpiry      bool
	// Sort orders the list by one of the LicenseSort… columns (the
	// newest first when ""), Asc ascending; ties are broken by ID in the
	// same direction. A sorted list pages by Offset, not BeforeID.
	Sort     string
	Asc      bool
	Offset   int
	BeforeID int64
	Limit    int
}

// Columns a license list may be sorted by.
const (
	LicenseSortCreated  = "created"
	LicenseSortTitle    = "title"
	LicenseSortCustomer = "customer"
	LicenseSortStatus   = "status"
	LicenseSortExpires  = "expires"
)

// LicenseUpdate changes the fields that are set.
type LicenseUpdate struct {
	Title                  *string
	DomainID               *int64 // 0 unpins
	ExpiresAt              **time.Time
	MaxDomains             **int64
	MaxSubdomainsPerDomain **int64
	MaxUsagePerDay         **int64
	AllowedIPs             **string
	AllowedCountries       **string
	IsTestLicense          *bool
	AllowConfigs           *bool
	ValidateAgainst        *string
	Status                 *string
	RevokedAt              **time.Time
	SuspendedAt            **time.Time

	CustomerName            **string
	CustomerEmail           **string
	ExternalID              **string
	Metadata                *map[string]string // replaces every entry; nil map: none
	MaxConcurrent           **int64
	HeartbeatTTL            **int64
	MaxNewActivationsPerDay **int64
}

// Activation is a runtime identifier (domain, fingerprint…) that has used a
// license.
type Activation struct {
	ID          int64
	LicenseID   int64
	Identifier  string
	BaseDomain  string // registrable domain for hostnames; the identifier itself otherwise
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	LastIP      string
	Country     string // ISO code at the last sighting, "" when unknown
	UserAgent   string // at the last sighting, truncated
}

// ValidationWrite is what a passing validation must write before it is
// acknowledged: a daily use counted against a cap, and/or a new activation
// checked against the domain limits, atomically.
type ValidationWrite struct {
	LicenseID int64
	Day       string // UTC date
	Cap       int64  // > 0: count this use only while the day's count is below Cap
	// Activation, when set, is recorded only if the license still has room
	// for it under MaxDomains (distinct base domains) and MaxSubdomains
	// (distinct subdomains per base); 0 means unlimited.
	Activation    *Activation
	MaxDomains    int64
	MaxSubdomains int64
	// NewPerDay, when > 0, is the churn limit: a new Activation is
	// recorded only while ChurnCount.Allows(FreeActivations, NewPerDay),
	// and counted in activation_days.
	NewPerDay       int64
	FreeActivations int64
}

// Validation write outcomes.
const (
	WriteOK             = ""
	WriteUsageExceeded  = "usage_exceeded"
	WriteTooManyDomains = "too_many_domains"
	WriteTooManySubs    = "too_many_subdomains"
	// WriteTooManyActivations: the churn limit refused a new activation.
	WriteTooManyActivations = "too_many_activations"
)

// LicenseUse is an aggregated batch of passing validations of one license
// on one day, flushed from memory, with the identifiers seen.
type LicenseUse struct {
	LicenseID int64
	Day       string
	Count     int64
	Seen      []Activation // identifier, base, last seen time and IP
	// Touched are sightings of activations the validation knew: they
	// update the activation if it exists and never create it (one removed
	// since stays removed).
	Touched []Activation
}
