package keys

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// Failures of authentication, with DevPayr's exact messages.
var (
	ErrMissing = &core.Error{Code: core.EUnauthorized, Reason: core.ReasonMissingAPIKey,
		Message: "Missing required X-API-KEY header."}
	ErrInvalid = &core.Error{Code: core.EForbidden, Reason: core.ReasonInvalidAPIKey,
		Message: "Invalid or expired API key."}
	ErrIPNotAllowed = &core.Error{Code: core.EForbidden, Reason: core.ReasonIPNotAllowed,
		Message: "This API key may not be used from your IP address."}
)

// OwnerLookup is the one store query authentication needs.
type OwnerLookup interface {
	APIKeyOwnerByDigest(ctx context.Context, digest []byte) (*core.KeyOwner, error)
}

const shards = 64

// Authenticator finds the key record for a presented secret. In steady
// state it answers from memory: records are cached by digest, unknown
// digests too (so guessing costs the database nothing), and malformed
// secrets are refused by their checksum before any lookup. Invalidate drops
// records synchronously; entries also expire after the TTL as a safety net
// should a notification from another node be lost.
type Authenticator struct {
	store OwnerLookup
	ttl   time.Duration
	now   func() time.Time
	// gen counts invalidations. A miss records gen before it reads the
	// store and caches its result only if gen has not moved, so a read that
	// raced with a revocation cannot put the revoked record back.
	gen    atomic.Uint64
	shards [shards]authShard
	// OnEvent, when set, is told "hit", "miss" or "negative_hit".
	OnEvent func(event string)
}

type authShard struct {
	mu        sync.RWMutex
	entries   map[[32]byte]authEntry
	negatives int
}

type authEntry struct {
	owner   *core.KeyOwner // nil: no such key
	expires time.Time
}

// maxNegativesPerShard bounds memory spent remembering garbage.
const maxNegativesPerShard = 4096

// NewAuthenticator returns an Authenticator over store.
func NewAuthenticator(store OwnerLookup, ttl time.Duration, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{store: store, ttl: ttl, now: now}
	for i := range a.shards {
		a.shards[i].entries = make(map[[32]byte]authEntry)
	}
	return a
}

func (a *Authenticator) event(e string) {
	if a.OnEvent != nil {
		a.OnEvent(e)
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
	sh := &a.shards[d[0]%shards]
	now := a.now()
	sh.mu.RLock()
	e, ok := sh.entries[d]
	sh.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.owner == nil {
			a.event("negative_hit")
			return nil, ErrInvalid
		}
		a.event("hit")
		return e.owner, nil
	}
	a.event("miss")
	g := a.gen.Load()
	// A copy for the store, so that d itself stays on the stack on hits.
	owner, err := a.store.APIKeyOwnerByDigest(ctx, append([]byte(nil), d[:]...))
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	sh.mu.Lock()
	if a.gen.Load() == g {
		if owner == nil {
			if sh.negatives >= maxNegativesPerShard {
				for k, v := range sh.entries {
					if v.owner == nil {
						delete(sh.entries, k)
					}
				}
				sh.negatives = 0
			}
			sh.negatives++
		}
		sh.entries[d] = authEntry{owner: owner, expires: now.Add(a.ttl)}
	}
	sh.mu.Unlock()
	if owner == nil {
		return nil, ErrInvalid
	}
	return owner, nil
}

// Invalidate drops the cached records c names.
func (a *Authenticator) Invalidate(c core.Change) {
	var match func(ko *core.KeyOwner) bool
	switch c.Kind {
	case core.ChangeAll:
		match = func(*core.KeyOwner) bool { return true }
	case core.ChangeAPIKey:
		match = func(ko *core.KeyOwner) bool { return ko.Key.ID == c.ID }
	case core.ChangeUser:
		match = func(ko *core.KeyOwner) bool { return ko.Key.UserID == c.ID }
	case core.ChangeMembership:
		match = func(ko *core.KeyOwner) bool { return ko.Key.OrgID == c.ID && ko.Key.UserID == c.ID2 }
	case core.ChangeProject:
		match = func(ko *core.KeyOwner) bool { return ko.Key.ProjectID == c.ID }
	default:
		return
	}
	a.gen.Add(1)
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		if c.Kind == core.ChangeAll {
			clear(sh.entries)
			sh.negatives = 0
		} else {
			for k, e := range sh.entries {
				if e.owner != nil && match(e.owner) {
					delete(sh.entries, k)
				}
			}
		}
		sh.mu.Unlock()
	}
}

// Authorize decides whether ko may act now from ip, and returns the actor
// with its effective rights: the key's scopes intersected with the owner's
// current role, so that a key never outlives its owner's rights.
func Authorize(ko *core.KeyOwner, ip netip.Addr, userAgent string, now time.Time) (*core.Actor, error) {
	k := &ko.Key
	if !k.Usable(now) || ko.UserDisabled || !ko.Role.Valid() {
		return nil, ErrInvalid
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
		Addr:      ip,
		UserAgent: userAgent,
	}, nil
}
