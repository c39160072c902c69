// Package view holds the public JSON representation of each resource: what
// the API returns and what an event carries as data.object. One definition
// serves both, so a webhook receiver sees exactly the fields a read shows.
package view

import (
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
)

// TimeLayout is Laravel's default JSON date format, which DevPayr clients
// parse.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Time formats an optional time in TimeLayout.
func Time(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(TimeLayout)
	return &s
}

// TimeV formats a time in TimeLayout.
func TimeV(t time.Time) string { return t.UTC().Format(TimeLayout) }

// OptID is nil for 0 (no such reference) and the ID otherwise.
func OptID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// License is a license as the API returns it. The key is uuid; DevPayr's
// license object has no other secret.
type License struct {
	ID                     int64   `json:"id"`
	ProjectID              int64   `json:"project_id"`
	DomainID               *int64  `json:"domain_id"`
	Title                  string  `json:"title"`
	UUID                   string  `json:"uuid,omitempty"`
	Status                 string  `json:"status"`
	IsActive               bool    `json:"is_active"`
	IsExpired              bool    `json:"is_expired"`
	ExpiresAt              *string `json:"expires_at"`
	MaxDomains             *int64  `json:"max_domains"`
	MaxSubdomainsPerDomain *int64  `json:"max_subdomains_per_domain"`
	MaxUsagePerDay         *int64  `json:"max_usage_per_day"`
	AllowedIPs             *string `json:"allowed_ips"`
	AllowedCountries       *string `json:"allowed_countries"`
	IsTestLicense          bool    `json:"is_test_license"`
	AllowConfigs           bool    `json:"allow_configs"`
	// Issue 14: the customer and order, metadata (always an object), seats
	// and the churn limit.
	CustomerName            *string           `json:"customer_name"`
	CustomerEmail           *string           `json:"customer_email"`
	ExternalID              *string           `json:"external_id"`
	Metadata                map[string]string `json:"metadata"`
	MaxConcurrent           *int64            `json:"max_concurrent"`
	HeartbeatTTL            *int64            `json:"heartbeat_ttl"`
	MaxNewActivationsPerDay *int64            `json:"max_new_activations_per_day"`
	RevokedAt               *string           `json:"revoked_at"`
	SuspendedAt             *string           `json:"suspended_at"`
	CreatedAt               string            `json:"created_at"`
	UpdatedAt               string            `json:"updated_at"`
}

// LicenseOf renders l as of now (is_active and is_expired depend on it).
// An empty l.UUID (the key not decrypted, as in events) leaves uuid out.
func LicenseOf(l *core.License, now time.Time) License {
	expired := l.Expired(now)
	v := License{
		ID: l.ID, ProjectID: l.ProjectID, DomainID: OptID(l.DomainID), Title: l.Title, UUID: l.UUID, Status: l.Status,
		IsActive: l.Status == core.LicenseActive && !expired, IsExpired: expired, ExpiresAt: Time(l.ExpiresAt),
		MaxDomains: l.MaxDomains, MaxSubdomainsPerDomain: l.MaxSubdomainsPerDomain, MaxUsagePerDay: l.MaxUsagePerDay,
		AllowedIPs: l.AllowedIPs, AllowedCountries: l.AllowedCountries, IsTestLicense: l.IsTestLicense,
		AllowConfigs: l.AllowConfigs, RevokedAt: Time(l.RevokedAt), SuspendedAt: Time(l.SuspendedAt),
		CreatedAt: TimeV(l.CreatedAt), UpdatedAt: TimeV(l.UpdatedAt),
		CustomerName: l.CustomerName, CustomerEmail: l.CustomerEmail, ExternalID: l.ExternalID, Metadata: l.Metadata,
		MaxConcurrent: l.MaxConcurrent, HeartbeatTTL: l.HeartbeatTTL, MaxNewActivationsPerDay: l.MaxNewActivationsPerDay,
	}
	if v.Metadata == nil {
		v.Metadata = noMetadata
	}
	return v
}

// noMetadata renders a license without metadata as {}; it is shared, so
// nothing may write to it.
var noMetadata = map[string]string{}

// Project is DevPayr's project object; user_id, license_key_id,
// webhook_secret and the like are never shown.
type Project struct {
	ID                 int64           `json:"id"`
	Name               string          `json:"name"`
	Slug               string          `json:"slug"`
	Description        *string         `json:"description"`
	DefaultRedirectURL *string         `json:"default_redirect_url"`
	LogoURL            *string         `json:"logo_url"`
	WebhookURL         *string         `json:"webhook_url"`
	HasWebhookSecret   bool            `json:"has_webhook_secret"`
	Meta               json.RawMessage `json:"meta"`
	IsActive           bool            `json:"is_active"`
	HasPaid            bool            `json:"has_paid"`
	LockedAt           *string         `json:"locked_at"`
	CreatedAt          string          `json:"created_at"`
	UpdatedAt          string          `json:"updated_at"`
	// LicenseDefaults are the project's own defaults for new licenses
	// (issue 15): the fields without one are left out.
	LicenseDefaults core.LicenseDefaults `json:"license_defaults"`
	// LicenseFileEncryption: the project's license files are JWEs opened
	// with the license key (issue 16).
	LicenseFileEncryption bool `json:"license_file_encryption"`
}

// ProjectOf renders p.
func ProjectOf(p *core.Project) Project {
	meta := p.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return Project{
		ID: p.ID, Name: p.Name, Slug: p.Slug, Description: p.Description, DefaultRedirectURL: p.DefaultRedirectURL,
		LogoURL: p.LogoURL, WebhookURL: p.WebhookURL, HasWebhookSecret: len(p.WebhookSecretEnc) > 0, Meta: meta,
		IsActive: p.IsActive, HasPaid: p.HasPaid, LockedAt: Time(p.LockedAt),
		CreatedAt: TimeV(p.CreatedAt), UpdatedAt: TimeV(p.UpdatedAt), LicenseDefaults: p.LicenseDefaults,
		LicenseFileEncryption: p.LicenseFileEncryption,
	}
}

// DomainItem is a domain as DevPayr's list returns it: exactly these
// fields.
type DomainItem struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Domain    string `json:"domain"`
	HasPaid   bool   `json:"has_paid"`
	IsActive  bool   `json:"is_active"`
	IsPrimary bool   `json:"is_primary"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// Domain is a domain as the single-domain routes return it.
type Domain struct {
	DomainItem
	Environment string `json:"environment"`
	IsVerified  bool   `json:"is_verified"`
	IsLocked    bool   `json:"is_locked"`
}

// DomainItemOf renders d for a list.
func DomainItemOf(d *core.Domain) DomainItem {
	return DomainItem{ID: d.ID, ProjectID: d.ProjectID, Domain: d.Domain, HasPaid: d.HasPaid, IsActive: d.IsActive,
		IsPrimary: d.IsPrimary, CreatedAt: TimeV(d.CreatedAt), UpdatedAt: TimeV(d.UpdatedAt)}
}

// DomainOf renders d.
func DomainOf(d *core.Domain) Domain {
	return Domain{DomainItem: DomainItemOf(d), Environment: d.Environment, IsVerified: d.IsVerified, IsLocked: d.IsLocked}
}

// InjectableItem is an injectable as listed: metadata only.
type InjectableItem struct {
	ID               int64   `json:"id"`
	Title            string  `json:"title"`
	Slug             string  `json:"slug"`
	Type             string  `json:"type"`
	Mode             string  `json:"mode"`
	TargetPath       string  `json:"target_path"`
	ValidateEndpoint *string `json:"validate_endpoint"`
	IsActive         bool    `json:"is_active"`
	OnlyIfPaid       bool    `json:"only_if_paid"`
	CreatedAt        string  `json:"created_at"`
	UpdatedAt        string  `json:"updated_at"`
}

// Injectable is one injectable with its (encrypted) content.
type Injectable struct {
	InjectableItem
	ProjectID       int64           `json:"project_id"`
	Content         string          `json:"content"`
	FilePath        *string         `json:"file_path"`
	ContentHash     string          `json:"content_hash"`
	Signature       string          `json:"signature"`
	Meta            json.RawMessage `json:"meta"`
	LastDeliveredAt *string         `json:"last_delivered_at"`
}

// InjectableItemOf renders i for a list.
func InjectableItemOf(i *core.Injectable) InjectableItem {
	return InjectableItem{ID: i.ID, Title: i.Title, Slug: i.Slug, Type: i.Type, Mode: i.Mode, TargetPath: i.TargetPath,
		ValidateEndpoint: i.ValidateEndpoint, IsActive: i.IsActive, OnlyIfPaid: i.OnlyIfPaid,
		CreatedAt: TimeV(i.CreatedAt), UpdatedAt: TimeV(i.UpdatedAt)}
}

// InjectableOf renders i.
func InjectableOf(i *core.Injectable) Injectable {
	meta := i.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return Injectable{InjectableItem: InjectableItemOf(i), ProjectID: i.ProjectID, Content: i.EncryptedContent,
		FilePath: i.FilePath, ContentHash: i.ContentHash, Signature: i.Signature, Meta: meta, LastDeliveredAt: Time(i.LastDeliveredAt)}
}

// APIKey is an API key as the API shows it: never the secret (except
// right after creation or rotation) and never the digest.
type APIKey struct {
	ID                 int64    `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	PublicID           string   `json:"public_id"`
	Prefix             string   `json:"prefix"`
	Last4              string   `json:"last4"`
	Display            string   `json:"display"`
	ProjectID          *int64   `json:"project_id"`
	UserID             int64    `json:"user_id"`
	Scopes             []string `json:"scopes"`
	Env                string   `json:"env"`
	AllowedIPs         []string `json:"allowed_ips"`
	RateLimitPerMinute *int     `json:"rate_limit_per_minute"`
	Status             string   `json:"status"`
	ExpiresAt          *string  `json:"expires_at"`
	RevokedAt          *string  `json:"revoked_at"`
	Enabled            bool     `json:"enabled"`
	DisabledAt         *string  `json:"disabled_at"`
	RotatedToID        *int64   `json:"rotated_to_id"`
	LastUsedAt         *string  `json:"last_used_at"`
	LastUsedIP         *string  `json:"last_used_ip"`
	CreatedBy          string   `json:"created_by"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	Secret             string   `json:"secret,omitempty"`
}

// APIKeyOf renders k as stored (status depends on now).
func APIKeyOf(k *core.APIKey, now time.Time) APIKey {
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	v := APIKey{
		ID: k.ID, Name: k.Name, Description: k.Description, PublicID: k.PublicID,
		Prefix: "sk_" + k.Env + "_", Last4: k.Last4, Display: keys.Display(k.Env, k.Last4),
		ProjectID: OptID(k.ProjectID), UserID: k.UserID, Scopes: k.Scopes.Strings(), Env: k.Env,
		AllowedIPs: ips, Status: k.Status(now), ExpiresAt: Time(k.ExpiresAt), RevokedAt: Time(k.RevokedAt),
		Enabled: k.DisabledAt == nil, DisabledAt: Time(k.DisabledAt),
		RotatedToID: OptID(k.RotatedTo), LastUsedAt: Time(k.LastUsedAt), CreatedBy: k.CreatedBy,
		CreatedAt: TimeV(k.CreatedAt), UpdatedAt: TimeV(k.UpdatedAt),
	}
	if k.RateLimit != 0 {
		rl := k.RateLimit
		v.RateLimitPerMinute = &rl
	}
	if k.LastUsedIP != "" {
		ip := k.LastUsedIP
		v.LastUsedIP = &ip
	}
	return v
}
