package keys

import (
	"context"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
)

// Failures of authentication, with DevPayr's exact messages.
var (
	ErrMissing = &core.Error{Code: core.EUnauthorized, Reason: core.ReasonMissingAPIKey,
		Message: "Missing required X-API-KEY header."}
	ErrInvalid = &core.Error{Code: core.EForbidden, Reason: core.ReasonInvalidAPIKey,
		Message: "Invalid or expired API key."}
	// ErrDisabled refuses a key its owner switched off for a while: the
	// revoked key's status, with its own code so that the caller knows
	// the key can come back.
	ErrDisabled = &core.Error{Code: core.EForbidden, Reason: core.ReasonAPIKeyDisabled,
		Message: "This API key is disabled."}
	ErrIPNotAllowed = &core.Error{Code: core.EForbidden, Reason: core.ReasonIPNotAllowed,
		Message: "This API key may not be used from your IP address."}
)

// OwnerLookup is the one store query authentication needs.
type OwnerLookup interface {
	APIKeyOwnerByDigest(ctx context.Context, digest []byte) (*core.KeyOwner, error)
}

// Authenticator finds the key record for a presented secret. In steady
// state it answers from memory: records are cached by digest, unknown
// digests too for a short while (so guessing costs the database nothing),
// and malformed secrets are refused by their checksum before any lookup.
// Records are tagged with what they depend on (core.APIKeyDeps), so a change
// to the key, its owner, the owner's role or its project drops them
// synchronously; the TTL is a safety net should a notification from another
// node be lost.
type Authenticator struct {
	store  OwnerLookup
	ttl    time.Duration
	negTTL time.Duration
	known  *cache.Cache[[32]byte, *core.KeyOwner]
	// unknown remembers digests no key has, apart from known and smaller:
	// a flood of invented keys can neither grow memory past it nor push
	// real keys out of known.
	unknown *cache.Cache[[32]byte, struct{}]
}

// Bounds of the API-key caches: 200,000 records of about 250 bytes each,
// and 16,384 unknown digests (about 2.5 MB).
const (
	MaxCachedKeys  = 200_000
	MaxUnknownKeys = 16_384
	unknownKeysTTL = 30 * time.Second
)

// NewAuthenticator returns an Authenticator over store whose caches are
// registered in caches (which hands them every change).
func NewAuthenticator(store OwnerLookup, caches *cache.Set, ttl time.Duration, now func() time.Time) *Authenticator {
	return &Authenticator{store: store, ttl: ttl, negTTL: min(ttl, unknownKeysTTL),
		known:   cache.NewIn(caches, cache.Config[[32]byte, *core.KeyOwner]{Name: "api_key", MaxEntries: MaxCachedKeys, Now: now}),
		unknown: cache.NewIn(caches, cache.Config[[32]byte, struct{}]{Name: "api_key_unknown", MaxEntries: MaxUnknownKeys, Now: now}),
	}
}

// Lookup returns the key whose secret is presented, with its owner's
// current standing. It returns ErrInvalid for malformed or unknown secrets;
// the caller still checks status, owner and IP with Authorize.
func (a *Authenticator) Lookup(ctx context.Context, secret string) (*core.KeyOwner, error) {
	if !Valid(secret) {
		return nil, ErrInvalid
	}
	d := Digest(secret)
	if ko, ok := a.known.Get(d); ok {
		return ko, nil
	}
	if _, ok := a.unknown.Get(d); ok {
		return nil, ErrInvalid
	}
	t, tu := a.known.Begin(), a.unknown.Begin()
	// A copy for the store, so that d itself stays on the stack on hits.
	ko, err := a.store.APIKeyOwnerByDigest(ctx, append([]byte(nil), d[:]...))
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	if ko == nil {
		a.unknown.PutFor(tu, d, struct{}{}, a.negTTL)
		return nil, ErrInvalid
	}
	ko = slim(ko)
	a.known.PutFor(t, d, ko, a.ttl, core.APIKeyDeps(&ko.Key)...)
	return ko, nil
}

// slim returns the part of a key record that authentication uses: a cached
// record costs memory for as long as its key is in use, and the names,
// description and last use are read from the store when shown.
func slim(ko *core.KeyOwner) *core.KeyOwner {
	k := &ko.Key
	return &core.KeyOwner{Role: ko.Role, UserDisabled: ko.UserDisabled, Key: core.APIKey{
		ID: k.ID, OrgID: k.OrgID, UserID: k.UserID, ProjectID: k.ProjectID, PublicID: k.PublicID, Env: k.Env,
		Scopes: k.Scopes, AllowedIPs: k.AllowedIPs, RateLimit: k.RateLimit, ExpiresAt: k.ExpiresAt,
		RevokedAt: k.RevokedAt, RotatedTo: k.RotatedTo, DisabledAt: k.DisabledAt,
	}}
}

// Authorize decides whether ko may act now from ip, and returns the actor
// with its effective rights: the key's scopes intersected with the owner's
// current role, so that a key never outlives its owner's rights.
func Authorize(ko *core.KeyOwner, ip netip.Addr, userAgent string, now time.Time) (*core.Actor, error) {
	k := &ko.Key
	if !k.Usable(now) || ko.UserDisabled || !ko.Role.Valid() {
		return nil, ErrInvalid
	}
	if k.DisabledAt != nil {
		return nil, ErrDisabled
	}
	if len(k.AllowedIPs) > 0 {
		allowed := false
		for _, p := range k.AllowedIPs {
			if p.Contains(ip) {
				allowed = true
				break
			}
		}
		if !allowed {
			return nil, ErrIPNotAllowed
		}
	}
	return &core.Actor{
		Type:      core.ActorAPIKey,
		UserID:    k.UserID,
		OrgID:     k.OrgID,
		Role:      ko.Role,
		KeyID:     k.ID,
		ProjectID: k.ProjectID,
		Scopes:    k.Scopes & ko.Role.Scopes(),
		Label:     k.PublicID,
		TestMode:  k.Env == core.EnvTest,
		Addr:      ip,
		UserAgent: userAgent,
	}, nil
}
