package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func i64(v int64) *int64 { return &v }
func boolp(v bool) *bool { return &v }

// planFixture opens a service on a fresh SQLite store with one
// organization and its owner; it returns the operator's actor and the
// owner's.
func planFixture(t *testing.T) (*service.Service, *core.Actor, *core.Actor) {
	t.Helper()
	st, _ := storetest.OpenSQLite(t, nil)
	key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4})
	u, org, err := svc.CreateUser(context.Background(), nil, service.CreateUserInput{Email: "o@example.com", Password: "test password", OrgName: "Org"})
	if err != nil {
		t.Fatal(err)
	}
	owner := &core.Actor{Type: core.ActorUser, UserID: u.ID, OrgID: org.ID, Role: core.RoleOwner,
		Scopes: core.RoleOwner.Scopes(), Label: u.Email}
	return svc, core.SystemActor(0, "operator"), owner
}

func wantReason(t *testing.T, err error, code, reason string) {
	t.Helper()
	ce, ok := errors.AsType[*core.Error](err)
	if !ok || ce.Code != code || (reason != "" && ce.Reason != reason) {
		t.Fatalf("error = %#v, want code %q reason %q", err, code, reason)
	}
}

func TestPlanAdministration(t *testing.T) {
	ctx := context.Background()
	svc, op, owner := planFixture(t)
	_, err := svc.CreatePlan(ctx, owner, "free", core.Rules{})
	wantReason(t, err, core.EForbidden, core.ReasonOwnerRequired)
	for _, tc := range []struct {
		name  string
		rules core.Rules
		field string
	}{
		{"", core.Rules{}, "name"},
		{"bad\x00name", core.Rules{}, "name"},
		{"x", core.Rules{MaxProjects: i64(-1)}, "max_projects"},
		{"x", core.Rules{MaxLicensesPerProject: i64(-5)}, "max_licenses_per_project"},
		{"x", core.Rules{Switches: core.Switches{MaxKeyLifetime: i64(59)}}, "max_key_lifetime"},
	} {
		_, err := svc.CreatePlan(ctx, op, tc.name, tc.rules)
		ce, ok := errors.AsType[*core.Error](err)
		if !ok || ce.Code != core.EInvalid || ce.Fields[tc.field] == nil {
			t.Fatalf("CreatePlan(%q, %+v) = %v, want 422 on %s", tc.name, tc.rules, err, tc.field)
		}
	}
	if ps, _ := svc.Plans(ctx, op); len(ps) != 0 {
		t.Fatalf("refused plans were written: %+v", ps)
	}
	free, err := svc.CreatePlan(ctx, op, " free ", core.Rules{MaxProjects: i64(3), Switches: core.Switches{GlobalKeys: boolp(false)}})
	if err != nil || free.Name != "free" {
		t.Fatalf("CreatePlan = %+v, %v", free, err)
	}
	_, err = svc.CreatePlan(ctx, op, "FREE", core.Rules{})
	wantReason(t, err, core.EInvalid, "")
	up, err := svc.UpdatePlan(ctx, op, "free", "", func(r *core.Rules) { r.MaxProjects = i64(1); r.GlobalKeys = nil })
	if err != nil || *up.Rules.MaxProjects != 1 || up.Rules.GlobalKeys != nil {
		t.Fatalf("UpdatePlan = %+v, %v", up, err)
	}
	_, err = svc.UpdatePlan(ctx, op, "free", "", func(r *core.Rules) { r.MaxMembers = i64(-1) })
	wantReason(t, err, core.EInvalid, "")
	if p, _ := svc.PlanByName(ctx, op, "free"); p.Rules.MaxMembers != nil {
		t.Fatalf("a refused update was written: %+v", p.Rules)
	}
	o, plan, err := svc.SetOrganizationPlan(ctx, op, "org", "Free")
	if err != nil || o.PlanID != free.ID || plan.ID != free.ID {
		t.Fatalf("SetOrganizationPlan = %+v %+v %v", o, plan, err)
	}
	wantReason(t, svc.DeletePlan(ctx, op, "free"), core.EConflict, "")
	_, _, err = svc.SetOrganizationPlan(ctx, op, "org", "no-such-plan")
	wantReason(t, err, core.ENotFound, "")
	if _, _, err := svc.SetOrganizationPlan(ctx, op, "org", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeletePlan(ctx, op, "free"); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyWithinPlan(t *testing.T) {
	ctx := context.Background()
	svc, op, owner := planFixture(t)
	if _, err := svc.CreatePlan(ctx, op, "strict", core.Rules{Switches: core.Switches{
		GlobalKeys: boolp(false), MaxKeyLifetime: i64(30 * 86400)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SetOrganizationPlan(ctx, op, "Org", "strict"); err != nil {
		t.Fatal(err)
	}
	dev := *owner
	dev.Role = core.RoleDeveloper
	scopes := core.NewScopeSet(core.ScopeLicensesRead)
	for _, tc := range []struct {
		name   string
		actor  *core.Actor
		pol    core.Policy
		code   string
		reason string
	}{
		{"developer may not set it", &dev, core.Policy{}, core.EForbidden, core.ReasonOwnerRequired},
		{"allowing what the plan forbids", owner, core.Policy{Switches: core.Switches{GlobalKeys: boolp(true)}}, core.EForbidden, core.ReasonPlanLimit},
		{"a longer lifetime than the plan's", owner, core.Policy{Switches: core.Switches{MaxKeyLifetime: i64(31 * 86400)}}, core.EForbidden, core.ReasonPlanLimit},
		{"a default longer than the maximum", owner, core.Policy{DefaultKeyLifetime: i64(40 * 86400)}, core.EInvalid, ""},
		{"a lifetime under an hour", owner, core.Policy{DefaultKeyLifetime: i64(60)}, core.EInvalid, ""},
		{"stricter is accepted", owner, core.Policy{Switches: core.Switches{KeysWithoutExpiry: boolp(false),
			MaxKeyLifetime: i64(7 * 86400)}, DeveloperScopes: &scopes, DefaultKeyLifetime: i64(86400)}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.SetPolicy(ctx, tc.actor, tc.pol)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, tc.code, tc.reason)
		})
	}
	a, err := svc.Allowance(ctx, owner, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The plan forbids global keys, the policy keys without expiry; the
	// policy's week is shorter than the plan's month.
	eff := a.Effective
	if core.Allowed(eff.GlobalKeys) || core.Allowed(eff.KeysWithoutExpiry) || *eff.MaxKeyLifetime != 7*86400 ||
		a.Org.Policy.DeveloperScopes == nil || *a.Org.Policy.DeveloperScopes != scopes {
		t.Fatalf("allowance = %+v (policy %+v)", eff, a.Org.Policy)
	}
}
