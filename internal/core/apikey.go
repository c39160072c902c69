package core

import (
	"net/netip"
	"time"
)

// Key environments.
const (
	EnvLive = "live"
	EnvTest = "test"
)

// APIKey is a secret credential of one user in one organization. The secret
// itself is never stored: only its SHA-256 digest.
type APIKey struct {
	ID          int64
	OrgID       int64
	UserID      int64
	ProjectID   int64 // 0 for a global key
	Name        string
	Description string
	PublicID    string // pk_live_… / pk_test_…, not secret
	Digest      []byte // SHA-256 of the secret
	Last4       string // last four characters of the secret, for display
	Env         string // EnvLive or EnvTest
	Scopes      ScopeSet
	AllowedIPs  []netip.Prefix // empty: any address
	RateLimit   int            // requests per minute; 0: the server default
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	RotatedTo   int64 // ID of the key that replaced this one by rotation
	// DisabledAt, when set, refuses the key until it is enabled again
	// (issue 19); its status stays what its lifetime says.
	DisabledAt *time.Time
	LastUsedAt *time.Time
	LastUsedIP string
	CreatedBy  string // audit label of whoever created it
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Key statuses as shown in listings.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
	KeyExpired = "expired"
	// KeyDisabled is a listing filter and a label, never a Status: a
	// disabled key keeps its lifetime's status (DisabledAt says it is
	// off).
	KeyDisabled = "disabled"
)

// Status returns the key's status at now.
func (k *APIKey) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return KeyRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return KeyExpired
	}
	return KeyActive
}

// Usable reports whether the key may authenticate a request at now.
func (k *APIKey) Usable(now time.Time) bool { return k.Status(now) == KeyActive }

// KeyOwner is an API key together with its owner's current standing, which
// authentication needs on every request: a key never outlives its owner's
// rights.
type KeyOwner struct {
	Key          APIKey
	Role         Role // the owner's current role in the key's organization; "" if no longer a member
	UserDisabled bool
	UserEmail    string
}

// APIKeyFilter selects keys for a listing.
type APIKeyFilter struct {
	OrgID     int64
	UserID    int64 // 0: every user
	ProjectID int64 // 0: any
	// The bulk revocation's filter: a case-insensitive name prefix, an
	// environment, keys not used since (never-used keys included), and
	// only keys not yet revoked.
	NamePrefix     string
	Env            string
	LastUsedBefore *time.Time
	Unrevoked      bool
	// Status, when set, keeps keys in that state at Now: KeyActive (and
	// enabled), KeyDisabled (disabled, neither revoked nor expired),
	// KeyRevoked or KeyExpired. GlobalOnly keeps keys bound to no project.
	Status     string
	Now        time.Time
	GlobalOnly bool
	BeforeID   int64 // keyset cursor: only IDs below this; 0: from the newest
	Limit      int
}

// APIKeyUpdate changes the fields that are set.
type APIKeyUpdate struct {
	Name        *string
	Description *string
	Scopes      *ScopeSet
	AllowedIPs  *[]netip.Prefix
	RateLimit   *int
	ExpiresAt   **time.Time
	// DisabledAt disables (a time) or enables (nil) the key.
	DisabledAt **time.Time
}

// KeyUse is an aggregated batch of uses of one key, flushed from memory.
type KeyUse struct {
	KeyID      int64
	LastUsedAt time.Time
	LastUsedIP string
	Day        string // UTC date, YYYY-MM-DD
	Count      int64
}

// DayCount is a count for one UTC day.
type DayCount struct {
	Day   string // YYYY-MM-DD
	Count int64
}
