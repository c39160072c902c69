package licensing

import (
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// BenchmarkDecide measures the validation decision on a cached license
// with every kind of rule to check: a pinned domain among several, an
// allow-list and countries.
func BenchmarkDecide(b *testing.B) {
	ips, countries := "10.0.0.0/8, 192.0.2.1", "NG, US, GB"
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	exp := now.Add(24 * time.Hour)
	five := int64(5)
	l := core.License{ID: 1, ProjectID: 1, DomainID: 3, Status: core.LicenseActive, ExpiresAt: &exp, MaxDomains: &five,
		AllowedIPs: &ips, AllowedCountries: &countries, ValidateAgainst: core.ValidateProjectDomains}
	p := core.Project{ID: 1, IsActive: true, HasPaid: true}
	var domains []core.Domain
	for i, h := range []string{"a.example.com", "b.example.com", "shop.example.com", "staging.example.com"} {
		domains = append(domains, core.Domain{ID: int64(i + 1), ProjectID: 1, Domain: h, Environment: core.EnvProduction, IsActive: true, IsVerified: true, HasPaid: true})
	}
	s := NewSnapshot(l, p, domains, []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com"}})
	r := Request{Identifier: "shop.example.com", IP: netip.MustParseAddr("10.1.2.3"), Country: "NG", Now: now}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(s, r); d.Code != CodeValid {
			b.Fatal(d.Code)
		}
	}
}
