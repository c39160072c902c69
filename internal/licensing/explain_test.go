package licensing

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

var ruleOrder = []string{RuleProjectActive, RuleStatus, RuleExpiry, RuleDomainRequired, RuleDomain, RuleMaxDomains,
	RuleMaxSubdomains, RuleChurn, RuleEnvironment, RuleIP, RuleCountry, RuleUsageCap, RuleSeats, RulePayment}

func rules(checks []Check) []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.Rule
	}
	return out
}

func failing(checks []Check) map[string]string {
	out := map[string]string{}
	for _, c := range checks {
		if !c.Passed {
			out[c.Rule] = c.Code
		}
	}
	return out
}

// TestExplainAgreesWithDecide runs every row of TestDecide through Explain:
// the outcome is Decide's (UNPAID for a valid unpaid copy), Decide's code
// is among the failing checks, and every rule is listed once, in order.
func TestExplainAgreesWithDecide(t *testing.T) {
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
			x := Explain(s, r, ExplainReads{})
			want := d.Code
			if d.Code == CodeValid && !d.HasPaid {
				want = CodeUnpaid
			}
			if x.Code != want || x.HasPaid != d.HasPaid {
				t.Fatalf("explained %s (paid %v), decided %s (paid %v)", x.Code, x.HasPaid, d.Code, d.HasPaid)
			}
			if !slices.Equal(rules(x.Checks), ruleOrder) {
				t.Fatalf("rules %v", rules(x.Checks))
			}
			f := failing(x.Checks)
			if want != CodeValid && !slices.Contains(slicesOf(f), want) {
				t.Fatalf("no failing check carries %s: %v", want, f)
			}
			if want == CodeValid && len(f) != 0 {
				t.Fatalf("valid, yet failing checks %v", f)
			}
			for _, c := range x.Checks {
				if c.Detail == "" || (c.Passed != (c.Code == CodeValid)) || Messages[c.Code] == "" {
					t.Fatalf("check %+v", c)
				}
			}
		})
	}
}

func slicesOf(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestExplainEveryFailure: a license breaking four rules at once shows all
// four, and the outcome is the first in the Validator's order.
func TestExplainEveryFailure(t *testing.T) {
	l := core.License{ID: 1, ProjectID: 1, Status: core.LicenseSuspended, ValidateAgainst: core.ValidateLicenseDomains,
		ExpiresAt: at(decideNow.Add(-time.Hour)), AllowedIPs: str("10.0.0.0/8"), AllowedCountries: str("DE"), MaxUsagePerDay: i64(5)}
	s := NewSnapshot(l, core.Project{ID: 1, IsActive: true, HasPaid: true}, decideDomains(), nil)
	r := Request{Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.10"), Country: "NG", Now: decideNow}
	x := Explain(s, r, ExplainReads{UsedToday: 5})
	want := map[string]string{RuleStatus: CodeSuspended, RuleExpiry: CodeExpired, RuleIP: CodeIPNotAllowed,
		RuleCountry: CodeCountryNotAllowed, RuleUsageCap: CodeUsageExceeded}
	if got := failing(x.Checks); !mapsEqual(got, want) {
		t.Fatalf("failing %v, want %v", got, want)
	}
	if x.Code != CodeSuspended || x.HasPaid {
		t.Fatalf("outcome %s paid %v", x.Code, x.HasPaid)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestExplainAfterDecide covers the rules the Validator applies after
// Decide: churn, then the cap, for a paid copy; the cap, then payment,
// for an unpaid one; and a failure of Decide's wins over a churn refusal
// listed before it.
func TestExplainAfterDecide(t *testing.T) {
	full := core.ChurnCount{Before: 2, Today: 1, Live: 3} // 2 free used, today's 1 used
	tests := []struct {
		name    string
		license func(l *core.License, p *core.Project)
		req     func(r *Request)
		reads   ExplainReads
		code    string
		failing map[string]string
	}{
		{name: "churn", license: func(l *core.License, _ *core.Project) { l.MaxDomains, l.MaxNewActivationsPerDay = i64(2), i64(1) },
			reads: ExplainReads{Churn: full}, code: CodeTooManyActivations,
			failing: map[string]string{RuleChurn: CodeTooManyActivations}},
		{name: "churn room left", license: func(l *core.License, _ *core.Project) { l.MaxDomains, l.MaxNewActivationsPerDay = i64(5), i64(1) },
			reads: ExplainReads{Churn: full}, code: CodeValid, failing: map[string]string{}},
		{name: "known activation is not churn", license: func(l *core.License, _ *core.Project) { l.MaxNewActivationsPerDay = i64(1) },
			req: on("known.example.org"), reads: ExplainReads{Churn: full}, code: CodeValid, failing: map[string]string{}},
		{name: "churn before cap", license: func(l *core.License, _ *core.Project) {
			l.MaxNewActivationsPerDay, l.MaxUsagePerDay = i64(1), i64(3)
		}, reads: ExplainReads{Churn: core.ChurnCount{Today: 1, Live: 1}, UsedToday: 3}, code: CodeTooManyActivations,
			failing: map[string]string{RuleChurn: CodeTooManyActivations, RuleUsageCap: CodeUsageExceeded}},
		{name: "IP wins over churn", license: func(l *core.License, _ *core.Project) {
			l.MaxNewActivationsPerDay, l.AllowedIPs = i64(1), str("10.0.0.1")
		}, reads: ExplainReads{Churn: core.ChurnCount{Today: 1, Live: 1}}, code: CodeIPNotAllowed,
			failing: map[string]string{RuleChurn: CodeTooManyActivations, RuleIP: CodeIPNotAllowed}},
		{name: "unpaid: cap first, churn not reached", license: func(l *core.License, _ *core.Project) {
			l.MaxNewActivationsPerDay, l.MaxUsagePerDay = i64(1), i64(3)
		}, req: on("unpaid.example.com"), reads: ExplainReads{Churn: core.ChurnCount{Today: 1, Live: 1}, UsedToday: 3}, code: CodeUsageExceeded,
			failing: map[string]string{RuleChurn: CodeTooManyActivations, RuleUsageCap: CodeUsageExceeded, RulePayment: CodeUnpaid}},
		{name: "unpaid", req: on("unpaid.example.com"), code: CodeUnpaid, failing: map[string]string{RulePayment: CodeUnpaid}},
		{name: "seats hook", license: func(l *core.License, _ *core.Project) { l.MaxConcurrent = i64(2) },
			reads: ExplainReads{Seats: &Check{Code: "SEATS_EXHAUSTED", Detail: "2 of 2 seats are held."}}, code: "SEATS_EXHAUSTED",
			failing: map[string]string{RuleSeats: "SEATS_EXHAUSTED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := core.License{ID: 1, ProjectID: 1, Status: core.LicenseActive, ValidateAgainst: core.ValidateLicenseDomains}
			p := core.Project{ID: 1, IsActive: true, HasPaid: true}
			if tt.license != nil {
				tt.license(&l, &p)
			}
			r := Request{Identifier: "new.example.net", IP: netip.MustParseAddr("192.0.2.10"), Now: decideNow}
			if tt.req != nil {
				tt.req(&r)
			}
			s := NewSnapshot(l, p, decideDomains(), []core.Activation{{Identifier: "known.example.org", BaseDomain: "example.org"}})
			x := Explain(s, r, tt.reads)
			if x.Code != tt.code {
				t.Errorf("code %s, want %s", x.Code, tt.code)
			}
			if got := failing(x.Checks); !mapsEqual(got, tt.failing) {
				t.Errorf("failing %v, want %v", got, tt.failing)
			}
		})
	}
}
