package core

import (
	"encoding/json"
	"time"
)

// Project is one product being licensed.
type Project struct {
	ID                 int64
	OrgID              int64
	Name               string
	Slug               string
	Description        *string
	DefaultRedirectURL *string
	LogoURL            *string
	WebhookURL         *string
	WebhookSecretEnc   []byte // encrypted under the instance secret; never returned
	Meta               json.RawMessage
	IsActive           bool
	HasPaid            bool
	LockedAt           *time.Time
	CreatedBy          int64 // user ID; hidden from responses
	CreatedAt          time.Time
	UpdatedAt          time.Time
	DeletedAt          *time.Time
	// LicenseDefaults fill the fields a license create leaves out, before
	// the organization's (issue 15).
	LicenseDefaults LicenseDefaults
	// LicenseFileEncryption encrypts the project's offline license files
	// under each license's key (issue 16; docs/license-files.md).
	LicenseFileEncryption bool
}

// ProjectFilter selects projects of an organization, oldest first (as
// DevPayr lists them).
type ProjectFilter struct {
	OrgID   int64
	OnlyID  int64 // a project-scoped key sees only its own project
	AfterID int64
	Limit   int
}

// ProjectUpdate changes the fields that are set.
type ProjectUpdate struct {
	Name                  *string
	Slug                  *string
	Description           **string
	DefaultRedirectURL    **string
	LogoURL               **string
	WebhookURL            **string
	WebhookSecretEnc      *[]byte
	Meta                  *json.RawMessage
	IsActive              *bool
	HasPaid               *bool
	LicenseDefaults       *LicenseDefaults
	LicenseFileEncryption *bool
}

// Domain environments.
const (
	EnvProduction  = "production"
	EnvStaging     = "staging"
	EnvDevelopment = "development"
)

// Domain is a host (or runtime identifier) registered on a project.
type Domain struct {
	ID          int64
	ProjectID   int64
	Domain      string
	Environment string
	IsPrimary   bool
	IsVerified  bool
	IsLocked    bool
	HasPaid     bool
	IsActive    bool
	CreatedBy   int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DomainFilter selects domains of a project, oldest first.
type DomainFilter struct {
	ProjectID int64
	AfterID   int64
	Limit     int
}

// DomainUpdate changes the fields that are set.
type DomainUpdate struct {
	Domain      *string
	Environment *string
	IsPrimary   *bool
	IsVerified  *bool
	IsLocked    *bool
	HasPaid     *bool
	IsActive    *bool
}
