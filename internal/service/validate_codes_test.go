package service_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestValidatorCodes pins the codes the Validator decides around
// licensing.Decide (TestDecide covers the rest): the key, the lookup, the
// project, the license's rate limit, and the daily cap's pre-check, which
// refuses at the cap before payment, for a check that counts (has-paid) and
// for one that does not (the injectable stream).
func TestValidatorCodes(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc, st, basic := licenseFixture(t, clk.Now)
	ctx := context.Background()
	p, err := st.Project(ctx, basic.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	actor := core.SystemActor(p.OrgID, "test")
	two := int64(2)
	capped, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some("capped"), MaxUsagePerDay: service.Some(&two)})
	if err != nil {
		t.Fatal(err)
	}
	limited, err := svc.CreateLicense(ctx, actor, p.ID, service.LicenseInput{Title: service.Some("limited")})
	if err != nil {
		t.Fatal(err)
	}
	v := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	// A second node's validator, whose license limit is 3 a minute.
	rl := svc.NewValidator(service.ValidatorConfig{TTL: time.Hour, Limiter: ratelimit.New(), LicenseLimit: 3})
	setPaid := func(paid bool) func() {
		return func() {
			if _, err := svc.UpdateProject(ctx, actor, p.ID, service.ProjectInput{HasPaid: service.Some(paid)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	steps := []struct {
		name    string
		before  func()
		key     string
		project int64
		count   bool
		limited bool // through rl
		code    string
		used    int64 // of the capped license after the step
	}{
		{name: "no key", key: " ", count: true, code: licensing.CodeKeyMissing},
		{name: "unknown key", key: licensing.NewKey(clk.Now()), count: true, code: licensing.CodeNotFound},
		{name: "another project", key: basic.UUID, project: p.ID + 1, count: true, code: licensing.CodeProjectMismatch},
		{name: "the project given", key: basic.UUID, project: p.ID, count: true, code: licensing.CodeValid},
		{name: "rate limit, 1", key: limited.UUID, limited: true, code: licensing.CodeValid},
		{name: "rate limit, 2", key: limited.UUID, limited: true, code: licensing.CodeValid},
		{name: "rate limit, 3", key: limited.UUID, limited: true, code: licensing.CodeValid},
		{name: "rate limit, over", key: limited.UUID, limited: true, code: licensing.CodeRateLimited},
		{name: "capped, a check below the cap is not counted", key: capped.UUID, code: licensing.CodeValid},
		{name: "capped, 1 of 2", key: capped.UUID, count: true, code: licensing.CodeValid, used: 1},
		{name: "capped, unpaid below the cap: not counted", before: setPaid(false), key: capped.UUID, count: true, code: licensing.CodeUnpaid, used: 1},
		{name: "capped, 2 of 2", before: setPaid(true), key: capped.UUID, count: true, code: licensing.CodeValid, used: 2},
		{name: "capped, counted at the cap", key: capped.UUID, count: true, code: licensing.CodeUsageExceeded, used: 2},
		{name: "capped, a check at the cap (stream)", key: capped.UUID, code: licensing.CodeUsageExceeded, used: 2},
		{name: "capped, unpaid at the cap: the cap comes first", before: setPaid(false), key: capped.UUID, count: true,
			code: licensing.CodeUsageExceeded, used: 2},
		{name: "capped, unpaid at the cap, not counted", key: capped.UUID, code: licensing.CodeUsageExceeded, used: 2},
		{name: "capped, the next UTC day", before: func() { setPaid(true)(); clk.Set(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) },
			key: capped.UUID, count: true, code: licensing.CodeValid, used: 1},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		val := v
		if s.limited {
			val = rl
		}
		r, err := val.Validate(ctx, service.ValidateInput{Key: s.key, ProjectID: s.project, Identifier: "shop.example.com",
			IP: netip.MustParseAddr("192.0.2.1"), Count: s.count})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if r.Code != s.code {
			t.Fatalf("%s: code %s, want %s", s.name, r.Code, s.code)
		}
		day := clk.Now().UTC().Format(time.DateOnly)
		days, err := st.LicenseUsage(ctx, capped.ID, day, day)
		if err != nil {
			t.Fatal(err)
		}
		var used int64
		if len(days) == 1 {
			used = days[0].Count
		}
		if used != s.used {
			t.Fatalf("%s: the capped license used %d today, want %d", s.name, used, s.used)
		}
	}
}
