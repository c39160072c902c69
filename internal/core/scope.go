package core

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
)

// Scope names one permission an API key may hold (product.md section 3).
type Scope string

// The scopes, in the order they are listed and stored.
const (
	ScopeProjectsRead     Scope = "projects:read"
	ScopeProjectsWrite    Scope = "projects:write"
	ScopeLicensesRead     Scope = "licenses:read"
	ScopeLicensesWrite    Scope = "licenses:write"
	ScopeDomainsRead      Scope = "domains:read"
	ScopeDomainsWrite     Scope = "domains:write"
	ScopeInjectablesRead  Scope = "injectables:read"
	ScopeInjectablesWrite Scope = "injectables:write"
	ScopePaymentsRead     Scope = "payments:read"
	ScopePaymentsWrite    Scope = "payments:write"
	ScopeAPIKeysRead      Scope = "api_keys:read"
	ScopeAPIKeysWrite     Scope = "api_keys:write"
	ScopeAuditRead        Scope = "audit:read"
	ScopeWebhooksRead     Scope = "webhooks:read"
	ScopeWebhooksWrite    Scope = "webhooks:write"
)

// AllScopes lists every scope in canonical order.
var AllScopes = []Scope{
	ScopeProjectsRead, ScopeProjectsWrite,
	ScopeLicensesRead, ScopeLicensesWrite,
	ScopeDomainsRead, ScopeDomainsWrite,
	ScopeInjectablesRead, ScopeInjectablesWrite,
	ScopePaymentsRead, ScopePaymentsWrite,
	ScopeAPIKeysRead, ScopeAPIKeysWrite,
	ScopeAuditRead,
	ScopeWebhooksRead, ScopeWebhooksWrite,
}

// ScopeSet is a set of scopes as a bit mask, so that the per-request check
// "key scopes ∩ role scopes ⊇ needed" is two AND instructions.
type ScopeSet uint32

func scopeBit(s Scope) ScopeSet {
	for i, a := range AllScopes {
		if a == s {
			return 1 << i
		}
	}
	return 0
}

// ParseScope returns the set holding the named scope, or false when the name
// is unknown.
func ParseScope(s string) (ScopeSet, bool) {
	b := scopeBit(Scope(s))
	return b, b != 0
}

// NewScopeSet returns the set of the given scopes; unknown names are ignored.
func NewScopeSet(scopes ...Scope) ScopeSet {
	var set ScopeSet
	for _, s := range scopes {
		set |= scopeBit(s)
	}
	return set
}

// ParseScopes parses names into a set and reports the first unknown name.
func ParseScopes(names []string) (ScopeSet, error) {
	var set ScopeSet
	for _, n := range names {
		b, ok := ParseScope(strings.TrimSpace(n))
		if !ok {
			return 0, fmt.Errorf("unknown scope %q", n)
		}
		set |= b
	}
	return set, nil
}

// Has reports whether every scope of other is in s.
func (s ScopeSet) Has(other ScopeSet) bool { return s&other == other }

// HasScope reports whether s holds scope.
func (s ScopeSet) HasScope(scope Scope) bool {
	b := scopeBit(scope)
	return b != 0 && s&b == b
}

// Len returns the number of scopes in s.
func (s ScopeSet) Len() int { return bits.OnesCount32(uint32(s)) }

// Scopes returns the scopes of s in canonical order.
func (s ScopeSet) Scopes() []Scope {
	out := make([]Scope, 0, s.Len())
	for i, a := range AllScopes {
		if s&(1<<i) != 0 {
			out = append(out, a)
		}
	}
	return out
}

// Strings returns the scope names of s in canonical order.
func (s ScopeSet) Strings() []string {
	out := make([]string, 0, s.Len())
	for _, a := range s.Scopes() {
		out = append(out, string(a))
	}
	return out
}

// String returns the names joined by spaces, the stored form.
func (s ScopeSet) String() string { return strings.Join(s.Strings(), " ") }

// MarshalJSON writes the names, so that stored JSON (a policy's developer
// scopes) does not depend on the order of AllScopes.
func (s ScopeSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.Strings()) }

// UnmarshalJSON reads names; unknown ones are dropped, as
// ScopeSetFromString drops them.
func (s *ScopeSet) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*s = ScopeSetFromString(strings.Join(names, " "))
	return nil
}

// ScopeSetFromString parses the stored, space-separated form. Unknown names
// are dropped: a scope removed from the product must not break old keys.
func ScopeSetFromString(stored string) ScopeSet {
	var set ScopeSet
	for _, f := range strings.Fields(stored) {
		set |= scopeBit(Scope(f))
	}
	return set
}

// Role is a member's role in an organization.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner     Role = "owner"
	RoleAdmin     Role = "admin"
	RoleDeveloper Role = "developer"
	RoleViewer    Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer:
		return true
	}
	return false
}

var (
	allScopeSet  = NewScopeSet(AllScopes...)
	readScopeSet = NewScopeSet(ScopeProjectsRead, ScopeLicensesRead, ScopeDomainsRead,
		ScopeInjectablesRead, ScopePaymentsRead, ScopeAPIKeysRead, ScopeAuditRead, ScopeWebhooksRead)
)

// Scopes returns what the role allows. Owners, admins and developers hold
// every scope; what separates them (managing members, other users' keys) is
// checked by the service, not by scopes. Viewers hold only the read scopes.
func (r Role) Scopes() ScopeSet {
	switch r {
	case RoleOwner, RoleAdmin, RoleDeveloper:
		return allScopeSet
	case RoleViewer:
		return readScopeSet
	}
	return 0
}

// Rank orders roles: a higher rank can do everything a lower one can.
func (r Role) Rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleDeveloper:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// ManagesOthersKeys reports whether the role may see and change API keys of
// other members of the organization.
func (r Role) ManagesOthersKeys() bool { return r == RoleOwner || r == RoleAdmin }

// ManagesMembers reports whether the role may add, remove and re-role members.
func (r Role) ManagesMembers() bool { return r == RoleOwner }
