package service

import (
	"context"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
)

// Limits on API-key fields.
const (
	MaxKeyAllowedIPs = 100
	MaxKeyRateLimit  = 1_000_000
	MaxGraceSeconds  = 86400
)

// KeyInput describes a key to create. Nil Scopes means "everything the
// owner and the caller may grant".
type KeyInput struct {
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
// single-address block.
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
			out = append(out, pf.Masked())
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
		return 0, &core.Error{Code: core.EForbidden, Reason: "SCOPE_NOT_GRANTABLE",
			Message: "You cannot grant the scope " + extra.Strings()[0] + ": it is beyond your own rights."}
	}
	return set, nil
}

// CreateAPIKey mints a key owned by ownerID in the actor's organization
// and returns it with its secret, which is never available again.
func (s *Service) CreateAPIKey(ctx context.Context, actor *core.Actor, ownerID int64, in KeyInput) (*core.APIKey, string, error) {
	if err := actor.Require(core.ScopeAPIKeysWrite); err != nil {
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
	if env != core.EnvLive && env != core.EnvTest {
		p.Add("env", "The env field must be one of live, test.")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		p.Add("expires_at", "The expires at field must be a date after now.")
	}
	ips := ParseAllowedIPs(p, "allowed_ips", in.AllowedIPs)
	if in.RateLimit < 0 || in.RateLimit > MaxKeyRateLimit {
		p.Add("rate_limit_per_minute", "The rate limit per minute field must be between 0 and 1000000.")
	}
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
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	m := keys.Mint(env)
	k := &core.APIKey{
		OrgID: actor.OrgID, UserID: ownerID, ProjectID: projectID,
		Name: name, Description: in.Description,
		PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4, Env: env,
		Scopes: scopes, AllowedIPs: ips, RateLimit: in.RateLimit, ExpiresAt: in.ExpiresAt,
		CreatedBy: actor.Label,
	}
	err = s.store.InTx(ctx, func(st core.Store) error {
		if err := st.CreateAPIKey(ctx, k); err != nil {
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
		"project_id": k.ProjectID, "user_id": k.UserID,
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
var errProjectMismatch = &core.Error{Code: core.EForbidden, Reason: "PROJECT_MISMATCH",
	Message: "API key does not match project owner."}
