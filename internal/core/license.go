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
	RevokedAt              *time.Time
	SuspendedAt            *time.Time
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// Expired reports whether the license has expired at now.
func (l *License) Expired(now time.Time) bool {
	return l.ExpiresAt != nil && !now.Before(*l.ExpiresAt)
}

// LicenseFilter selects licenses of a project, newest first.
type LicenseFilter struct {
	ProjectID int64
	Status    string // "" for any
	Search    string // substring of the title, case-insensitive
	BeforeID  int64
	Limit     int
}

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
}
