package service_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/service"
)

// BenchmarkValidateCached measures a runtime validation of a cached,
// uncapped license: key digest, cache lookup, decision, in-memory count.
// It fails if steady state reads the database.
func BenchmarkValidateCached(b *testing.B) {
	svc, _, l := licenseFixture(b, time.Now)
	ctx := context.Background()
	v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	in := service.ValidateInput{Key: l.UUID, Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.1"), CheckProject: true, Count: true}
	if _, err := v.Validate(ctx, in); err != nil { // warm
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := v.Validate(ctx, in)
		if err != nil || r.Code != "VALID" {
			b.Fatal(r, err)
		}
	}
	b.StopTimer()
	if misses := cacheStats(b, svc, "license_snapshot").Misses; misses != 1 {
		b.Fatalf("steady state missed the cache %d times", misses-1)
	}
}
