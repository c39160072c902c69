package storetest

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func i64(v int64) *int64 { return &v }
func boolp(v bool) *bool { return &v }

// testPlans covers plan CRUD, names unique case-insensitively, a plan in
// use refusing deletion, and an organization's plan, policy and license
// defaults read back whole on every organization lookup and project.
func testPlans(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	rules := core.Rules{MaxProjects: i64(3), MaxLicensesPerProject: i64(100),
		Switches: core.Switches{GlobalKeys: boolp(false), MaxKeyLifetime: i64(86400)}}
	free := &core.Plan{Name: "Free", Rules: rules}
	must(t, st.CreatePlan(ctx, free))
	wantCode(t, st.CreatePlan(ctx, &core.Plan{Name: "free"}), core.EConflict)
	got, err := st.PlanByName(ctx, "FREE")
	must(t, err)
	if got.ID != free.ID || !reflect.DeepEqual(got.Rules, rules) || got.Organizations != 0 {
		t.Fatalf("plan by name = %+v, want id %d rules %+v", got, free.ID, rules)
	}
	pro := &core.Plan{Name: "pro"}
	must(t, st.CreatePlan(ctx, pro))
	ps, err := st.ListPlans(ctx)
	must(t, err)
	if len(ps) != 2 || ps[0].Name != "Free" || ps[1].Name != "pro" {
		t.Fatalf("plans = %+v", ps)
	}
	clock.Advance(time.Second)
	upd, err := st.UpdatePlan(ctx, free.ID, "", core.Rules{MaxProjects: i64(5)})
	must(t, err)
	if upd.Name != "Free" || *upd.Rules.MaxProjects != 5 || upd.Rules.MaxLicensesPerProject != nil || !upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated = %+v", upd)
	}
	_, err = st.UpdatePlan(ctx, free.ID, "PRO", core.Rules{})
	wantCode(t, err, core.EConflict)
	_, err = st.UpdatePlan(ctx, 9999, "x", core.Rules{})
	wantCode(t, err, core.ENotFound)

	o, _ := Fixture(t, st, "Planned", "plans@example.com", core.RoleOwner)
	if o.PlanID != 0 || !reflect.DeepEqual(o.Policy, core.Policy{}) || !reflect.DeepEqual(o.LicenseDefaults, core.LicenseDefaults{}) {
		t.Fatalf("new organization = %+v, want no plan, policy or defaults", o)
	}
	must(t, st.SetOrganizationPlan(ctx, o.ID, free.ID))
	wantCode(t, st.SetOrganizationPlan(ctx, o.ID, 9999), core.ENotFound)
	wantCode(t, st.SetOrganizationPlan(ctx, 9999, free.ID), core.ENotFound)
	scopes := core.NewScopeSet(core.ScopeLicensesRead)
	pol := core.Policy{Switches: core.Switches{KeysWithoutExpiry: boolp(false)}, DeveloperScopes: &scopes, DefaultKeyLifetime: i64(3600)}
	must(t, st.SetOrganizationPolicy(ctx, o.ID, pol))
	country := "DE, FR"
	defs := core.LicenseDefaults{ExpiresIn: new("30d"), MaxDomains: i64(2), AllowedCountries: &country, IsTestLicense: boolp(false)}
	must(t, st.SetOrganizationLicenseDefaults(ctx, o.ID, defs))
	for _, get := range []func() (*core.Organization, error){
		func() (*core.Organization, error) { return st.Organization(ctx, o.ID) },
		func() (*core.Organization, error) { return st.OrganizationByName(ctx, "planned") },
		func() (*core.Organization, error) { return st.OrganizationBySlug(ctx, o.Slug) },
	} {
		got, err := get()
		must(t, err)
		if got.PlanID != free.ID || !reflect.DeepEqual(got.Policy, pol) || !reflect.DeepEqual(got.LicenseDefaults, defs) {
			t.Fatalf("organization = %+v, want plan %d policy %+v defaults %+v", got, free.ID, pol, defs)
		}
	}
	if p, err := st.Plan(ctx, free.ID); err != nil || p.Organizations != 1 {
		t.Fatalf("plan = %+v, %v; want 1 organization", p, err)
	}
	wantCode(t, st.DeletePlan(ctx, free.ID), core.EConflict)
	must(t, st.SetOrganizationPlan(ctx, o.ID, 0))
	must(t, st.DeletePlan(ctx, free.ID))
	wantCode(t, st.DeletePlan(ctx, free.ID), core.ENotFound)
	_, err = st.Plan(ctx, free.ID)
	wantCode(t, err, core.ENotFound)

	// A project's defaults are stored on create, replaced on update and
	// read back by every project lookup.
	p := &core.Project{OrgID: o.ID, Name: "D", Slug: "d", IsActive: true, LicenseDefaults: core.LicenseDefaults{MaxUsagePerDay: i64(10)}}
	must(t, st.CreateProject(ctx, p))
	back, err := st.Project(ctx, p.ID)
	must(t, err)
	if back.LicenseDefaults.MaxUsagePerDay == nil || *back.LicenseDefaults.MaxUsagePerDay != 10 {
		t.Fatalf("project defaults = %+v", back.LicenseDefaults)
	}
	nd := core.LicenseDefaults{AllowConfigs: boolp(true)}
	up, err := st.UpdateProject(ctx, p.ID, core.ProjectUpdate{LicenseDefaults: &nd})
	must(t, err)
	if !reflect.DeepEqual(up.LicenseDefaults, nd) {
		t.Fatalf("updated project defaults = %+v, want %+v", up.LicenseDefaults, nd)
	}
}

// testUsage counts every cap, per organization and per project.
func testUsage(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "u1", nil, nil)
	_ = newLicense(t, st, "u2", nil, nil)
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	u, err := st.UserByEmail(ctx, "alice@example.com")
	must(t, err)
	must(t, st.CreateDomain(ctx, &core.Domain{ProjectID: l.ProjectID, Domain: "a.example", Environment: core.EnvProduction, IsActive: true}))
	must(t, st.CreateInjectable(ctx, &core.Injectable{ProjectID: l.ProjectID, Slug: "i", Type: "css", Mode: "append", TargetPath: "x",
		EncryptedContent: "x", ContentHash: "x", Signature: "x"}))
	past := clock.Now().Add(-time.Hour)
	for i, k := range []*core.APIKey{
		{Name: "live"}, {Name: "expired", ExpiresAt: &past}, {Name: "revoked"},
	} {
		k.OrgID, k.UserID, k.Env, k.Scopes = o.ID, u.ID, core.EnvLive, core.NewScopeSet(core.ScopeLicensesRead)
		k.PublicID, k.Digest, k.Last4 = "pk_live_usage"+string(rune('a'+i)), []byte("usage-digest-"+string(rune('a'+i))), "abcd"
		must(t, st.CreateAPIKey(ctx, k))
		if k.Name == "revoked" {
			_, err := st.RevokeAPIKey(ctx, k.ID, clock.Now())
			must(t, err)
		}
	}
	bob := &core.User{Email: "bob-usage@example.com", Name: "Bob", PasswordHash: "$2a$04$hash"}
	must(t, st.CreateUser(ctx, bob))
	must(t, st.CreateInvitation(ctx, &core.Invitation{OrgID: o.ID, Email: bob.Email, Role: core.RoleDeveloper, InvitedBy: "alice",
		Digest: []byte("usage-invitation"), ExpiresAt: clock.Now().Add(time.Hour)}))
	// Revoked invitations hold no seat.
	gone := &core.Invitation{OrgID: o.ID, Email: "gone@example.com", Role: core.RoleViewer, Digest: []byte("usage-revoked"), ExpiresAt: clock.Now().Add(time.Hour)}
	must(t, st.CreateInvitation(ctx, gone))
	must(t, st.RevokeInvitation(ctx, o.ID, gone.ID, clock.Now()))
	must(t, st.CreateWebhookEndpoint(ctx, &core.WebhookEndpoint{OrgID: o.ID, Source: core.EndpointSourceAPI, URL: "https://hooks.example/a", Events: []string{"*"}, SecretEnc: []byte{1}, Enabled: true}))
	must(t, st.CreateWebhookEndpoint(ctx, &core.WebhookEndpoint{OrgID: o.ID, ProjectID: l.ProjectID, Source: core.EndpointSourceProject, URL: "https://hooks.example/p", Events: []string{"*"}, SecretEnc: []byte{1}, Enabled: true}))

	got, err := st.Usage(ctx, o.ID, l.ProjectID)
	must(t, err)
	want := core.Usage{core.CapProjects: 1, core.CapLicensesPerProject: 2, core.CapDomainsPerProject: 1,
		core.CapInjectablesPerProject: 1, core.CapAPIKeys: 1, core.CapMembers: 2, core.CapWebhookEndpoints: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("usage = %v, want %v", got, want)
	}
	got, err = st.Usage(ctx, o.ID, 0)
	must(t, err)
	if _, ok := got[core.CapLicensesPerProject]; ok || got[core.CapProjects] != 1 {
		t.Fatalf("organization usage = %v, want no per-project counts", got)
	}
	got, err = st.Usage(ctx, o.ID, l.ProjectID, core.CapLicensesPerProject)
	must(t, err)
	if !reflect.DeepEqual(got, core.Usage{core.CapLicensesPerProject: 2}) {
		t.Fatalf("usage of one cap = %v, want licenses per project 2", got)
	}
}

// testUsageUnderConcurrency: 16 writers each count and create under a cap
// of 5 projects in one transaction; Usage's lock makes exactly 5 succeed.
func testUsageUnderConcurrency(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Racing", "race-usage@example.com", core.RoleOwner)
	const limit, writers = 5, 16
	var created atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			err := st.InTx(ctx, func(tx core.Store) error {
				u, err := tx.Usage(ctx, o.ID, 0, core.CapProjects)
				if err != nil {
					return err
				}
				if u[core.CapProjects] >= limit {
					return nil
				}
				slug := "p" + string(rune('a'+i))
				if err := tx.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: slug, Slug: slug, IsActive: true}); err != nil {
					return err
				}
				created.Add(1)
				return nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	u, err := st.Usage(ctx, o.ID, 0)
	must(t, err)
	if u[core.CapProjects] != limit {
		t.Fatalf("projects = %d (created %d), want exactly %d", u[core.CapProjects], created.Load(), limit)
	}
}
