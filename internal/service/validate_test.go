package service_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// licenseFixture creates, on a fresh SQLite store, a user, their
// organization, a paid project and one uncapped license.
func licenseFixture(tb testing.TB, now func() time.Time) (*service.Service, *store.Store, *core.License) {
	tb.Helper()
	st, _ := storetest.OpenSQLite(tb, now)
	key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: now})
	ctx := context.Background()
	u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "t@example.com", Password: "test password", OrgName: "T"})
	if err != nil {
		tb.Fatal(err)
	}
	actor := core.SystemActor(org.ID, "test")
	actor.UserID = u.ID
	p, err := svc.CreateProject(ctx, actor, service.ProjectInput{Name: service.Some("P"), HasPaid: service.Some(true)})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some("L")})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, st, l
}

// TestActivationLastSeenResolution checks that uncapped validations are
// all counted, that a new activation is stored at the first flush, and
// that its last-seen time is rewritten at most once per minute.
func TestActivationLastSeenResolution(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc, st, l := licenseFixture(t, clk.Now)
	ctx := context.Background()
	v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	validate := func(n int) {
		t.Helper()
		for range n {
			r, err := v.Validate(ctx, service.ValidateInput{Key: l.UUID, Identifier: "shop.example.com",
				IP: netip.MustParseAddr("192.0.2.1"), Count: true})
			if err != nil || r.Code != "VALID" {
				t.Fatalf("validate: %+v, %v", r, err)
			}
		}
		if err := v.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	lastSeen := func() time.Time {
		t.Helper()
		acts, err := st.ListActivations(ctx, l.ID)
		if err != nil || len(acts) != 1 {
			t.Fatalf("activations: %+v, %v", acts, err)
		}
		return acts[0].LastSeenAt.UTC()
	}
	start := clk.Now()

	steps := []struct {
		advance  time.Duration
		wantSeen time.Time
	}{
		{0, start},                                      // first sighting: stored at once
		{30 * time.Second, start},                       // within the minute: not rewritten
		{29 * time.Second, start},                       // still within it
		{2 * time.Second, start.Add(61 * time.Second)},  // a minute after the last write
		{10 * time.Second, start.Add(61 * time.Second)}, // within the new minute
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		validate(3)
		if got := lastSeen(); !got.Equal(s.wantSeen) {
			t.Errorf("step %d: last seen %v, want %v", i, got, s.wantSeen)
		}
	}
	days, err := st.LicenseUsage(ctx, l.ID, "2026-11-23", "2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(3 * len(steps)); len(days) != 1 || days[0].Count != want {
		t.Errorf("usage %+v, want %d uses", days, want)
	}
}

// cacheStats returns the counters of the service's cache called name.
func cacheStats(tb testing.TB, svc *service.Service, name string) cache.Stats {
	tb.Helper()
	for _, s := range svc.Caches().Stats() {
		if s.Name == name {
			return s
		}
	}
	tb.Fatalf("no cache %q", name)
	return cache.Stats{}
}

// A flood of invented license keys costs a bounded amount of memory and
// leaves the licenses in use cached.
func TestUnknownKeysBounded(t *testing.T) {
	svc, _, l := licenseFixture(t, time.Now)
	v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	ctx := context.Background()
	in := service.ValidateInput{Key: l.UUID, Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.1")}
	for i := range 40_000 {
		if i%10 == 0 {
			if r, err := v.Validate(ctx, in); err != nil || r.Code != licensing.CodeValid {
				t.Fatal(r, err)
			}
		}
		r, err := v.Validate(ctx, service.ValidateInput{Key: licensing.NewKey(time.Now()), IP: in.IP})
		if err != nil || r.Code != licensing.CodeNotFound {
			t.Fatal(r, err)
		}
	}
	if n := cacheStats(t, svc, "license_unknown").Entries; n > 16_384*5/4 {
		t.Fatalf("%d unknown keys remembered", n)
	}
	if s := cacheStats(t, svc, "license_snapshot"); s.Hits < 3999 || s.Entries != 1 {
		t.Fatalf("the license in use left the cache during the flood: %+v", s)
	}
}
