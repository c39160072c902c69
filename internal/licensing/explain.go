package licensing

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// Rule names of an explanation, in the order they are checked
// (docs/validation.md).
const (
	RuleProjectActive  = "project_active"
	RuleStatus         = "status"
	RuleExpiry         = "expiry"
	RuleDomainRequired = "domain_required"
	RuleDomain         = "domain"
	RuleMaxDomains     = "max_domains"
	RuleMaxSubdomains  = "max_subdomains"
	RuleChurn          = "activation_churn"
	RuleEnvironment    = "environment"
	RuleIP             = "ip"
	RuleCountry        = "country"
	RuleUsageCap       = "usage_cap"
	RuleSeats          = "seats"
	RulePayment        = "payment"
)

// Check is one rule's verdict: a failing rule carries the result code a
// validation stopped by it answers, a passing one CodeValid.
type Check struct {
	Rule   string `json:"rule"`
	Code   string `json:"code"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// ExplainReads is what an explanation needs from the store besides the
// snapshot, read (never written) by the caller.
type ExplainReads struct {
	UsedToday int64           // today's counted uses, for a capped license
	Churn     core.ChurnCount // for a license with a churn limit
	// Seats is the seat rule's verdict when the caller checked it; nil
	// leaves the rule to its default (no seat limit, or not asked for).
	Seats *Check
}

// Explanation is every rule's verdict, and the outcome a validation would
// have had (Code, HasPaid): the first failure in the order the Validator
// applies them.
type Explanation struct {
	Code    string
	HasPaid bool
	Checks  []Check
}

// Explain evaluates every rule Decide applies, with the same meaning, and
// the rules its caller applies after it (churn, usage cap, seats,
// payment), without stopping at the first failure. It is the slow,
// thorough twin of Decide, which stays as it is for the hot path;
// TestExplainAgreesWithDecide holds the two together.
func Explain(s *Snapshot, r Request, x ExplainReads) Explanation {
	l := &s.License
	e := &explainer{checks: make([]Check, 0, 14)}

	e.add(RuleProjectActive, !s.Project.IsActive, CodeProjectInactive, "The project is not active.", "The project is active.")
	switch l.Status {
	case core.LicenseRevoked:
		e.fail(RuleStatus, CodeRevoked, "The license is revoked.")
	case core.LicenseSuspended:
		e.fail(RuleStatus, CodeSuspended, "The license is suspended.")
	default:
		e.pass(RuleStatus, "The license is active.")
	}
	switch {
	case l.ExpiresAt == nil:
		e.pass(RuleExpiry, "The license does not expire.")
	case l.Expired(r.Now):
		e.fail(RuleExpiry, CodeExpired, "The license expired at "+stamp(*l.ExpiresAt)+".")
	default:
		e.pass(RuleExpiry, "The license expires at "+stamp(*l.ExpiresAt)+".")
	}

	id := r.Identifier
	maxDomains, maxSubs := limitOf(l.MaxDomains), limitOf(l.MaxSubdomainsPerDomain)
	perDay := limitOf(l.MaxNewActivationsPerDay)
	domainRestricted := l.DomainID != 0 || l.ValidateAgainst == core.ValidateProjectDomains || maxDomains > 0 || maxSubs > 0
	var matched *core.Domain
	local := false
	switch {
	case id == "" && (domainRestricted || l.IsTestLicense || !r.CheckProject):
		e.fail(RuleDomainRequired, CodeDomainRequired, "No runtime identifier was sent, and "+whyIdentifier(l, domainRestricted, r.CheckProject)+".")
	case id == "":
		e.pass(RuleDomainRequired, "No runtime identifier is needed for a project-level check of this license.")
	default:
		e.pass(RuleDomainRequired, "The runtime identifier is "+quoteShort(id)+".")
		local = IsLocal(id)
		matched = matchDomain(s.Domains, id)
	}

	// Domain rules, each on its own (Decide stops at the first).
	known := false
	switch {
	case id == "":
		for _, rule := range []string{RuleDomain, RuleMaxDomains, RuleMaxSubdomains, RuleChurn} {
			e.pass(rule, "Not checked: no runtime identifier.")
		}
	case local:
		for _, rule := range []string{RuleDomain, RuleMaxDomains, RuleMaxSubdomains, RuleChurn} {
			e.pass(rule, quoteShort(id)+" is a local host: domain rules are relaxed.")
		}
	default:
		matched = e.domain(s, id, matched)
		_, known = s.Activations[id]
		base := BaseDomain(id)
		subs, baseKnown := s.Bases[base]
		switch {
		case maxDomains == 0:
			e.pass(RuleMaxDomains, "The license has no limit of domains.")
		case known:
			e.pass(RuleMaxDomains, quoteShort(id)+" is an activation of the license.")
		case !baseKnown && int64(len(s.Bases)) >= maxDomains:
			e.fail(RuleMaxDomains, CodeTooManyDomains, fmt.Sprintf("The license has %d of its %d base domains; %s would be another.",
				len(s.Bases), maxDomains, quoteShort(base)))
		default:
			e.pass(RuleMaxDomains, fmt.Sprintf("The license has %d of its %d base domains.", len(s.Bases), maxDomains))
		}
		switch {
		case maxSubs == 0:
			e.pass(RuleMaxSubdomains, "The license has no limit of subdomains.")
		case known || id == base:
			e.pass(RuleMaxSubdomains, "Not a new subdomain.")
		case int64(subs) >= maxSubs:
			e.fail(RuleMaxSubdomains, CodeTooManySubdomains, fmt.Sprintf("%s has %d of its %d subdomains; %s would be another.",
				quoteShort(base), subs, maxSubs, quoteShort(id)))
		default:
			e.pass(RuleMaxSubdomains, fmt.Sprintf("%s has %d of its %d subdomains.", quoteShort(base), subs, maxSubs))
		}
		switch {
		case perDay == 0:
			e.pass(RuleChurn, "The license has no limit of new activations a day.")
		case known:
			e.pass(RuleChurn, quoteShort(id)+" is an activation of the license, not a new one.")
		case !x.Churn.Allows(maxDomains, perDay):
			// Decided by the store after Decide's rules: not Decide's
			// first failure, whatever its place in the list.
			e.failLater(RuleChurn, CodeTooManyActivations, fmt.Sprintf("%d of %d new activations today are used.",
				x.Churn.ChargedToday(maxDomains), perDay))
		default:
			e.pass(RuleChurn, fmt.Sprintf("%d of %d new activations today are used.", x.Churn.ChargedToday(maxDomains), perDay))
		}
	}

	switch {
	case id == "":
		e.pass(RuleEnvironment, "Not checked: no runtime identifier.")
	case l.IsTestLicense && !local:
		e.fail(RuleEnvironment, CodeEnvironment, "A test license runs only on local hosts.")
	case !l.IsTestLicense && matched != nil && (matched.Environment == core.EnvDevelopment || matched.Environment == core.EnvStaging):
		e.fail(RuleEnvironment, CodeEnvironment, quoteShort(matched.Domain)+" is registered as "+matched.Environment+": a production license does not run there.")
	default:
		e.pass(RuleEnvironment, "The license may run in this environment.")
	}
	switch {
	case len(s.IPs) == 0:
		e.pass(RuleIP, "The license allows any IP address.")
	case !slices.ContainsFunc(s.IPs, func(p netip.Prefix) bool { return p.Contains(r.IP) }):
		e.fail(RuleIP, CodeIPNotAllowed, ipText(r.IP)+" is not in the license's allowed IPs.")
	default:
		e.pass(RuleIP, ipText(r.IP)+" is allowed.")
	}
	switch {
	case len(s.Countries) == 0:
		e.pass(RuleCountry, "The license allows any country.")
	case r.Country == "":
		e.fail(RuleCountry, CodeCountryNotAllowed, "The caller's country is unknown, and the license allows only "+strings.Join(s.Countries, ", ")+".")
	case !slices.Contains(s.Countries, r.Country):
		e.fail(RuleCountry, CodeCountryNotAllowed, r.Country+" is not one of "+strings.Join(s.Countries, ", ")+".")
	default:
		e.pass(RuleCountry, r.Country+" is allowed.")
	}
	decided := e.first // Decide's outcome: the first failure so far
	capN := limitOf(l.MaxUsagePerDay)
	switch {
	case capN == 0:
		e.pass(RuleUsageCap, "The license has no daily usage limit.")
	case x.UsedToday >= capN:
		e.fail(RuleUsageCap, CodeUsageExceeded, fmt.Sprintf("%d of %d uses today.", x.UsedToday, capN))
	default:
		e.pass(RuleUsageCap, fmt.Sprintf("%d of %d uses today.", x.UsedToday, capN))
	}
	switch {
	case x.Seats != nil:
		c := *x.Seats
		c.Rule = RuleSeats
		e.checks = append(e.checks, c)
	case limitOf(l.MaxConcurrent) == 0:
		e.pass(RuleSeats, "The license has no seat limit.")
	default:
		e.pass(RuleSeats, "Not checked: seats are held by a heartbeat, or a validation with seat: true.")
	}
	paid := hasPaid(s, r, matched)
	if paid {
		e.pass(RulePayment, "Paid.")
	} else {
		e.fail(RulePayment, CodeUnpaid, "The project or domain is not marked as paid.")
	}

	out := Explanation{Code: CodeValid, Checks: e.checks}
	if decided != nil {
		out.Code = decided.Code
		return out
	}
	// The order the Validator applies the rest in: an unpaid copy is not
	// counted (its cap is reported first); a paid one writes its
	// activation (churn), then its use (cap), then holds its seat.
	out.HasPaid = paid
	order := []string{RuleChurn, RuleUsageCap, RuleSeats}
	if !paid {
		order = []string{RuleUsageCap, RulePayment}
	}
	for _, rule := range order {
		if c := e.find(rule); c != nil && !c.Passed {
			out.Code = c.Code
			break
		}
	}
	if out.Code == CodeUnpaid {
		out.HasPaid = false
	}
	return out
}

// domain checks the registered and pinned domain rules, and returns the
// project domain the identifier resolves to (the pinned one for a pinned
// license), as Decide does.
func (e *explainer) domain(s *Snapshot, id string, matched *core.Domain) *core.Domain {
	l := &s.License
	if matched != nil && !matched.IsActive {
		e.fail(RuleDomain, CodeDomainNotAllowed, "The registered domain "+quoteShort(matched.Domain)+" is switched off.")
		return matched
	}
	if l.DomainID != 0 {
		pinned := findDomain(s.Domains, l.DomainID)
		switch {
		case pinned == nil:
			e.fail(RuleDomain, CodeDomainNotAllowed, "The license is pinned to a domain that no longer exists.")
		case !pinned.IsActive:
			e.fail(RuleDomain, CodeDomainNotAllowed, "The license's domain "+quoteShort(pinned.Domain)+" is switched off.")
		case matchDomain([]core.Domain{*pinned}, id) == nil:
			e.fail(RuleDomain, CodeDomainNotAllowed, "The license is pinned to "+quoteShort(pinned.Domain)+".")
		default:
			e.pass(RuleDomain, "The license is pinned to "+quoteShort(pinned.Domain)+".")
			return pinned
		}
		return matched
	}
	if l.ValidateAgainst == core.ValidateProjectDomains {
		switch {
		case matched == nil:
			e.fail(RuleDomain, CodeDomainNotAllowed, quoteShort(id)+" is not a registered domain of the project.")
		case !matched.IsVerified:
			e.fail(RuleDomain, CodeDomainNotAllowed, "The registered domain "+quoteShort(matched.Domain)+" is not verified.")
		default:
			e.pass(RuleDomain, quoteShort(matched.Domain)+" is a verified domain of the project.")
		}
		return matched
	}
	e.pass(RuleDomain, "The license may run on any domain.")
	return matched
}

func whyIdentifier(l *core.License, domainRestricted, checkProject bool) string {
	switch {
	case domainRestricted:
		return "the license has domain rules"
	case l.IsTestLicense:
		return "a test license runs only on local hosts"
	case !checkProject:
		return "the payment status depends on the domain"
	}
	return "it is needed"
}

type explainer struct {
	checks []Check
	first  *Check // the first failure, by value at the time
}

func (e *explainer) pass(rule, detail string) {
	e.checks = append(e.checks, Check{Rule: rule, Code: CodeValid, Passed: true, Detail: detail})
}

func (e *explainer) fail(rule, code, detail string) {
	c := Check{Rule: rule, Code: code, Detail: detail}
	e.checks = append(e.checks, c)
	if e.first == nil {
		e.first = &c
	}
}

// failLater records a failure the Validator finds only after Decide's
// rules.
func (e *explainer) failLater(rule, code, detail string) {
	e.checks = append(e.checks, Check{Rule: rule, Code: code, Detail: detail})
}

func (e *explainer) add(rule string, failed bool, code, failDetail, passDetail string) {
	if failed {
		e.fail(rule, code, failDetail)
	} else {
		e.pass(rule, passDetail)
	}
}

func (e *explainer) find(rule string) *Check {
	for i := range e.checks {
		if e.checks[i].Rule == rule {
			return &e.checks[i]
		}
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func ipText(ip netip.Addr) string {
	if !ip.IsValid() {
		return "An unknown address"
	}
	return ip.String()
}

// quoteShort quotes a value for a detail, cut to a readable length.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = core.TruncateText(s, 61) + "..."
	}
	return fmt.Sprintf("%q", s)
}
