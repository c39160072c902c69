package service

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Limits on API-key fields. The ceiling of rate_limit_per_minute is the
// server's --max-key-rate-limit (Config.MaxKeyRateLimit); MaxKeyRateLimit
// bounds what a transport needs to parse before the service compares.
const (
	MaxKeyAllowedIPs = 100
	MaxKeyRateLimit  = math.MaxInt32
	MaxGraceSeconds  = 86400
)

// checkRateLimit reports a rate limit outside 0 (the server default) to
// the server's ceiling.
func (s *Service) checkRateLimit(p core.Problems, n int) {
	if n < 0 || n > s.maxKeyRateLimit {
		p.Add("rate_limit_per_minute", "The rate limit per minute field must be between 0 and "+strconv.Itoa(s.maxKeyRateLimit)+".")
	}
}

// KeyInput describes a key to create. Nil Scopes means "everything the
// owner and the caller may grant".
type KeyInput struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules (a string where a number belongs); they are reported
	// together with the rules' own, after the access checks.
	Problems core.Problems

	Name        string
	Description string
	ProjectID   int64
	Scopes      []string
	Env         string
	ExpiresAt   *time.Time
	AllowedIPs  []string
	RateLimit   int
}

// ParseAllowedIPs parses addresses and CIDR blocks; a bare address becomes a
// single-address block. IPv4-mapped forms are stored as IPv4.
func ParseAllowedIPs(p core.Problems, field string, in []string) []netip.Prefix {
	if len(in) > MaxKeyAllowedIPs {
		p.Add(field, "The "+field+" field must not have more than 100 items.")
		return nil
	}
	out := make([]netip.Prefix, 0, len(in))
	for _, raw := range in {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				p.Add(field, "The "+field+" field contains an invalid IP address or CIDR block: "+quoteShort(s)+".")
				continue
			}
			// An IPv4-mapped block becomes the IPv4 block it means: client
			// addresses are compared unmapped.
			out = append(out, licensing.UnmapPrefix(pf.Masked()))
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			p.Add(field, "The "+field+" field contains an invalid IP address or CIDR block: "+quoteShort(s)+".")
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

// quoteShort quotes user input for an error message, cut to a sane length.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		r := []rune(s)
		s = string(r[:64]) + "…"
	}
	return `"` + s + `"`
}

// grantable returns what the actor may put on a key owned by a member with
// role ownerRole: the owner's role, and never more than the caller holds.
func grantable(actor *core.Actor, ownerRole core.Role) core.ScopeSet {
	return ownerRole.Scopes() & actor.Scopes
}

// checkScopes parses requested scope names against what may be granted.
func checkScopes(p core.Problems, names []string, allowed core.ScopeSet) (core.ScopeSet, error) {
	if names == nil {
		return allowed, nil
	}
	var set core.ScopeSet
	for _, n := range names {
		b, ok := core.ParseScope(strings.TrimSpace(n))
		if !ok {
			p.Add("scopes", "The scope "+quoteShort(n)+" is not a valid scope.")
			continue
		}
		set |= b
	}
	if p.Has("scopes") {
		return 0, nil
	}
	if set == 0 {
		p.Add("scopes", "The scopes field must hold at least one scope.")
		return 0, nil
	}
	if extra := set &^ allowed; extra != 0 {
		return 0, &core.Error{Code: core.EForbidden, Reason: core.ReasonScopeNotGrantable,
			Message: "You cannot grant the scope " + extra.Strings()[0] + ": it is beyond your own rights."}
	}
	return set, nil
}

// errRotatedActor refuses key management to a key in its rotation grace.
var errRotatedActor = &core.Error{Code: core.EForbidden, Reason: core.ReasonRotatedKey,
	Message: "This API key was rotated: during its grace period it cannot manage API keys. Use its successor."}

// requireKeyManager checks that the actor may manage API keys: the scope,
// and not a rotated key. A key is rotated because its secret may have
// leaked; during the grace it keeps serving the integrations it had, but
// minting a new key, or changing, rotating or revoking its successor, would
// let a leaked secret outlive the rotation or lock its owner out.
func (s *Service) requireKeyManager(ctx context.Context, actor *core.Actor) error {
	if err := actor.Require(core.ScopeAPIKeysWrite); err != nil {
		return err
	}
	if actor.Type != core.ActorAPIKey || actor.KeyID == 0 {
		return nil
	}
	k, err := s.store.APIKey(ctx, actor.KeyID)
	if err != nil {
		return err
	}
	if k.RotatedTo != 0 {
		return errRotatedActor
	}
	return nil
}

// CreateAPIKey mints a key owned by ownerID in the actor's organization
// and returns it with its secret, which is never available again.
func (s *Service) CreateAPIKey(ctx context.Context, actor *core.Actor, ownerID int64, in KeyInput) (*core.APIKey, string, error) {
	if err := s.requireKeyManager(ctx, actor); err != nil {
		return nil, "", err
	}
	if ownerID != actor.UserID && actor.Type != core.ActorSystem && !actor.Role.ManagesOthersKeys() {
		return nil, "", core.Errorf(core.EForbidden, "You may create API keys only for yourself.")
	}
	owner, err := s.store.Membership(ctx, actor.OrgID, ownerID)
	if core.IsCode(err, core.ENotFound) {
		return nil, "", core.Invalid("user_id", "The user is not a member of this organization.")
	}
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	p := core.Problems{}
	p.Merge(in.Problems)
	name := strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		p.Add("name", "The name field is required.")
	case n > 255:
		p.Add("name", "The name field must not be greater than 255 characters.")
	}
	if utf8.RuneCountInString(in.Description) > 1000 {
		p.Add("description", "The description field must not be greater than 1000 characters.")
	}
	env := in.Env
	if env == "" {
		env = core.EnvLive
	}
	env, err = testModeKeyEnv(actor, in.Env, env)
	if err != nil {
		return nil, "", err
	}
	if env != core.EnvLive && env != core.EnvTest {
		p.Add("env", "The env field must be one of live, test.")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		p.Add("expires_at", "The expires at field must be a date after now.")
	}
	ips := ParseAllowedIPs(p, "allowed_ips", in.AllowedIPs)
	s.checkRateLimit(p, in.RateLimit)
	scopes, err := checkScopes(p, in.Scopes, grantable(actor, owner.Role))
	if err != nil {
		return nil, "", err
	}
	projectID := in.ProjectID
	if actor.ProjectID != 0 {
		if projectID == 0 {
			projectID = actor.ProjectID
		} else if projectID != actor.ProjectID {
			return nil, "", errProjectMismatch
		}
	}
	if projectID != 0 && !p.Has("project_id") {
		pr, err := s.store.Project(ctx, projectID)
		if core.IsCode(err, core.ENotFound) || (err == nil && pr.OrgID != actor.OrgID) {
			p.Add("project_id", "The selected project id is invalid.")
		} else if err != nil {
			return nil, "", err
		}
	}
	// The fields' problems are reported inside the transaction, after the
	// plan and the policy (issue 15: limits before validation).
	invalid := p.Err()
	if p.Has("scopes") {
		scopes = knownScopes(in.Scopes) // what the policy looks at
	}
	draft := keyDraft{ProjectID: projectID, Env: env, HasIPs: hasIPs(in.AllowedIPs), Scopes: scopes,
		Explicit: in.Scopes != nil, OwnerRole: owner.Role}
	m := keys.Mint(env)
	k := &core.APIKey{
		OrgID: actor.OrgID, UserID: ownerID, ProjectID: projectID,
		Name: name, Description: in.Description,
		PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4, Env: env,
		Scopes: scopes, AllowedIPs: ips, RateLimit: in.RateLimit, ExpiresAt: in.ExpiresAt,
		CreatedBy: actor.Label,
	}
	err = s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		var err error
		if k.Scopes, k.ExpiresAt, err = s.newKeyRules(ctx, st, actor.OrgID, now, draft, in.ExpiresAt, in.Problems.Has("expires_at")); err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		if err := st.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		if err := s.emitAPIKey(ctx, st, EventAPIKeyCreated, nil, k); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("api_key.create", "api_key", k.ID, projectID, keyAuditDetails(k)))
	})
	if err != nil {
		return nil, "", err
	}
	return k, m.Secret, nil
}

// keyAuditDetails describes a key for the audit log: never its secret or
// digest.
func keyAuditDetails(k *core.APIKey) map[string]any {
	d := map[string]any{
		"name": k.Name, "public_id": k.PublicID, "env": k.Env, "scopes": k.Scopes.Strings(),
		"project_id": k.ProjectID, "user_id": k.UserID, "enabled": k.DisabledAt == nil,
	}
	if k.ExpiresAt != nil {
		d["expires_at"] = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if len(k.AllowedIPs) > 0 {
		ips := make([]string, len(k.AllowedIPs))
		for i, p := range k.AllowedIPs {
			ips[i] = p.String()
		}
		d["allowed_ips"] = ips
	}
	if k.RateLimit != 0 {
		d["rate_limit_per_minute"] = k.RateLimit
	}
	return d
}

// errProjectMismatch is DevPayr's answer when a key acts outside its
// project or organization.
var errProjectMismatch = &core.Error{Code: core.EForbidden, Reason: core.ReasonProjectMismatch,
	Message: "API key does not match project owner."}

// visibleKey returns the key if the actor may see it: same organization;
// for a project-scoped caller, the same project; for a role that does not
// manage others' keys, the caller's own. Anything else is "not found", so
// that IDs of other tenants cannot be probed.
func (s *Service) visibleKey(ctx context.Context, st core.Store, actor *core.Actor, id int64) (*core.APIKey, error) {
	k, err := st.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.OrgID != actor.OrgID ||
		(actor.ProjectID != 0 && k.ProjectID != actor.ProjectID) ||
		(actor.Type != core.ActorSystem && !actor.Role.ManagesOthersKeys() && k.UserID != actor.UserID) {
		return nil, core.NotFound("API key")
	}
	return k, nil
}

// ListAPIKeys returns the keys the actor may see, newest first, starting
// below beforeID (0: from the newest).
func (s *Service) ListAPIKeys(ctx context.Context, actor *core.Actor, beforeID int64, limit int) ([]core.APIKey, error) {
	if err := actor.Require(core.ScopeAPIKeysRead); err != nil {
		return nil, err
	}
	f := core.APIKeyFilter{OrgID: actor.OrgID, ProjectID: actor.ProjectID, BeforeID: beforeID, Limit: limit}
	if actor.Type != core.ActorSystem && !actor.Role.ManagesOthersKeys() {
		f.UserID = actor.UserID
	}
	return s.store.ListAPIKeys(ctx, f)
}

// KeyListFilter narrows the dashboard's key list: an owner (0: anyone
// the actor may see), a project (0: any; GlobalOnly: none), an
// environment and a state (core.KeyActive, KeyDisabled, KeyRevoked or
// KeyExpired); "" means any.
type KeyListFilter struct {
	UserID     int64
	ProjectID  int64
	GlobalOnly bool
	Env        string
	Status     string
}

// ListAPIKeysFiltered is ListAPIKeys narrowed by f. A filter naming
// another owner than the actor, for a role that sees only its own keys,
// still lists only the actor's.
func (s *Service) ListAPIKeysFiltered(ctx context.Context, actor *core.Actor, kf KeyListFilter, beforeID int64, limit int) ([]core.APIKey, error) {
	if err := actor.Require(core.ScopeAPIKeysRead); err != nil {
		return nil, err
	}
	p := core.Problems{}
	switch kf.Env {
	case "", core.EnvLive, core.EnvTest:
	default:
		p.Add("env", "The selected environment is invalid: use live or test.")
	}
	switch kf.Status {
	case "", core.KeyActive, core.KeyDisabled, core.KeyRevoked, core.KeyExpired:
	default:
		p.Add("status", "The selected status is invalid: use active, disabled, revoked or expired.")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	f := core.APIKeyFilter{OrgID: actor.OrgID, ProjectID: actor.ProjectID, UserID: kf.UserID, Env: kf.Env,
		Status: kf.Status, Now: s.now(), GlobalOnly: kf.GlobalOnly && actor.ProjectID == 0, BeforeID: beforeID, Limit: limit}
	if f.ProjectID == 0 && !f.GlobalOnly {
		f.ProjectID = kf.ProjectID
	} else if kf.ProjectID != 0 && kf.ProjectID != f.ProjectID {
		return nil, nil // a bound actor asking for another project's keys
	}
	if actor.Type != core.ActorSystem && !actor.Role.ManagesOthersKeys() {
		if kf.UserID != 0 && kf.UserID != actor.UserID {
			return nil, nil
		}
		f.UserID = actor.UserID
	}
	return s.store.ListAPIKeys(ctx, f)
}

// APIKey returns one key the actor may see.
func (s *Service) APIKey(ctx context.Context, actor *core.Actor, id int64) (*core.APIKey, error) {
	if err := actor.Require(core.ScopeAPIKeysRead); err != nil {
		return nil, err
	}
	return s.visibleKey(ctx, s.store, actor, id)
}

// KeyUpdate describes changes to a key; nil fields stay as they are.
type KeyUpdate struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules; reported after the access checks.
	Problems    core.Problems
	Name        *string
	Description *string
	Scopes      *[]string
	ExpiresAt   **time.Time
	AllowedIPs  *[]string
	RateLimit   *int
	// Enabled false disables the key for a while, true enables it again
	// (issue 19); a key already in that state is left as it is.
	Enabled *bool
}

// ownerGrantable returns what the actor may grant on a key owned by
// userID: the owner's current role, within the caller's own rights.
func (s *Service) ownerGrantable(ctx context.Context, st core.Store, actor *core.Actor, orgID, userID int64) (core.ScopeSet, error) {
	m, err := st.Membership(ctx, orgID, userID)
	if core.IsCode(err, core.ENotFound) {
		return 0, nil // the owner left: their keys can only be narrowed away
	}
	if err != nil {
		return 0, err
	}
	return grantable(actor, m.Role), nil
}

// errBeyondRights refuses a change that would leave a key (whose secret the
// caller holds or could obtain) with rights the caller lacks.
var errBeyondRights = &core.Error{Code: core.EForbidden, Reason: core.ReasonBeyondOwnRights,
	Message: "This API key holds scopes beyond your own rights; you cannot change or rotate it."}

// expiryFinal refuses a change of expires_at on a rotated or expired key.
func expiryFinal(msg string) error {
	return &core.Error{Code: core.EConflict, Reason: core.ReasonExpiryFinal, Message: msg,
		Fields: map[string][]string{"expires_at": {msg}}}
}

// errRevokeBeyondRights refuses to let a key revoke one with more power than
// itself: a narrow key must not be able to take down the keys of the
// systems it was never trusted with.
var errRevokeBeyondRights = &core.Error{Code: core.EForbidden, Reason: core.ReasonBeyondOwnRights,
	Message: "This API key holds scopes beyond your own rights; you cannot revoke it."}

// UpdateAPIKey changes a key. The result may never hold scopes beyond what
// the caller and the key's owner hold now.
func (s *Service) UpdateAPIKey(ctx context.Context, actor *core.Actor, id int64, in KeyUpdate) (*core.APIKey, error) {
	if err := s.requireKeyManager(ctx, actor); err != nil {
		return nil, err
	}
	var out *core.APIKey
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		k, err := s.visibleKey(ctx, st, actor, id)
		if err != nil {
			return err
		}
		now := s.now()
		if k.RevokedAt != nil {
			return core.Errorf(core.EConflict, "This API key is revoked and can no longer be changed.")
		}
		allowed, err := s.ownerGrantable(ctx, st, actor, k.OrgID, k.UserID)
		if err != nil {
			return err
		}
		p := core.Problems{}
		p.Merge(in.Problems)
		upd := core.APIKeyUpdate{Description: in.Description, RateLimit: in.RateLimit}
		if in.Name != nil {
			name := strings.TrimSpace(*in.Name)
			switch n := utf8.RuneCountInString(name); {
			case n == 0:
				p.Add("name", "The name field is required.")
			case n > 255:
				p.Add("name", "The name field must not be greater than 255 characters.")
			}
			upd.Name = &name
		}
		if in.Description != nil && utf8.RuneCountInString(*in.Description) > 1000 {
			p.Add("description", "The description field must not be greater than 1000 characters.")
		}
		scopes := k.Scopes
		if in.Scopes != nil {
			scopes, err = checkScopes(p, *in.Scopes, allowed)
			if err != nil {
				return err
			}
			upd.Scopes = &scopes
		}
		if in.ExpiresAt != nil {
			// A rotation or an expiry ends a key for good: moving the date
			// would revive it, and would let a leaked old secret keep itself
			// alive through its grace.
			switch {
			case k.RotatedTo != 0:
				return expiryFinal("This API key was rotated: its expiry is set by the rotation and cannot be changed (revoke it to end the grace now).")
			case !k.Usable(now):
				return expiryFinal("This API key has expired: its expiry cannot be changed.")
			}
			if *in.ExpiresAt != nil && !(*in.ExpiresAt).After(now) {
				p.Add("expires_at", "The expires at field must be a date after now.")
			}
			upd.ExpiresAt = in.ExpiresAt
		}
		if in.AllowedIPs != nil {
			ips := ParseAllowedIPs(p, "allowed_ips", *in.AllowedIPs)
			upd.AllowedIPs = &ips
		}
		if in.RateLimit != nil {
			s.checkRateLimit(p, *in.RateLimit)
		}
		if in.Enabled != nil && *in.Enabled != (k.DisabledAt == nil) {
			var at *time.Time
			if !*in.Enabled {
				at = &now
			}
			upd.DisabledAt = &at
		}
		if err := s.updateKeyRules(ctx, st, k, in); err != nil {
			return err
		}
		if err := p.Err(); err != nil {
			return err
		}
		if scopes&^allowed != 0 {
			return errBeyondRights
		}
		out, err = st.UpdateAPIKey(ctx, id, upd)
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeAPIKey, ID: id})
		if err := s.emitAPIKey(ctx, st, EventAPIKeyUpdated, k, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("api_key.update", "api_key", id, k.ProjectID, keyAuditDetails(out)))
	})
	return out, err
}

// RevokeAPIKey revokes a key at once and for good. Revoking a revoked key
// changes nothing and succeeds.
func (s *Service) RevokeAPIKey(ctx context.Context, actor *core.Actor, id int64) (*core.APIKey, error) {
	if err := s.requireKeyManager(ctx, actor); err != nil {
		return nil, err
	}
	var out *core.APIKey
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		k, err := s.visibleKey(ctx, st, actor, id)
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			out = k
			return nil
		}
		// What the key can do now: its scopes within its owner's current
		// role (nothing once the owner has left).
		effective, err := s.ownerGrantable(ctx, st, &core.Actor{Scopes: k.Scopes}, k.OrgID, k.UserID)
		if err != nil {
			return err
		}
		if effective&^actor.Scopes != 0 {
			return errRevokeBeyondRights
		}
		out, err = st.RevokeAPIKey(ctx, id, s.now())
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeAPIKey, ID: id})
		if err := s.emitAPIKey(ctx, st, EventAPIKeyRevoked, k, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("api_key.revoke", "api_key", id, k.ProjectID,
			map[string]any{"name": k.Name, "public_id": k.PublicID}))
	})
	return out, err
}

// RotateAPIKey mints a successor with the same settings and lets the old
// key work for grace more (never past its own expiry). It returns the new
// key, its secret, and the old key as it is now.
func (s *Service) RotateAPIKey(ctx context.Context, actor *core.Actor, id int64, grace time.Duration) (*core.APIKey, string, *core.APIKey, error) {
	if err := s.requireKeyManager(ctx, actor); err != nil {
		return nil, "", nil, err
	}
	if grace < 0 || grace > MaxGraceSeconds*time.Second {
		return nil, "", nil, core.Invalid("grace_seconds", "The grace seconds field must be between 0 and 86400.")
	}
	var nk, old *core.APIKey
	var secret string
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		k, err := s.visibleKey(ctx, st, actor, id)
		if err != nil {
			return err
		}
		if actor.TestMode && k.Env != core.EnvTest {
			return errTestModeLiveKey
		}
		now := s.now()
		switch {
		case k.RevokedAt != nil:
			return core.Errorf(core.EConflict, "This API key is revoked and cannot be rotated.")
		case k.RotatedTo != 0:
			return core.Errorf(core.EConflict, "This API key was already rotated (its successor is key %d).", k.RotatedTo)
		case !k.Usable(now):
			return core.Errorf(core.EConflict, "This API key has expired and cannot be rotated.")
		case k.DisabledAt != nil:
			// A successor would be an enabled copy: enabling is a choice
			// of its own, made (and audited) as such.
			return core.Errorf(core.EConflict, "This API key is disabled: enable it before rotating it.")
		}
		allowed, err := s.ownerGrantable(ctx, st, actor, k.OrgID, k.UserID)
		if err != nil {
			return err
		}
		if k.Scopes&^allowed != 0 {
			return errBeyondRights
		}
		expires, err := s.rotateKeyRules(ctx, st, k, now)
		if err != nil {
			return err
		}
		m := keys.Mint(k.Env)
		nk = &core.APIKey{
			OrgID: k.OrgID, UserID: k.UserID, ProjectID: k.ProjectID, Name: k.Name, Description: k.Description,
			PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4, Env: k.Env, Scopes: k.Scopes,
			AllowedIPs: k.AllowedIPs, RateLimit: k.RateLimit, ExpiresAt: expires, CreatedBy: actor.Label,
		}
		if err := st.CreateAPIKey(ctx, nk); err != nil {
			return err
		}
		secret = m.Secret
		old, err = st.RetireAPIKey(ctx, k.ID, nk.ID, now.Add(grace))
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeAPIKey, ID: k.ID})
		if err := s.emitAPIKey(ctx, st, EventAPIKeyRotated, old, nk); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("api_key.rotate", "api_key", k.ID, k.ProjectID, map[string]any{
			"name": k.Name, "old_public_id": k.PublicID, "new_public_id": nk.PublicID, "new_key_id": nk.ID,
			"grace_seconds": int(grace / time.Second),
		}))
	})
	if err != nil {
		return nil, "", nil, err
	}
	return nk, secret, old, nil
}

// APIKeyUsage returns per-day request counts for the last days days (UTC),
// including what this node has counted but not yet written.
func (s *Service) APIKeyUsage(ctx context.Context, actor *core.Actor, id int64, days int, pending map[string]int64) ([]core.DayCount, error) {
	if err := actor.Require(core.ScopeAPIKeysRead); err != nil {
		return nil, err
	}
	if _, err := s.visibleKey(ctx, s.store, actor, id); err != nil {
		return nil, err
	}
	return s.dailySeries(days, func(from, to string) ([]core.DayCount, error) {
		return s.store.KeyUsage(ctx, id, from, to)
	}, pending)
}

// dailySeries returns one count per day for the last days days, oldest
// first, with missing days as zero and pending counts added.
func (s *Service) dailySeries(days int, fetch func(from, to string) ([]core.DayCount, error), pending map[string]int64) ([]core.DayCount, error) {
	if days < 1 || days > 366 {
		return nil, core.Invalid("days", "The days field must be between 1 and 366.")
	}
	today := s.now().UTC()
	from := today.AddDate(0, 0, -(days - 1)).Format(time.DateOnly)
	stored, err := fetch(from, today.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	byDay := make(map[string]int64, len(stored))
	for _, d := range stored {
		byDay[d.Day] = d.Count
	}
	out := make([]core.DayCount, days)
	for i := range days {
		day := today.AddDate(0, 0, i-(days-1)).Format(time.DateOnly)
		out[i] = core.DayCount{Day: day, Count: byDay[day] + pending[day]}
	}
	return out, nil
}
