package service_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkValidateCached measures a runtime validation of a cached,
// uncapped license: key digest, cache lookup, decision, in-memory count.
// It fails if steady state reads the database.
func BenchmarkValidateCached(b *testing.B) {
	st, _ := storetest.OpenSQLite(b, time.Now)
	key, _ := secret.FromString("benchmark-secret-0123456789abcdefghij")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4})
	ctx := context.Background()
	u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "b@example.com", Password: "benchmark pw", OrgName: "B"})
	if err != nil {
		b.Fatal(err)
	}
	actor := core.SystemActor(org.ID, "bench")
	actor.UserID = u.ID
	p, err := svc.CreateProject(ctx, actor, service.ProjectInput{Name: service.Some("P"), HasPaid: service.Some(true)})
	if err != nil {
		b.Fatal(err)
	}
	l, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some("L")})
	if err != nil {
		b.Fatal(err)
	}
	v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	misses := 0
	v.OnEvent = func(e string) {
		if e == "miss" {
			misses++
		}
	}
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
	if misses != 1 {
		b.Fatalf("steady state missed the cache %d times", misses-1)
	}
}
