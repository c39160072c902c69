package licensing

import (
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// The project's registered domains in every row of TestDecide.
const (
	dShop       = 1 // shop.example.com: production, paid
	dStaging    = 2 // staging.example.com
	dDev        = 3 // dev.example.com
	dUnpaid     = 4 // unpaid.example.com: production, not paid
	dUnverified = 5 // unverified.example.com
	dOff        = 6 // off.example.com: verified and paid, but inactive
	dPort       = 7 // app.example.com:8443
)

var decideNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func decideDomains() []core.Domain {
	d := func(id int64, host, env string, verified, paid, active bool) core.Domain {
		return core.Domain{ID: id, ProjectID: 1, Domain: host, Environment: env, IsVerified: verified, HasPaid: paid, IsActive: active}
	}
	return []core.Domain{
		d(dShop, "shop.example.com", core.EnvProduction, true, true, true),
		d(dStaging, "staging.example.com", core.EnvStaging, true, true, true),
		d(dDev, "dev.example.com", core.EnvDevelopment, true, true, true),
		d(dUnpaid, "unpaid.example.com", core.EnvProduction, true, false, true),
		d(dUnverified, "unverified.example.com", core.EnvProduction, false, true, true),
		d(dOff, "off.example.com", core.EnvProduction, true, true, false),
		d(dPort, "app.example.com:8443", core.EnvProduction, true, true, true),
	}
}

// decideCase is one row: a license (changed from an active, unrestricted
// one in a paid, active project), a request (changed from one on
// shop.example.com), and the decision expected.
type decideCase struct {
	name    string
	license func(l *core.License, p *core.Project)
	acts    []core.Activation
	req     func(r *Request)
	code    string
	paid    bool
	matched int64 // ID of the project domain matched; 0: none
	act     *NewActivation
	local   bool
}

// The activations a first validation on a registered domain records.
var (
	shopAct   = &NewActivation{Identifier: "shop.example.com", Base: "example.com"}
	unpaidAct = &NewActivation{Identifier: "unpaid.example.com", Base: "example.com"}
)

func i64(n int64) *int64   { return &n }
func str(s string) *string { return &s }
func at(t time.Time) *time.Time {
	return &t
}

func pinned(id int64) func(l *core.License, p *core.Project) {
	return func(l *core.License, p *core.Project) {
		l.DomainID = id
		l.ValidateAgainst = core.ValidateProjectDomains
	}
}

func projectDomains(l *core.License, p *core.Project) {
	l.ValidateAgainst = core.ValidateProjectDomains
}

func on(id string) func(r *Request) { return func(r *Request) { r.Identifier = id } }

func reqs(fs ...func(r *Request)) func(r *Request) {
	return func(r *Request) {
		for _, f := range fs {
			f(r)
		}
	}
}

var (
	checkProject = func(r *Request) { r.CheckProject = true }
	noIdentifier = func(r *Request) { r.Identifier = "" }
)

// decideCases covers every code Decide returns and each boundary of its
// rules, in the order of docs/validation.md.
var decideCases = []decideCase{
	// Status and expiry, before anything about the request.
	{name: "valid", code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "project inactive wins over revoked", license: func(l *core.License, p *core.Project) {
		p.IsActive = false
		l.Status = core.LicenseRevoked
	}, code: CodeProjectInactive},
	{name: "revoked", license: func(l *core.License, p *core.Project) { l.Status = core.LicenseRevoked }, code: CodeRevoked},
	{name: "suspended", license: func(l *core.License, p *core.Project) { l.Status = core.LicenseSuspended }, code: CodeSuspended},
	{name: "suspended wins over expired", license: func(l *core.License, p *core.Project) {
		l.Status = core.LicenseSuspended
		l.ExpiresAt = at(decideNow.Add(-time.Hour))
	}, code: CodeSuspended},
	{name: "expired at the exact instant", license: func(l *core.License, p *core.Project) { l.ExpiresAt = at(decideNow) }, code: CodeExpired},
	{name: "valid one nanosecond before expiry", license: func(l *core.License, p *core.Project) { l.ExpiresAt = at(decideNow.Add(time.Nanosecond)) },
		code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "expired long ago", license: func(l *core.License, p *core.Project) { l.ExpiresAt = at(decideNow.AddDate(-1, 0, 0)) }, code: CodeExpired},
	{name: "expired wins over a missing identifier", license: func(l *core.License, p *core.Project) { l.ExpiresAt = at(decideNow) },
		req: noIdentifier, code: CodeExpired},

	// The runtime identifier, when needed.
	{name: "no identifier for the domain's payment status", req: noIdentifier, code: CodeDomainRequired},
	{name: "no identifier with check_project", req: reqs(noIdentifier, checkProject), code: CodeValid, paid: true},
	{name: "no identifier, pinned", license: pinned(dShop), req: reqs(noIdentifier, checkProject), code: CodeDomainRequired},
	{name: "no identifier, project domains", license: projectDomains, req: reqs(noIdentifier, checkProject), code: CodeDomainRequired},
	{name: "no identifier, max domains", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(3) },
		req: reqs(noIdentifier, checkProject), code: CodeDomainRequired},
	{name: "no identifier, max subdomains", license: func(l *core.License, p *core.Project) { l.MaxSubdomainsPerDomain = i64(3) },
		req: reqs(noIdentifier, checkProject), code: CodeDomainRequired},
	{name: "no identifier, limits of 0 are unlimited", license: func(l *core.License, p *core.Project) {
		l.MaxDomains, l.MaxSubdomainsPerDomain = i64(0), i64(-1)
	}, req: reqs(noIdentifier, checkProject), code: CodeValid, paid: true},
	{name: "no identifier, test license", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true },
		req: reqs(noIdentifier, checkProject), code: CodeDomainRequired},

	// Pinned domain.
	{name: "pinned, on it", license: pinned(dShop), code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "pinned, on it with a port", license: pinned(dShop), req: on("shop.example.com:443"), code: CodeValid, paid: true, matched: dShop,
		act: &NewActivation{Identifier: "shop.example.com:443", Base: "example.com"}},
	{name: "pinned with a port, on the bare host", license: pinned(dPort), req: on("app.example.com"), code: CodeValid, paid: true, matched: dPort,
		act: &NewActivation{Identifier: "app.example.com", Base: "example.com"}},
	{name: "pinned, on another registered domain", license: pinned(dShop), req: on("unpaid.example.com"), code: CodeDomainNotAllowed},
	{name: "pinned, on an unknown host", license: pinned(dShop), req: on("elsewhere.org"), code: CodeDomainNotAllowed},
	{name: "pinned, on a subdomain of it", license: pinned(dShop), req: on("a.shop.example.com"), code: CodeDomainNotAllowed},
	{name: "pinned to an inactive domain", license: pinned(dOff), req: on("off.example.com"), code: CodeDomainNotAllowed},
	{name: "pinned to a deleted domain", license: pinned(99), code: CodeDomainNotAllowed},
	{name: "pinned to an unpaid domain", license: pinned(dUnpaid), req: on("unpaid.example.com"), code: CodeValid, matched: dUnpaid, act: unpaidAct},
	{name: "pinned to an unpaid domain, check_project", license: pinned(dUnpaid), req: reqs(on("unpaid.example.com"), checkProject),
		code: CodeValid, paid: true, matched: dUnpaid, act: unpaidAct},
	{name: "pinned, on a local host", license: pinned(dShop), req: on("localhost:3000"), code: CodeValid, paid: true, local: true},

	// Registered project domains.
	{name: "project domains, registered", license: projectDomains, code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "project domains, unpaid", license: projectDomains, req: on("unpaid.example.com"), code: CodeValid, matched: dUnpaid, act: unpaidAct},
	{name: "project domains, unverified", license: projectDomains, req: on("unverified.example.com"), code: CodeDomainNotAllowed},
	{name: "project domains, inactive though verified", license: projectDomains, req: on("off.example.com"), code: CodeDomainNotAllowed},
	{name: "project domains, unknown", license: projectDomains, req: on("elsewhere.org"), code: CodeDomainNotAllowed},
	{name: "project domains, a local host", license: projectDomains, req: on("127.0.0.1"), code: CodeValid, paid: true, local: true},

	// Activations (license_domains).
	{name: "activation of an unknown host", req: on("elsewhere.org"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "elsewhere.org", Base: "elsewhere.org"}},
	{name: "activation of a fingerprint", req: on("fp_0123456789abcdef0123456789abcdef"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "fp_0123456789abcdef0123456789abcdef", Base: "fp_0123456789abcdef0123456789abcdef"}},
	{name: "activation on a registered domain uses its flag", req: on("unpaid.example.com"), code: CodeValid, matched: dUnpaid,
		act: &NewActivation{Identifier: "unpaid.example.com", Base: "example.com"}},
	{name: "activation on an inactive registered domain", req: on("off.example.com"), code: CodeDomainNotAllowed},
	{name: "activation by the Public Suffix List", req: on("a.shop.example.co.uk"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "a.shop.example.co.uk", Base: "example.co.uk"}},
	{name: "known identifier: no new activation", acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}},
		code: CodeValid, paid: true, matched: dShop},
	{name: "max domains reached: a new base", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(1) },
		acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}}, req: on("other.org"), code: CodeTooManyDomains},
	{name: "max domains reached: a known base", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(1) },
		acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}}, req: on("b.example.com"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "b.example.com", Base: "example.com", Limited: true, MaxDomains: 1}},
	{name: "max domains reached: a known identifier", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(1) },
		acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}}, code: CodeValid, paid: true, matched: dShop},
	{name: "max domains one below", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(2) },
		acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}}, req: on("other.org"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "other.org", Base: "other.org", Limited: true, MaxDomains: 2}},
	{name: "max domains: a local host is not counted", license: func(l *core.License, p *core.Project) { l.MaxDomains = i64(1) },
		acts: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}}, req: on("localhost:3000"), code: CodeValid, paid: true, local: true},
	{name: "max subdomains reached", license: func(l *core.License, p *core.Project) { l.MaxSubdomainsPerDomain = i64(1) },
		acts: []core.Activation{{Identifier: "a.example.com", BaseDomain: "example.com"}}, req: on("b.example.com"), code: CodeTooManySubdomains},
	{name: "max subdomains reached: the base itself is no subdomain", license: func(l *core.License, p *core.Project) { l.MaxSubdomainsPerDomain = i64(1) },
		acts: []core.Activation{{Identifier: "a.example.com", BaseDomain: "example.com"}}, req: on("example.com"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "example.com", Base: "example.com", Limited: true, MaxSubdomains: 1}},
	{name: "max subdomains one below", license: func(l *core.License, p *core.Project) { l.MaxSubdomainsPerDomain = i64(2) },
		acts: []core.Activation{{Identifier: "a.example.com", BaseDomain: "example.com"}}, req: on("b.example.com"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "b.example.com", Base: "example.com", Limited: true, MaxSubdomains: 2}},
	{name: "max subdomains under another base", license: func(l *core.License, p *core.Project) { l.MaxSubdomainsPerDomain = i64(1) },
		acts: []core.Activation{{Identifier: "a.example.com", BaseDomain: "example.com"}}, req: on("a.other.org"), code: CodeValid, paid: true,
		act: &NewActivation{Identifier: "a.other.org", Base: "other.org", Limited: true, MaxSubdomains: 1}},

	// Environment.
	{name: "test license on localhost", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, req: on("localhost"),
		code: CodeValid, paid: true, local: true},
	{name: "test license on *.localhost", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, req: on("shop.localhost:8080"),
		code: CodeValid, paid: true, local: true},
	{name: "test license on *.test", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, req: on("shop.test"),
		code: CodeValid, paid: true, local: true},
	{name: "test license on 127.0.0.0/8", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, req: on("127.1.2.3:80"),
		code: CodeValid, paid: true, local: true},
	{name: "test license on ::1", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, req: on("[::1]:8080"),
		code: CodeValid, paid: true, local: true},
	{name: "test license on a production domain", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true }, code: CodeEnvironment},
	{name: "test license on a staging domain", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true },
		req: on("staging.example.com"), code: CodeEnvironment},
	{name: "test license on a host like localhost", license: func(l *core.License, p *core.Project) { l.IsTestLicense = true },
		req: on("localhost.example.com"), code: CodeEnvironment},
	{name: "production license on staging", req: on("staging.example.com"), code: CodeEnvironment},
	{name: "production license on development", req: on("dev.example.com"), code: CodeEnvironment},
	{name: "production license on localhost", req: on("localhost"), code: CodeValid, paid: true, local: true},

	// IP and country allow-lists.
	{name: "ip in a block", license: func(l *core.License, p *core.Project) { l.AllowedIPs = str("10.0.0.0/8, 198.51.100.7") },
		req: func(r *Request) { r.IP = netip.MustParseAddr("10.20.30.40") }, code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "ip exact", license: func(l *core.License, p *core.Project) { l.AllowedIPs = str("10.0.0.0/8, 198.51.100.7") },
		req: func(r *Request) { r.IP = netip.MustParseAddr("198.51.100.7") }, code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "ip next to the exact one", license: func(l *core.License, p *core.Project) { l.AllowedIPs = str("10.0.0.0/8, 198.51.100.7") },
		req: func(r *Request) { r.IP = netip.MustParseAddr("198.51.100.8") }, code: CodeIPNotAllowed},
	{name: "ip unknown", license: func(l *core.License, p *core.Project) { l.AllowedIPs = str("10.0.0.0/8") },
		req: func(r *Request) { r.IP = netip.Addr{} }, code: CodeIPNotAllowed},
	{name: "empty ip list allows any", license: func(l *core.License, p *core.Project) { l.AllowedIPs = str("") },
		code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "country allowed", license: func(l *core.License, p *core.Project) { l.AllowedCountries = str("NG, GH") },
		code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "country not allowed", license: func(l *core.License, p *core.Project) { l.AllowedCountries = str("NG, GH") },
		req: func(r *Request) { r.Country = "US" }, code: CodeCountryNotAllowed},
	{name: "country unknown", license: func(l *core.License, p *core.Project) { l.AllowedCountries = str("NG") },
		req: func(r *Request) { r.Country = "" }, code: CodeCountryNotAllowed},

	// First failure wins: domain → environment → IP → country.
	{name: "domain before environment, IP and country", license: func(l *core.License, p *core.Project) {
		pinned(dShop)(l, p)
		l.IsTestLicense, l.AllowedIPs, l.AllowedCountries = true, str("10.0.0.0/8"), str("GH")
	}, req: on("elsewhere.org"), code: CodeDomainNotAllowed},
	{name: "environment before IP and country", license: func(l *core.License, p *core.Project) {
		l.AllowedIPs, l.AllowedCountries = str("10.0.0.0/8"), str("GH")
	}, req: on("staging.example.com"), code: CodeEnvironment},
	{name: "IP before country", license: func(l *core.License, p *core.Project) {
		l.AllowedIPs, l.AllowedCountries = str("10.0.0.0/8"), str("GH")
	}, code: CodeIPNotAllowed},

	// The cap pre-check is the caller's (it needs the day's count): Decide
	// passes a capped license, and the caller refuses it at the cap.
	{name: "capped: decided by the caller", license: func(l *core.License, p *core.Project) { l.MaxUsagePerDay = i64(1) },
		code: CodeValid, paid: true, matched: dShop, act: shopAct},

	// Payment status.
	{name: "check_project: the project's flag", license: func(l *core.License, p *core.Project) { p.HasPaid = false },
		req: checkProject, code: CodeValid, matched: dShop, act: shopAct},
	{name: "registered domain: its flag over the project's", license: func(l *core.License, p *core.Project) { p.HasPaid = false },
		code: CodeValid, paid: true, matched: dShop, act: shopAct},
	{name: "unregistered host: the project's flag", license: func(l *core.License, p *core.Project) { p.HasPaid = false },
		req: on("elsewhere.org"), code: CodeValid, act: &NewActivation{Identifier: "elsewhere.org", Base: "elsewhere.org"}},
	{name: "local host: the project's flag", license: func(l *core.License, p *core.Project) { p.HasPaid = false },
		req: on("localhost"), code: CodeValid, local: true},
}

// callerCodes are the codes the Validator decides around Decide: before
// it (key, lookup, project, rate limit) or after it (cap, seats, payment). They
// are pinned by the service's and the HTTP tests.
var callerCodes = []string{CodeKeyMissing, CodeNotFound, CodeProjectMismatch, CodeRateLimited, CodeUsageExceeded, CodeSeatsExhausted, CodeUnpaid,
	CodeTooManyActivations}

func TestDecide(t *testing.T) {
	for _, tc := range decideCases {
		t.Run(tc.name, func(t *testing.T) {
			l := core.License{ID: 1, ProjectID: 1, Status: core.LicenseActive, ValidateAgainst: core.ValidateLicenseDomains}
			p := core.Project{ID: 1, IsActive: true, HasPaid: true}
			if tc.license != nil {
				tc.license(&l, &p)
			}
			r := Request{Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.10"), Country: "NG", Now: decideNow}
			if tc.req != nil {
				tc.req(&r)
			}
			s := NewSnapshot(l, p, decideDomains(), tc.acts)
			d := Decide(s, r)
			if d.Code != tc.code || d.HasPaid != tc.paid || d.Local != tc.local {
				t.Fatalf("code %s, paid %v, local %v; want %s, %v, %v", d.Code, d.HasPaid, d.Local, tc.code, tc.paid, tc.local)
			}
			var matched int64
			if d.Matched != nil {
				matched = d.Matched.ID
			}
			if matched != tc.matched {
				t.Fatalf("matched domain %d, want %d", matched, tc.matched)
			}
			switch {
			case tc.act == nil && d.Activation != nil:
				t.Fatalf("activation %+v, want none", *d.Activation)
			case tc.act != nil && (d.Activation == nil || *d.Activation != *tc.act):
				t.Fatalf("activation %+v, want %+v", d.Activation, *tc.act)
			}
			if d.Code != CodeValid && (d.HasPaid || d.Activation != nil) {
				t.Fatalf("a failure carries a payment status or an activation: %+v", d)
			}
			// Decide is pure: the snapshot is untouched, and deciding again
			// gives the same answer.
			if again := Decide(s, r); again.Code != d.Code || again.HasPaid != d.HasPaid {
				t.Fatalf("second decision %+v differs from %+v", again, d)
			}
			if len(s.Activations) != len(tc.acts) {
				t.Fatalf("Decide changed the snapshot's activations: %v", s.Activations)
			}
		})
	}
}

// TestDecideCoversEveryCode: every result code is either a row of
// TestDecide or one the caller decides; a new code must be placed.
func TestDecideCoversEveryCode(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range decideCases {
		seen[tc.code] = true
	}
	for _, c := range callerCodes {
		if seen[c] {
			t.Errorf("%s is the caller's, yet Decide returned it", c)
		}
		seen[c] = true
	}
	for code := range Messages {
		if !seen[code] {
			t.Errorf("code %s is neither decided in a row of TestDecide nor listed as the caller's", code)
		}
	}
	if len(seen) != len(Messages) {
		t.Errorf("%d codes seen, %d have messages", len(seen), len(Messages))
	}
}
