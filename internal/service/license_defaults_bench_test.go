package service_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkCreateLicenseDefaults measures a license create with and without
// defaults to apply (the organization's defaults are one more read, the
// project's come from the project cache).
func BenchmarkCreateLicenseDefaults(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, withDefaults := range []bool{false, true} {
			b.Run(be.Name+"/defaults="+strconv.FormatBool(withDefaults), func(b *testing.B) {
				clk := storetest.NewClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
				st, _ := be.Open(b, clk.Now)
				key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
				svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clk.Now})
				ctx := context.Background()
				_, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "b@example.com", Password: "test password", OrgName: "B"})
				if err != nil {
					b.Fatal(err)
				}
				actor := core.SystemActor(org.ID, "bench")
				in := service.ProjectInput{Name: service.Some("P")}
				if withDefaults {
					in.LicenseDefaults = service.Some(service.ReplaceLicenseDefaults(core.LicenseDefaults{
						ExpiresIn: new("1y"), MaxDomains: new(int64(3)), AllowedCountries: new("NG, US")}))
					if _, err := svc.SetOrganizationLicenseDefaults(ctx, actor, service.ReplaceLicenseDefaults(core.LicenseDefaults{
						MaxUsagePerDay: new(int64(100))}), nil); err != nil {
						b.Fatal(err)
					}
				}
				p, err := svc.CreateProject(ctx, actor, in)
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := range b.N {
					if _, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some("L" + strconv.Itoa(i))}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
