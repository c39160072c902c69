package client

import (
	"context"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// API key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
	KeyExpired = "expired"
)

// APIKey is an API key's record. Secret is set only in the answers of
// Create and Rotate: it is shown once and never stored.
type APIKey struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// PublicID (pk_live_…) names the key in listings and the audit log.
	PublicID string `json:"public_id"`
	Prefix   string `json:"prefix"`
	Last4    string `json:"last4"`
	// Display is the prefix and the last four characters: sk_live_…9f3a.
	Display   string   `json:"display"`
	ProjectID *int64   `json:"project_id"`
	UserID    int64    `json:"user_id"`
	Scopes    []string `json:"scopes"`
	// Env is "live" or "test".
	Env                string     `json:"env"`
	AllowedIPs         []string   `json:"allowed_ips"`
	RateLimitPerMinute *int       `json:"rate_limit_per_minute"`
	Status             string     `json:"status"`
	ExpiresAt          *time.Time `json:"expires_at"`
	RevokedAt          *time.Time `json:"revoked_at"`
	// Enabled is false while the key is disabled (DisabledAt): the
	// server refuses it with ErrorAPIKeyDisabled until it is enabled.
	Enabled     bool       `json:"enabled"`
	DisabledAt  *time.Time `json:"disabled_at"`
	RotatedToID *int64     `json:"rotated_to_id"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	LastUsedIP  *string    `json:"last_used_ip"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Secret      string     `json:"secret,omitempty"`
}

// APIKeyCreate is the body of APIKeys.Create. Only Name is required.
type APIKeyCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ProjectID binds the key to one project; 0 makes a global key.
	ProjectID int64 `json:"project_id,omitempty"`
	// Scopes default to everything the caller's role allows.
	Scopes []string `json:"scopes,omitempty"`
	// Env is "live" (default) or "test".
	Env       string     `json:"env,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// AllowedIPs are addresses and CIDR blocks the key may be used from.
	AllowedIPs []string `json:"allowed_ips,omitempty"`
	// RateLimitPerMinute 0 means the server's default.
	RateLimitPerMinute int `json:"rate_limit_per_minute,omitempty"`
}

// APIKeyUpdate is the body of APIKeys.Update: nil fields are left as they
// are. ClearExpiry removes the expiry; ClearAllowedIPs the allow-list.
type APIKeyUpdate struct {
	Name               *string    `json:"name,omitempty"`
	Description        *string    `json:"description,omitempty"`
	Scopes             []string   `json:"scopes,omitempty"`
	ExpiresAt          *time.Time `json:"expires_at,omitempty"`
	ClearExpiry        bool       `json:"-"`
	AllowedIPs         []string   `json:"allowed_ips,omitempty"`
	ClearAllowedIPs    bool       `json:"-"`
	RateLimitPerMinute *int       `json:"rate_limit_per_minute,omitempty"`
	// Enabled false disables the key for a while; true enables it again.
	Enabled *bool `json:"enabled,omitempty"`
}

// MarshalJSON encodes the set fields, with null for the cleared ones.
func (u APIKeyUpdate) MarshalJSON() ([]byte, error) {
	type plain APIKeyUpdate
	var nulls []string
	if u.ClearExpiry {
		nulls = append(nulls, "expires_at")
	}
	if u.ClearAllowedIPs {
		nulls = append(nulls, "allowed_ips")
	}
	return withNulls(plain(u), nulls...)
}

// Rotation is the answer of APIKeys.Rotate.
type Rotation struct {
	// Key is the successor, with its Secret.
	Key APIKey `json:"key"`
	// Previous is the rotated key, which works until the grace ends.
	Previous APIKey `json:"previous"`
}

// APIKeyUsage is a key's requests per UTC day.
type APIKeyUsage struct {
	KeyID      int64      `json:"key_id"`
	Days       []DayCount `json:"days"`
	Total      int64      `json:"total"`
	LastUsedAt *time.Time `json:"last_used_at"`
	LastUsedIP *string    `json:"last_used_ip"`
}

// DayCount is one day's count; Day is YYYY-MM-DD.
type DayCount struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// APIKeyService manages API keys (scopes api_keys:read and
// api_keys:write). A key can never grant more than its caller holds.
type APIKeyService struct{ c *Client }

// List iterates over the keys the caller may see, newest first.
func (s *APIKeyService) List(ctx context.Context, lo *ListOptions, opts ...CallOption) iter.Seq2[APIKey, error] {
	return list[APIKey](ctx, s.c, "api-keys", lo.query(), opts...)
}

// Get returns one key (never its secret).
func (s *APIKeyService) Get(ctx context.Context, keyID int64, opts ...CallOption) (*APIKey, error) {
	return s.call(ctx, http.MethodGet, "api-keys/"+id(keyID), nil, opts...)
}

// Create mints a key; the answer's Secret is shown only this once.
func (s *APIKeyService) Create(ctx context.Context, in APIKeyCreate, opts ...CallOption) (*APIKey, error) {
	return s.call(ctx, http.MethodPost, "api-keys", in, opts...)
}

// Update changes the fields that are set.
func (s *APIKeyService) Update(ctx context.Context, keyID int64, in APIKeyUpdate, opts ...CallOption) (*APIKey, error) {
	return s.call(ctx, http.MethodPatch, "api-keys/"+id(keyID), in, opts...)
}

// SetEnabled disables (false) or enables (true) a key: a disabled key is
// refused with ErrorAPIKeyDisabled on its next request, on every node,
// and works again once enabled. Unlike Revoke it can be undone.
func (s *APIKeyService) SetEnabled(ctx context.Context, keyID int64, enabled bool, opts ...CallOption) (*APIKey, error) {
	return s.Update(ctx, keyID, APIKeyUpdate{Enabled: &enabled}, opts...)
}

// Revoke revokes a key at once and for good; revoking again changes
// nothing.
func (s *APIKeyService) Revoke(ctx context.Context, keyID int64, opts ...CallOption) (*APIKey, error) {
	return s.call(ctx, http.MethodPost, "api-keys/"+id(keyID)+"/revoke", nil, opts...)
}

// Rotate mints a successor with the same settings and returns its secret.
// The old key keeps working for grace (0 to 24 h, in whole seconds,
// rounded up), then is refused.
func (s *APIKeyService) Rotate(ctx context.Context, keyID int64, grace time.Duration, opts ...CallOption) (*Rotation, error) {
	body := map[string]int64{"grace_seconds": int64(math.Ceil(max(grace, 0).Seconds()))}
	var r Rotation
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "api-keys/" + id(keyID) + "/rotate", body: body}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Usage returns a key's requests per UTC day over the last days (0 means
// the server's default, 30).
func (s *APIKeyService) Usage(ctx context.Context, keyID int64, days int, opts ...CallOption) (*APIKeyUsage, error) {
	q := url.Values{}
	if days > 0 {
		q.Set("days", strconv.Itoa(days))
	}
	var u APIKeyUsage
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "api-keys/" + id(keyID) + "/usage", query: q}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

func (s *APIKeyService) call(ctx context.Context, method, path string, body any, opts ...CallOption) (*APIKey, error) {
	var k APIKey
	if _, err := s.c.do(ctx, &request{opts: opts, method: method, path: path, body: body}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}
