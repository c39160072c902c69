package service

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// The plan's and the policy's rules on API keys, members and project
// deletion (issue 15). Each check runs inside the transaction that
// creates or changes, after the access checks and before the request's
// fields are reported: the organization's plan and policy are read there,
// never cached, so a change on one node holds on every node at once.

// policyLimit returns the 403 refusing what the organization's own policy
// forbids.
func policyLimit(msg string) *core.Error {
	return &core.Error{Code: core.EForbidden, Reason: ReasonPolicyLimit, Message: msg}
}

var errPolicyOwnersOnly = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only an owner of the organization can set its policy."}

// requirePolicyOwner refuses the policy to anyone but an owner (or the
// operator).
func requirePolicyOwner(actor *core.Actor) error {
	if actor.Type == core.ActorSystem || actor.Role.ManagesMembers() {
		return nil
	}
	return errPolicyOwnersOnly
}

// lifetimeLimit returns the refusal of a key living longer than the
// shortest maximum lifetime, naming who sets it; suffix ends the message
// ("." or ": give the key an expiry.").
func (r *orgRules) lifetimeLimit(suffix string) error {
	sw := r.Switches()
	text := lifetimeText(*sw.MaxKeyLifetime)
	if r.Plan != nil && r.Plan.Rules.MaxKeyLifetime != nil && *r.Plan.Rules.MaxKeyLifetime == *sw.MaxKeyLifetime {
		return core.PlanLimit("Your plan (%s) allows API keys to live at most %s%s", r.Plan.Name, text, suffix)
	}
	return policyLimit("Your organization's policy allows API keys to live at most " + text + suffix)
}

// maxLifetime returns the shortest maximum key lifetime, or 0.
func (r *orgRules) maxLifetime() time.Duration {
	if sw := r.Switches(); sw.MaxKeyLifetime != nil {
		return time.Duration(*sw.MaxKeyLifetime) * time.Second
	}
	return 0
}

// defaultLifetime returns the policy's default key lifetime, never longer
// than the maximum (a plan lowered after the policy was set), or 0.
func (r *orgRules) defaultLifetime() time.Duration {
	v := r.Org.Policy.DefaultKeyLifetime
	if v == nil {
		return 0
	}
	d := time.Duration(*v) * time.Second
	if m := r.maxLifetime(); m > 0 && d > m {
		d = m
	}
	return d
}

// checkExpiry refuses an expiry (nil: none) the rules do not allow for a
// key created at created.
func (r *orgRules) checkExpiry(created time.Time, exp *time.Time) error {
	if exp == nil {
		if err := r.Forbid(func(sw core.Switches) bool { return core.Allowed(sw.KeysWithoutExpiry) }, "API keys without an expiry"); err != nil {
			return err
		}
		if r.maxLifetime() > 0 {
			return r.lifetimeLimit(": give the key an expiry.")
		}
		return nil
	}
	if m := r.maxLifetime(); m > 0 && exp.Sub(created) > m {
		return r.lifetimeLimit(".")
	}
	return nil
}

// keyDraft is what the rules look at in a key being created or rotated.
type keyDraft struct {
	ProjectID int64
	Env       string
	HasIPs    bool
	// Scopes are the key's scopes; Explicit reports whether the request
	// named them (otherwise a developer's key is narrowed to the policy's
	// developer scopes rather than refused).
	Scopes    core.ScopeSet
	Explicit  bool
	OwnerRole core.Role
}

// checkKeyShape refuses a key the switches forbid (global, live without an
// IP allow-list) and returns its scopes within the policy's developer
// scopes.
func (r *orgRules) checkKeyShape(d keyDraft) (core.ScopeSet, error) {
	if d.ProjectID == 0 {
		if err := r.Forbid(func(sw core.Switches) bool { return core.Allowed(sw.GlobalKeys) }, "global API keys"); err != nil {
			return 0, err
		}
	}
	if d.Env == core.EnvLive && !d.HasIPs {
		if err := r.Forbid(func(sw core.Switches) bool { return core.Allowed(sw.LiveKeysWithoutIPAllowlist) }, "live API keys without an IP allow-list"); err != nil {
			return 0, err
		}
	}
	return r.developerScopes(d.OwnerRole, d.Scopes, d.Explicit)
}

// developerScopes applies the policy's developer scopes to a key owned by
// a member with role: named scopes beyond them are refused, unnamed ones
// (the default "everything") are narrowed to them.
func (r *orgRules) developerScopes(role core.Role, scopes core.ScopeSet, explicit bool) (core.ScopeSet, error) {
	dev := r.Org.Policy.DeveloperScopes
	if role != core.RoleDeveloper || dev == nil {
		return scopes, nil
	}
	if explicit {
		if extra := scopes &^ *dev; extra != 0 {
			return 0, policyLimit("Your organization's policy does not let developers give their keys the scope " + extra.Strings()[0] + ".")
		}
		return scopes, nil
	}
	if scopes &= *dev; scopes == 0 {
		return 0, policyLimit("Your organization's policy lets developers give their keys none of the scopes they may hold.")
	}
	return scopes, nil
}

// knownScopes parses the scope names a request sent, skipping unknown ones
// (reported by the field validation, after the rules).
func knownScopes(names []string) core.ScopeSet {
	var set core.ScopeSet
	for _, n := range names {
		if b, ok := core.ParseScope(strings.TrimSpace(n)); ok {
			set |= b
		}
	}
	return set
}

// hasIPs reports whether an allowed_ips list holds an entry (valid or not:
// a malformed one is the validation's to report).
func hasIPs(list []string) bool {
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// newKeyRules checks a key about to be created against the plan's cap on
// API keys and the plan's and policy's switches. It returns the key's
// scopes (narrowed for a developer) and expiry (the policy's default when
// the request gave none). expiryBad skips the expiry rules when the
// request's expires_at could not be read: the validation reports it.
func (s *Service) newKeyRules(ctx context.Context, st core.Store, orgID int64, now time.Time, d keyDraft, exp *time.Time, expiryBad bool) (core.ScopeSet, *time.Time, error) {
	r, err := s.rulesOf(ctx, st, orgID)
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkCap(ctx, st, 0, core.CapAPIKeys, 1); err != nil {
		return 0, nil, err
	}
	scopes, err := r.checkKeyShape(d)
	if err != nil {
		return 0, nil, err
	}
	if expiryBad {
		return scopes, exp, nil
	}
	if exp == nil {
		if dl := r.defaultLifetime(); dl > 0 {
			t := now.Add(dl)
			exp = &t
		}
	}
	if err := r.checkExpiry(now, exp); err != nil {
		return 0, nil, err
	}
	return scopes, exp, nil
}

// updateKeyRules checks a change to key k against the rules: removing or
// lengthening its expiry, emptying a live key's IP allow-list, giving a
// developer's key a scope beyond the developer scopes. What the request
// leaves alone, or sends back as it is, is not checked (a client may send
// the whole key back): a stricter plan or policy never breaks the keys
// that exist, nor stops them from being narrowed.
func (s *Service) updateKeyRules(ctx context.Context, st core.Store, k *core.APIKey, in KeyUpdate) error {
	expiry := in.ExpiresAt != nil && !in.Problems.Has("expires_at") && !sameTime(*in.ExpiresAt, k.ExpiresAt)
	ips := in.AllowedIPs != nil && !in.Problems.Has("allowed_ips") && !hasIPs(*in.AllowedIPs) && k.Env == core.EnvLive &&
		len(k.AllowedIPs) > 0
	scopes := in.Scopes != nil && knownScopes(*in.Scopes)&^k.Scopes != 0
	if !expiry && !ips && !scopes {
		return nil
	}
	r, err := s.rulesOf(ctx, st, k.OrgID)
	if err != nil {
		return err
	}
	if expiry {
		if err := r.checkExpiry(k.CreatedAt, *in.ExpiresAt); err != nil {
			return err
		}
	}
	if ips {
		if err := r.Forbid(func(sw core.Switches) bool { return core.Allowed(sw.LiveKeysWithoutIPAllowlist) }, "live API keys without an IP allow-list"); err != nil {
			return err
		}
	}
	if scopes && r.Org.Policy.DeveloperScopes != nil {
		m, err := st.Membership(ctx, k.OrgID, k.UserID)
		if err != nil && !core.IsCode(err, core.ENotFound) {
			return err
		}
		if err == nil {
			// Only the scopes the change adds: narrowing a key made
			// before the policy is allowed.
			if _, err := r.developerScopes(m.Role, knownScopes(*in.Scopes)&^k.Scopes, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameTime reports whether two optional times are the same instant (both
// nil included).
func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// rotateKeyRules checks the successor of k, minted at now with k's
// settings, against the rules, and returns its expiry. A rotation is not
// a creation (the API-key cap does not apply) but the successor is a new
// key: it must be one the rules allow. Its expiry is brought within them
// rather than refused (the policy's default lifetime, or the maximum),
// so that a key whose secret leaked can always be rotated for that
// reason alone; a global key, a live key without an IP allow-list, or a
// developer's key beyond the developer scopes is refused: revoke it and
// create one the rules allow.
func (s *Service) rotateKeyRules(ctx context.Context, st core.Store, k *core.APIKey, now time.Time) (*time.Time, error) {
	r, err := s.rulesOf(ctx, st, k.OrgID)
	if err != nil {
		return nil, err
	}
	role := core.Role("")
	if m, err := st.Membership(ctx, k.OrgID, k.UserID); err == nil {
		role = m.Role
	} else if !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	if _, err := r.checkKeyShape(keyDraft{ProjectID: k.ProjectID, Env: k.Env, HasIPs: len(k.AllowedIPs) > 0,
		Scopes: k.Scopes, Explicit: true, OwnerRole: role}); err != nil {
		return nil, err
	}
	exp := k.ExpiresAt
	maxL := r.maxLifetime()
	switch {
	case exp != nil && maxL > 0 && exp.Sub(now) > maxL:
		t := now.Add(maxL)
		exp = &t
	case exp == nil && r.checkExpiry(now, nil) != nil:
		d := r.defaultLifetime()
		if d == 0 {
			d = maxL
		}
		if d == 0 {
			return nil, r.checkExpiry(now, nil)
		}
		t := now.Add(d)
		exp = &t
	}
	return exp, nil
}

// checkMemberCap refuses an invitation beyond the plan's cap on members
// (members plus pending invitations). Renewing a pending invitation is not
// a creation. email is "" when the request's email is invalid.
func (s *Service) checkMemberCap(ctx context.Context, st core.Store, orgID int64, email string) error {
	r, err := s.rulesOf(ctx, st, orgID)
	if err != nil || r.Plan == nil || r.Plan.Rules.MaxMembers == nil {
		return err
	}
	if email != "" {
		invs, err := st.ListInvitations(ctx, orgID)
		if err != nil {
			return err
		}
		now := s.now()
		for _, inv := range invs {
			// Renewing a pending invitation that holds a seat is not a
			// creation.
			if inv.Email == email && inv.Pending(now) {
				return nil
			}
		}
	}
	return r.checkCap(ctx, st, 0, core.CapMembers, 1)
}

// checkProjectDeletion refuses deleting a project through an API key when
// the plan or the policy keeps deletion to the dashboard.
func (s *Service) checkProjectDeletion(ctx context.Context, st core.Store, actor *core.Actor, orgID int64) error {
	if actor.Type != core.ActorAPIKey {
		return nil
	}
	r, err := s.rulesOf(ctx, st, orgID)
	if err != nil {
		return err
	}
	return r.Forbid(func(sw core.Switches) bool { return core.Allowed(sw.APIProjectDeletion) }, "deleting projects through the API")
}
