package licensing

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/publicsuffix"

	"github.com/latchkey/latchkey/internal/core"
)

// Result codes of a validation: stable, machine-readable, documented in
// docs/validation.md.
const (
	CodeValid             = "VALID"
	CodeKeyMissing        = "KEY_MISSING"
	CodeNotFound          = "NOT_FOUND"
	CodeProjectMismatch   = "PROJECT_MISMATCH"
	CodeProjectInactive   = "PROJECT_INACTIVE"
	CodeRevoked           = "REVOKED"
	CodeSuspended         = "SUSPENDED"
	CodeExpired           = "EXPIRED"
	CodeDomainRequired    = "DOMAIN_REQUIRED"
	CodeDomainNotAllowed  = "DOMAIN_NOT_ALLOWED"
	CodeTooManyDomains    = "TOO_MANY_DOMAINS"
	CodeTooManySubdomains = "TOO_MANY_SUBDOMAINS"
	// CodeTooManyActivations is the churn limit (max_new_activations_per_day),
	// decided by the store with the activation's write.
	CodeTooManyActivations = "TOO_MANY_ACTIVATIONS"
	CodeEnvironment        = "ENVIRONMENT_MISMATCH"
	CodeIPNotAllowed       = "IP_NOT_ALLOWED"
	CodeCountryNotAllowed  = "COUNTRY_NOT_ALLOWED"
	CodeUsageExceeded      = "USAGE_EXCEEDED"
	CodeSeatsExhausted     = "SEATS_EXHAUSTED"
	CodeUnpaid             = "UNPAID"
	CodeRateLimited        = "RATE_LIMITED"
	DomainNotAuthorizedMsg = "This license is not authorized for the current domain."
)

// Messages for each code, for people.
var Messages = map[string]string{
	CodeValid:              "The license is valid.",
	CodeKeyMissing:         "A license key is required: send it in the X-LICENSE-KEY header or as license.",
	CodeNotFound:           "License not found.",
	CodeProjectMismatch:    "The license does not belong to this project.",
	CodeProjectInactive:    "The license's project is not active.",
	CodeRevoked:            "This license has been revoked.",
	CodeSuspended:          "This license is suspended.",
	CodeExpired:            "This license has expired.",
	CodeDomainRequired:     "The runtime domain could not be determined: send it in the X-Devpayr-Domain header.",
	CodeDomainNotAllowed:   DomainNotAuthorizedMsg,
	CodeTooManyDomains:     DomainNotAuthorizedMsg + " It is active on as many base domains as its max_domains allows.",
	CodeTooManySubdomains:  DomainNotAuthorizedMsg + " It is active on as many subdomains of this domain as its max_subdomains_per_domain allows.",
	CodeTooManyActivations: "This license has reached its limit of new activations for today.",
	CodeEnvironment:        DomainNotAuthorizedMsg,
	CodeIPNotAllowed:       "This license may not be used from your IP address.",
	CodeCountryNotAllowed:  "This license may not be used from your country.",
	CodeUsageExceeded:      "This license has reached its daily usage limit.",
	CodeSeatsExhausted:     "All seats of this license are in use.",
	CodeUnpaid:             "Project is unpaid or unauthorized.",
	CodeRateLimited:        "Too Many Attempts.",
}

// Snapshot is everything a validation needs to know about one license,
// held in memory between writes.
type Snapshot struct {
	License     core.License
	Project     core.Project
	Domains     []core.Domain // the project's domains
	IPs         []netip.Prefix
	Countries   []string
	Activations map[string]string // identifier → base domain
	// Bases counts activated subdomains per base domain, and holds every
	// activated base (with a count of 0 for the base itself).
	Bases map[string]int
}

// NewSnapshot parses the license's restrictions once.
func NewSnapshot(l core.License, p core.Project, domains []core.Domain, acts []core.Activation) *Snapshot {
	s := &Snapshot{License: l, Project: p, Domains: domains, Activations: make(map[string]string, len(acts)), Bases: map[string]int{}}
	if l.AllowedIPs != nil {
		s.IPs, _ = ParseIPList(*l.AllowedIPs)
	}
	if l.AllowedCountries != nil {
		s.Countries, _ = ParseCountries(*l.AllowedCountries)
	}
	for _, a := range acts {
		s.addActivation(a.Identifier, a.BaseDomain)
	}
	return s
}

// WithActivation returns a copy of s that also knows an activation; s is
// not changed, so readers holding it need no lock.
func (s *Snapshot) WithActivation(identifier, base string) *Snapshot {
	if _, ok := s.Activations[identifier]; ok {
		return s
	}
	c := *s
	c.Activations = make(map[string]string, len(s.Activations)+1)
	for k, v := range s.Activations {
		c.Activations[k] = v
	}
	c.Bases = make(map[string]int, len(s.Bases)+1)
	for k, v := range s.Bases {
		c.Bases[k] = v
	}
	c.addActivation(identifier, base)
	return &c
}

func (s *Snapshot) addActivation(identifier, base string) {
	if _, ok := s.Activations[identifier]; ok {
		return
	}
	s.Activations[identifier] = base
	if _, ok := s.Bases[base]; !ok {
		s.Bases[base] = 0
	}
	if identifier != base {
		s.Bases[base]++
	}
}

// Request is one runtime validation.
type Request struct {
	Identifier   string // X-Devpayr-Domain, normalised by NormalizeIdentifier; "" when not sent
	IP           netip.Addr
	Country      string // "" when unknown
	CheckProject bool   // action=check_project: project-level payment status
	Now          time.Time
}

// Decision is the outcome of the checks that need no write. The usage cap
// and a new limited activation are applied by the caller, atomically.
type Decision struct {
	Code    string
	HasPaid bool
	// Matched is the project domain the identifier resolved to, if any.
	Matched *core.Domain
	// Activation is set when the identifier should be recorded as a new
	// activation; Limited says whether domain limits apply to it (then the
	// write must be atomic with a re-check).
	Activation *NewActivation
	// Local reports that the identifier is a relaxed local host.
	Local bool
}

// NewActivation is an identifier to record against the license.
type NewActivation struct {
	Identifier    string
	Base          string
	Limited       bool
	MaxDomains    int64 // 0: unlimited
	MaxSubdomains int64 // 0: unlimited
	// NewPerDay is the churn limit (0: none); the first MaxDomains
	// activations are free of it.
	NewPerDay int64
}

// NormalizeIdentifier cleans a runtime identifier: trimmed, lower-cased,
// without trailing dots, at most 255 bytes (cut on a character boundary,
// so that valid UTF-8 stays valid). Anything else is kept: it may be a
// fingerprint, not a hostname. Text that is not valid UTF-8 or holds a NUL
// is refused by the transports before it gets here.
//
// It is idempotent, so a stored identifier normalises to itself: every
// trailing dot and space goes (stripping one dot left "example.com." of
// "example.com.."), and again after the cut, which can end on a space or
// a dot.
func NormalizeIdentifier(s string) string {
	s = trimTrailing(strings.ToLower(strings.TrimSpace(s)))
	return trimTrailing(core.TruncateText(s, 255))
}

// trimTrailing drops trailing dots and white space (as strings.TrimSpace
// counts it).
func trimTrailing(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// hostPart strips a port and IPv6 brackets: "localhost:3000" → "localhost",
// "[::1]:80" → "::1".
func hostPart(id string) string {
	if strings.HasPrefix(id, "[") {
		if end := strings.Index(id, "]"); end > 0 {
			return id[1:end]
		}
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 && strings.Count(id, ":") == 1 {
		return id[:i]
	}
	return id
}

// IsLocal reports whether an identifier names a local or test host, where
// domain rules are relaxed: localhost, 127.0.0.0/8, ::1, *.localhost and
// *.test.
func IsLocal(id string) bool {
	h := hostPart(id)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".test") {
		return true
	}
	if !mayBeIP(h) {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().IsLoopback()
	}
	return false
}

// mayBeIP reports whether netip.ParseAddr could accept h: an IPv6 address
// has a colon, an IPv4 one only digits and dots. A hostname is neither,
// and skipping the parse skips the error value it allocates on every
// validation.
func mayBeIP(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return h != ""
}

// BaseDomain returns the registrable domain of a hostname identifier
// (shop.example.co.uk → example.co.uk, by the Public Suffix List), and the
// identifier itself for anything else (IPs, fingerprints).
func BaseDomain(id string) string {
	h := hostPart(id)
	if !strings.Contains(h, ".") {
		return id
	}
	if mayBeIP(h) {
		if _, err := netip.ParseAddr(h); err == nil {
			return h
		}
	}
	base, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return h
	}
	return base
}

// MatchDomain finds the project domain an identifier names: the same
// string, or the same host when one of them carries a port.
func MatchDomain(domains []core.Domain, id string) *core.Domain { return matchDomain(domains, id) }

func matchDomain(domains []core.Domain, id string) *core.Domain {
	h := hostPart(id)
	for i := range domains {
		d := &domains[i]
		if d.Domain == id || hostPart(d.Domain) == h {
			return d
		}
	}
	return nil
}

func limitOf(p *int64) int64 {
	if p == nil || *p <= 0 {
		return 0
	}
	return *p
}

// Decide runs the checks of product.md section 5 that need no write, first
// failure wins: status, expiry, runtime identifier, domain rules,
// environment, IP, country; then it computes the payment status. The usage
// cap comes after these and before payment, and is applied by the caller.
func Decide(s *Snapshot, r Request) Decision {
	l := &s.License
	switch {
	case !s.Project.IsActive:
		return Decision{Code: CodeProjectInactive}
	case l.Status == core.LicenseRevoked:
		return Decision{Code: CodeRevoked}
	case l.Status == core.LicenseSuspended:
		return Decision{Code: CodeSuspended}
	case l.Expired(r.Now):
		return Decision{Code: CodeExpired}
	}
	d := Decision{}
	id := r.Identifier
	maxDomains, maxSubs := limitOf(l.MaxDomains), limitOf(l.MaxSubdomainsPerDomain)
	domainRestricted := l.DomainID != 0 || l.ValidateAgainst == core.ValidateProjectDomains || maxDomains > 0 || maxSubs > 0
	if id == "" {
		// The payment status of a domain, a domain restriction, or the
		// test/production split needs to know where the copy runs.
		if domainRestricted || l.IsTestLicense || !r.CheckProject {
			return Decision{Code: CodeDomainRequired}
		}
	} else {
		d.Local = IsLocal(id)
		d.Matched = matchDomain(s.Domains, id)
		if !d.Local {
			// A registered domain the vendor switched off authorizes
			// nothing, whatever the license's mode: otherwise an activation
			// license would still run there, and be paid by its flag.
			if d.Matched != nil && !d.Matched.IsActive {
				return Decision{Code: CodeDomainNotAllowed}
			}
			if code := domainRules(s, id, &d, maxDomains, maxSubs); code != "" {
				return Decision{Code: code}
			}
		}
		// Environment: test licenses only on local hosts; production
		// licenses not on domains registered as development or staging.
		if l.IsTestLicense && !d.Local {
			return Decision{Code: CodeEnvironment}
		}
		if !l.IsTestLicense && d.Matched != nil && (d.Matched.Environment == core.EnvDevelopment || d.Matched.Environment == core.EnvStaging) {
			return Decision{Code: CodeEnvironment}
		}
	}
	if len(s.IPs) > 0 && !slices.ContainsFunc(s.IPs, func(p netip.Prefix) bool { return p.Contains(r.IP) }) {
		return Decision{Code: CodeIPNotAllowed}
	}
	if len(s.Countries) > 0 && (r.Country == "" || !slices.Contains(s.Countries, r.Country)) {
		return Decision{Code: CodeCountryNotAllowed}
	}
	d.Code = CodeValid
	d.HasPaid = hasPaid(s, r, d.Matched)
	return d
}

// domainRules applies the pinned domain, the registered project domains,
// and the activation limits.
func domainRules(s *Snapshot, id string, d *Decision, maxDomains, maxSubs int64) string {
	l := &s.License
	if l.DomainID != 0 {
		pinned := findDomain(s.Domains, l.DomainID)
		if pinned == nil || !pinned.IsActive || matchDomain([]core.Domain{*pinned}, id) == nil {
			return CodeDomainNotAllowed
		}
		d.Matched = pinned
	} else if l.ValidateAgainst == core.ValidateProjectDomains {
		if d.Matched == nil || !d.Matched.IsActive || !d.Matched.IsVerified {
			return CodeDomainNotAllowed
		}
	}
	if _, known := s.Activations[id]; known {
		return ""
	}
	base := BaseDomain(id)
	perDay := limitOf(l.MaxNewActivationsPerDay)
	act := &NewActivation{Identifier: id, Base: base, MaxDomains: maxDomains, MaxSubdomains: maxSubs, NewPerDay: perDay,
		Limited: maxDomains > 0 || maxSubs > 0 || perDay > 0}
	subs, baseKnown := s.Bases[base]
	if maxDomains > 0 && !baseKnown && int64(len(s.Bases)) >= maxDomains {
		return CodeTooManyDomains
	}
	if maxSubs > 0 && id != base && int64(subs) >= maxSubs {
		return CodeTooManySubdomains
	}
	d.Activation = act
	return ""
}

func findDomain(domains []core.Domain, id int64) *core.Domain {
	for i := range domains {
		if domains[i].ID == id {
			return &domains[i]
		}
	}
	return nil
}

// hasPaid is DevPayr's payment flow: with action=check_project, the
// project's flag; for a pinned license, its domain's; otherwise the flag of
// the project domain the copy runs on, falling back to the project's for
// hosts that are not registered domains (local hosts, activations).
func hasPaid(s *Snapshot, r Request, matched *core.Domain) bool {
	switch {
	case r.CheckProject:
		return s.Project.HasPaid
	case matched != nil:
		return matched.HasPaid
	}
	return s.Project.HasPaid
}
