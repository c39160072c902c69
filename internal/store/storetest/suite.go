package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// T0 is the time every suite clock starts at.
var T0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// Run runs the conformance suite against fresh stores from b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st *store.Store, clock *Clock)
	}{
		{"Organizations", testOrganizations},
		{"OrganizationRenameDelete", testOrganizationRenameDelete},
		{"Users", testUsers},
		{"Memberships", testMemberships},
		{"Invitations", testInvitations},
		{"PasswordResets", testPasswordResets},
		{"APIKeys", testAPIKeys},
		{"APIKeyOwner", testAPIKeyOwner},
		{"APIKeyListing", testAPIKeyListing},
		{"APIKeyRevokeRetire", testAPIKeyRevokeRetire},
		{"APIKeyUsage", testAPIKeyUsage},
		{"APIKeyDisable", testAPIKeyDisable},
		{"LicenseListing", testLicenseListing},
		{"Audit", testAudit},
		{"Transactions", testTransactions},
		{"ConcurrentTransactions", testConcurrentTransactions},
		{"Migrate", testMigrate},
		{"Projects", testProjects},
		{"Domains", testDomains},
		{"Licenses", testLicenses},
		{"LicenseCustomer", testLicenseCustomer},
		{"LicenseFilters", testLicenseFilters},
		{"LicenseModes", testLicenseModes},
		{"ValidationWrites", testValidationWrites},
		{"Injectables", testInjectables},
		{"CapUnderConcurrency", testCapUnderConcurrency},
		{"ActivationResource", testActivationResource},
		{"ActivationChurn", testActivationChurn},
		{"ChurnUnderConcurrency", testChurnUnderConcurrency},
		{"Settings", testSettings},
		{"Sessions", testSessions},
		{"RevokeUserKeys", testRevokeUserKeys},
		{"BadText", testBadText},
		{"WebhookEvents", testWebhookEvents},
		{"WebhookEndpoints", testWebhookEndpoints},
		{"WebhookClaims", testWebhookClaims},
		{"WebhookConcurrentClaims", testWebhookConcurrentClaims},
		{"Leases", testLeases},
		{"Expiring", testExpiring},
		{"BulkLicenseFilters", testBulkLicenseFilters},
		{"APIKeyBulkFilter", testAPIKeyBulkFilter},
		{"Seats", testSeats},
		{"SeatsUnderConcurrency", testSeatsUnderConcurrency},
		{"Plans", testPlans},
		{"Usage", testUsage},
		{"UsageUnderConcurrency", testUsageUnderConcurrency},
		{"SigningKeys", testSigningKeys},
		{"Nodes", testNodes},
		{"IdempotencyKeys", testIdempotencyKeys},
		{"IdempotencyConcurrentClaims", testIdempotencyConcurrentClaims},
		{"Factors", testFactors},
		{"Outcomes", testOutcomes},
		{"InsightFigures", testInsightFigures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(T0)
			st, _ := b.Open(t, clock.Now)
			tc.fn(t, st, clock)
		})
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := core.ErrorCode(err); got != code || err == nil {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Fixture creates an organization, a user and an owner membership.
func Fixture(t *testing.T, st core.Store, org, email string, role core.Role) (*core.Organization, *core.User) {
	t.Helper()
	ctx := context.Background()
	o, err := st.OrganizationByName(ctx, org)
	if core.IsCode(err, core.ENotFound) {
		o = &core.Organization{Name: org, Slug: slugOf(org)}
		err = st.CreateOrganization(ctx, o)
	}
	must(t, err)
	u := &core.User{Email: email, Name: email, PasswordHash: "$2a$04$hash"}
	must(t, st.CreateUser(ctx, u))
	must(t, st.CreateMembership(ctx, &core.Membership{OrgID: o.ID, UserID: u.ID, Role: role}))
	return o, u
}

func slugOf(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		} else if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

func testOrganizations(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o := &core.Organization{Name: "Acme Software", Slug: "acme-software"}
	must(t, st.CreateOrganization(ctx, o))
	if o.ID == 0 || !o.CreatedAt.Equal(ts(T0)) {
		t.Fatalf("created %+v", o)
	}
	got, err := st.Organization(ctx, o.ID)
	must(t, err)
	if got.Name != o.Name || got.Slug != o.Slug || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Fatalf("got %+v, want %+v", got, o)
	}
	byName, err := st.OrganizationByName(ctx, "ACME software")
	must(t, err)
	if byName.ID != o.ID {
		t.Fatalf("by name: got %d, want %d", byName.ID, o.ID)
	}
	bySlug, err := st.OrganizationBySlug(ctx, "acme-software")
	must(t, err)
	if bySlug.ID != o.ID {
		t.Fatalf("by slug: got %d, want %d", bySlug.ID, o.ID)
	}
	wantCode(t, st.CreateOrganization(ctx, &core.Organization{Name: "acme SOFTWARE", Slug: "other"}), core.EConflict)
	wantCode(t, st.CreateOrganization(ctx, &core.Organization{Name: "Acme 2", Slug: "acme-software"}), core.EConflict)
	_, err = st.Organization(ctx, o.ID+100)
	wantCode(t, err, core.ENotFound)
	_, err = st.OrganizationByName(ctx, "nobody")
	wantCode(t, err, core.ENotFound)
}

func testUsers(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	n, err := st.CountUsers(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("CountUsers on empty store = %d", n)
	}
	u := &core.User{Email: "Alice@Example.COM", Name: "Alice", PasswordHash: "$2a$10$abc"}
	must(t, st.CreateUser(ctx, u))
	if u.Email != "alice@example.com" {
		t.Fatalf("email stored as %q, want lower case", u.Email)
	}
	wantCode(t, st.CreateUser(ctx, &core.User{Email: "ALICE@example.com", PasswordHash: "x"}), core.EConflict)
	got, err := st.UserByEmail(ctx, "alice@EXAMPLE.com")
	must(t, err)
	if got.ID != u.ID || got.Name != "Alice" || got.PasswordHash != "$2a$10$abc" || got.Disabled {
		t.Fatalf("by email: %+v", got)
	}
	clock.Advance(time.Minute)
	name, disabled := "Alice B.", true
	upd, err := st.UpdateUser(ctx, u.ID, core.UserUpdate{Name: &name, Disabled: &disabled})
	must(t, err)
	if upd.Name != name || !upd.Disabled || upd.PasswordHash != "$2a$10$abc" || !upd.UpdatedAt.Equal(ts(T0.Add(time.Minute))) {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateUser(ctx, u.ID+100, core.UserUpdate{Name: &name})
	wantCode(t, err, core.ENotFound)
	_, err = st.User(ctx, u.ID+100)
	wantCode(t, err, core.ENotFound)
	n, err = st.CountUsers(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("CountUsers = %d, want 1", n)
	}
}

func testMemberships(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o1, alice := Fixture(t, st, "One", "alice@example.com", core.RoleOwner)
	clock.Advance(time.Second)
	_, bob := Fixture(t, st, "One", "bob@example.com", core.RoleViewer)
	o2 := &core.Organization{Name: "Two", Slug: "two"}
	must(t, st.CreateOrganization(ctx, o2))
	clock.Advance(time.Second)
	must(t, st.CreateMembership(ctx, &core.Membership{OrgID: o2.ID, UserID: alice.ID, Role: core.RoleDeveloper}))
	wantCode(t, st.CreateMembership(ctx, &core.Membership{OrgID: o2.ID, UserID: alice.ID, Role: core.RoleAdmin}), core.EConflict)

	m, err := st.Membership(ctx, o1.ID, bob.ID)
	must(t, err)
	if m.Role != core.RoleViewer {
		t.Fatalf("bob's role = %q", m.Role)
	}
	must(t, st.UpdateMembershipRole(ctx, o1.ID, bob.ID, core.RoleAdmin))
	m, err = st.Membership(ctx, o1.ID, bob.ID)
	must(t, err)
	if m.Role != core.RoleAdmin {
		t.Fatalf("bob's role after update = %q", m.Role)
	}
	members, err := st.ListMembers(ctx, o1.ID)
	must(t, err)
	if len(members) != 2 || members[0].Email != "alice@example.com" || members[1].Email != "bob@example.com" || members[1].Role != core.RoleAdmin {
		t.Fatalf("members = %+v", members)
	}
	orgs, err := st.ListUserOrganizations(ctx, alice.ID)
	must(t, err)
	if len(orgs) != 2 || orgs[0].OrgName != "One" || orgs[1].OrgName != "Two" || orgs[1].Role != core.RoleDeveloper {
		t.Fatalf("alice's orgs = %+v", orgs)
	}
	must(t, st.DeleteMembership(ctx, o1.ID, bob.ID))
	_, err = st.Membership(ctx, o1.ID, bob.ID)
	wantCode(t, err, core.ENotFound)
	wantCode(t, st.DeleteMembership(ctx, o1.ID, bob.ID), core.ENotFound)
	wantCode(t, st.UpdateMembershipRole(ctx, o1.ID, bob.ID, core.RoleViewer), core.ENotFound)
}

func newKey(o *core.Organization, u *core.User, n byte) *core.APIKey {
	digest := make([]byte, 32)
	digest[0], digest[31] = n, 0xAB
	return &core.APIKey{
		OrgID: o.ID, UserID: u.ID, Name: "key " + string('a'+rune(n%26)), PublicID: "pk_live_" + string('A'+rune(n%26)) + string('a'+rune(n/26)),
		Digest: digest, Last4: "9f3a", Env: core.EnvLive, Scopes: core.NewScopeSet(core.ScopeLicensesRead),
	}
}

func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func testAPIKeys(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	exp := T0.Add(48 * time.Hour)
	k := newKey(o, u, 1)
	k.Description = "CI deploys"
	k.Scopes = core.NewScopeSet(core.ScopeLicensesRead, core.ScopeLicensesWrite, core.ScopeAuditRead)
	k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")}
	k.RateLimit = 120
	k.ExpiresAt = &exp
	k.CreatedBy = "alice@example.com"
	must(t, st.CreateAPIKey(ctx, k))
	got, err := st.APIKey(ctx, k.ID)
	must(t, err)
	if got.Name != k.Name || got.Description != "CI deploys" || got.PublicID != k.PublicID || string(got.Digest) != string(k.Digest) ||
		got.Last4 != "9f3a" || got.Env != "live" || got.Scopes != k.Scopes || got.RateLimit != 120 ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(ts(exp)) || got.RevokedAt != nil || got.ProjectID != 0 ||
		got.CreatedBy != "alice@example.com" || !slices.Equal(got.AllowedIPs, k.AllowedIPs) {
		t.Fatalf("got %+v\nwant %+v", got, k)
	}
	dup := newKey(o, u, 2)
	dup.Digest = k.Digest
	wantCode(t, st.CreateAPIKey(ctx, dup), core.EConflict)
	dup = newKey(o, u, 2)
	dup.PublicID = k.PublicID
	wantCode(t, st.CreateAPIKey(ctx, dup), core.EConflict)

	name, scopes, rl := "renamed", core.NewScopeSet(core.ScopeAuditRead), 0
	var noExpiry *time.Time
	noIPs := []netip.Prefix{}
	upd, err := st.UpdateAPIKey(ctx, k.ID, core.APIKeyUpdate{Name: &name, Scopes: &scopes, RateLimit: &rl, ExpiresAt: &noExpiry, AllowedIPs: &noIPs})
	must(t, err)
	if upd.Name != "renamed" || upd.Scopes != scopes || upd.RateLimit != 0 || upd.ExpiresAt != nil || len(upd.AllowedIPs) != 0 || upd.Description != "CI deploys" {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateAPIKey(ctx, k.ID+100, core.APIKeyUpdate{Name: &name})
	wantCode(t, err, core.ENotFound)
	_, err = st.APIKey(ctx, k.ID+100)
	wantCode(t, err, core.ENotFound)
}

func testAPIKeyOwner(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleDeveloper)
	k := newKey(o, u, 1)
	must(t, st.CreateAPIKey(ctx, k))
	ko, err := st.APIKeyOwnerByDigest(ctx, k.Digest)
	must(t, err)
	if ko.Key.ID != k.ID || ko.Role != core.RoleDeveloper || ko.UserDisabled || ko.UserEmail != "alice@example.com" {
		t.Fatalf("owner = %+v", ko)
	}
	must(t, st.UpdateMembershipRole(ctx, o.ID, u.ID, core.RoleViewer))
	disabled := true
	_, err = st.UpdateUser(ctx, u.ID, core.UserUpdate{Disabled: &disabled})
	must(t, err)
	ko, err = st.APIKeyOwnerByDigest(ctx, k.Digest)
	must(t, err)
	if ko.Role != core.RoleViewer || !ko.UserDisabled {
		t.Fatalf("owner after changes = %+v", ko)
	}
	must(t, st.DeleteMembership(ctx, o.ID, u.ID))
	ko, err = st.APIKeyOwnerByDigest(ctx, k.Digest)
	must(t, err)
	if ko.Role != "" {
		t.Fatalf("removed member still has role %q", ko.Role)
	}
	_, err = st.APIKeyOwnerByDigest(ctx, make([]byte, 32))
	wantCode(t, err, core.ENotFound)
}

func testAPIKeyListing(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, alice := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	_, bob := Fixture(t, st, "Acme", "bob@example.com", core.RoleDeveloper)
	other, carol := Fixture(t, st, "Other", "carol@example.com", core.RoleOwner)
	var aliceIDs, allIDs []int64
	for i := range 7 {
		owner := alice
		if i%3 == 2 {
			owner = bob
		}
		k := newKey(o, owner, byte(i+1))
		must(t, st.CreateAPIKey(ctx, k))
		allIDs = append(allIDs, k.ID)
		if owner == alice {
			aliceIDs = append(aliceIDs, k.ID)
		}
	}
	must(t, st.CreateAPIKey(ctx, newKey(other, carol, 40)))
	slices.Reverse(allIDs)
	slices.Reverse(aliceIDs)

	var seen []int64
	before := int64(0)
	for {
		page, err := st.ListAPIKeys(ctx, core.APIKeyFilter{OrgID: o.ID, BeforeID: before, Limit: 3})
		must(t, err)
		for _, k := range page {
			seen = append(seen, k.ID)
		}
		if len(page) < 3 {
			break
		}
		before = page[len(page)-1].ID
	}
	if !slices.Equal(seen, allIDs) {
		t.Fatalf("paged ids = %v, want %v", seen, allIDs)
	}
	mine, err := st.ListAPIKeys(ctx, core.APIKeyFilter{OrgID: o.ID, UserID: alice.ID, Limit: 50})
	must(t, err)
	var mineIDs []int64
	for _, k := range mine {
		mineIDs = append(mineIDs, k.ID)
	}
	if !slices.Equal(mineIDs, aliceIDs) {
		t.Fatalf("alice's keys = %v, want %v", mineIDs, aliceIDs)
	}
}

func testAPIKeyRevokeRetire(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	k := newKey(o, u, 1)
	must(t, st.CreateAPIKey(ctx, k))
	first := T0.Add(time.Hour)
	r, err := st.RevokeAPIKey(ctx, k.ID, first)
	must(t, err)
	if r.RevokedAt == nil || !r.RevokedAt.Equal(ts(first)) || r.Status(first) != core.KeyRevoked {
		t.Fatalf("revoked = %+v", r)
	}
	r, err = st.RevokeAPIKey(ctx, k.ID, first.Add(time.Hour))
	must(t, err)
	if !r.RevokedAt.Equal(ts(first)) {
		t.Fatalf("second revoke moved revoked_at to %v", r.RevokedAt)
	}
	_, err = st.RevokeAPIKey(ctx, k.ID+100, first)
	wantCode(t, err, core.ENotFound)

	// Retiring moves the expiry earlier, never later.
	own := T0.Add(30 * time.Minute)
	k2 := newKey(o, u, 2)
	k2.ExpiresAt = &own
	must(t, st.CreateAPIKey(ctx, k2))
	k3 := newKey(o, u, 3)
	must(t, st.CreateAPIKey(ctx, k3))
	ret, err := st.RetireAPIKey(ctx, k2.ID, k3.ID, T0.Add(time.Hour))
	must(t, err)
	if ret.RotatedTo != k3.ID || !ret.ExpiresAt.Equal(ts(own)) {
		t.Fatalf("retire kept own expiry? %+v", ret)
	}
	k4 := newKey(o, u, 4)
	must(t, st.CreateAPIKey(ctx, k4))
	ret, err = st.RetireAPIKey(ctx, k4.ID, k3.ID, T0.Add(10*time.Minute))
	must(t, err)
	if ret.ExpiresAt == nil || !ret.ExpiresAt.Equal(ts(T0.Add(10*time.Minute))) {
		t.Fatalf("retire without own expiry: %+v", ret)
	}
	if ret.Status(T0.Add(10*time.Minute)) != core.KeyExpired || ret.Status(T0) != core.KeyActive {
		t.Fatal("status around the grace end is wrong")
	}
}

func testAPIKeyUsage(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	k := newKey(o, u, 1)
	must(t, st.CreateAPIKey(ctx, k))
	t1 := T0.Add(time.Hour)
	t2 := T0.Add(2 * time.Hour)
	must(t, st.RecordKeyUses(ctx, []core.KeyUse{
		{KeyID: k.ID, LastUsedAt: t2, LastUsedIP: "192.0.2.2", Day: "2026-03-14", Count: 5},
		{KeyID: k.ID + 999, LastUsedAt: t2, LastUsedIP: "192.0.2.9", Day: "2026-03-14", Count: 1}, // deleted key: ignored
	}))
	// A late batch (another node) carries an older use: the time stays.
	must(t, st.RecordKeyUses(ctx, []core.KeyUse{{KeyID: k.ID, LastUsedAt: t1, LastUsedIP: "192.0.2.1", Day: "2026-03-14", Count: 2}}))
	must(t, st.RecordKeyUses(ctx, []core.KeyUse{{KeyID: k.ID, LastUsedAt: t2.Add(24 * time.Hour), LastUsedIP: "192.0.2.3", Day: "2026-03-15", Count: 1}}))
	got, err := st.APIKey(ctx, k.ID)
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(ts(t2.Add(24*time.Hour))) || got.LastUsedIP != "192.0.2.3" {
		t.Fatalf("last used = %v %q", got.LastUsedAt, got.LastUsedIP)
	}
	days, err := st.KeyUsage(ctx, k.ID, "2026-03-01", "2026-03-31")
	must(t, err)
	want := []core.DayCount{{Day: "2026-03-14", Count: 7}, {Day: "2026-03-15", Count: 1}}
	if !slices.Equal(days, want) {
		t.Fatalf("usage = %v, want %v", days, want)
	}
	days, err = st.KeyUsage(ctx, k.ID, "2026-03-15", "2026-03-15")
	must(t, err)
	if len(days) != 1 || days[0].Count != 1 {
		t.Fatalf("one day = %v", days)
	}
}

func testAudit(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	actions := []string{"api_key.create", "license.create", "license.revoke", "license_x.other", "project.create"}
	for i, a := range actions {
		clock.Advance(time.Minute)
		e := &core.AuditEvent{OrgID: o.ID, ActorType: core.ActorUser, ActorID: u.ID, ActorLabel: u.Email, Action: a,
			TargetType: "license", TargetID: int64(i + 1), ProjectID: 7, IP: "192.0.2.1", UserAgent: "test",
			Details: []byte(`{"title":"x"}`)}
		must(t, st.AppendAudit(ctx, e))
		if e.ID == 0 || !e.CreatedAt.Equal(ts(clock.Now())) {
			t.Fatalf("appended %+v", e)
		}
	}
	must(t, st.AppendAudit(ctx, &core.AuditEvent{OrgID: o.ID + 1, ActorType: core.ActorSystem, Action: "license.create"}))
	all, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID})
	must(t, err)
	if len(all) != 5 || all[0].Action != "project.create" || all[4].Action != "api_key.create" {
		t.Fatalf("all = %+v", all)
	}
	if all[0].ActorLabel != "alice@example.com" || all[0].IP != "192.0.2.1" || all[0].UserAgent != "test" || all[0].ProjectID != 7 {
		t.Fatalf("event = %+v", all[0])
	}
	lic, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, Action: "license."})
	must(t, err)
	if len(lic) != 2 || lic[0].Action != "license.revoke" || lic[1].Action != "license.create" {
		t.Fatalf("prefix filter (must not match license_x.) = %+v", lic)
	}
	exact, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, Action: "license.create"})
	must(t, err)
	if len(exact) != 1 {
		t.Fatalf("exact filter = %+v", exact)
	}
	since := T0.Add(3 * time.Minute)
	page, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, Since: &since, Limit: 2})
	must(t, err)
	if len(page) != 2 || page[0].Action != "project.create" || page[1].Action != "license_x.other" {
		t.Fatalf("since+limit = %+v", page)
	}
	next, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, Since: &since, BeforeID: page[1].ID})
	must(t, err)
	if len(next) != 1 || next[0].Action != "license.revoke" {
		t.Fatalf("next page = %+v", next)
	}
	byTarget, err := st.ListAudit(ctx, core.AuditFilter{OrgID: o.ID, TargetType: "license", TargetID: 2})
	must(t, err)
	if len(byTarget) != 1 || byTarget[0].Action != "license.create" {
		t.Fatalf("by target = %+v", byTarget)
	}
}

func testTransactions(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx core.Store) error {
		o := &core.Organization{Name: "Rolled back", Slug: "rb"}
		if err := tx.CreateOrganization(ctx, o); err != nil {
			return err
		}
		// Reads in the transaction see its own writes.
		if _, err := tx.Organization(ctx, o.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want boom", err)
	}
	_, err = st.OrganizationByName(ctx, "Rolled back")
	wantCode(t, err, core.ENotFound)

	must(t, st.InTx(ctx, func(tx core.Store) error {
		o := &core.Organization{Name: "Kept", Slug: "kept"}
		if err := tx.CreateOrganization(ctx, o); err != nil {
			return err
		}
		return tx.InTx(ctx, func(inner core.Store) error {
			return inner.CreateUser(ctx, &core.User{Email: "kept@example.com", PasswordHash: "x"})
		})
	}))
	_, err = st.OrganizationByName(ctx, "Kept")
	must(t, err)
	_, err = st.UserByEmail(ctx, "kept@example.com")
	must(t, err)
}

func testMigrate(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	applied, err := st.Migrate(ctx)
	must(t, err)
	if len(applied) != 0 {
		t.Fatalf("second Migrate applied %v", applied)
	}
	pending, err := st.PendingMigrations(ctx)
	must(t, err)
	if len(pending) != 0 {
		t.Fatalf("pending after migrate = %v", pending)
	}
	// A migration this binary does not know means a newer binary wrote the
	// database: refuse it.
	_, err = st.DB().ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future.sql', $1)`, ts(T0))
	must(t, err)
	if _, err := st.Migrate(ctx); err == nil {
		t.Fatal("Migrate accepted a database from a newer version")
	}
}

func testSettings(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	_, err := st.Setting(ctx, "secret_fingerprint")
	wantCode(t, err, core.ENotFound)
	v, err := st.InitSetting(ctx, "secret_fingerprint", "abc")
	must(t, err)
	if v != "abc" {
		t.Fatalf("first InitSetting = %q", v)
	}
	v, err = st.InitSetting(ctx, "secret_fingerprint", "def")
	must(t, err)
	if v != "abc" {
		t.Fatalf("second InitSetting overwrote: %q", v)
	}
	v, err = st.Setting(ctx, "secret_fingerprint")
	must(t, err)
	if v != "abc" {
		t.Fatalf("Setting = %q", v)
	}
}

func testSessions(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	o2 := &core.Organization{Name: "Two", Slug: "two"}
	must(t, st.CreateOrganization(ctx, o2))
	digest := []byte("0123456789abcdef0123456789abcdef")
	se := &core.Session{Digest: digest, UserID: u.ID, OrgID: o.ID, CSRFToken: "csrf", IP: "192.0.2.1", UserAgent: "ua",
		ExpiresAt: T0.Add(time.Hour)}
	must(t, st.CreateSession(ctx, se))
	got, err := st.SessionByDigest(ctx, digest, T0)
	must(t, err)
	if got.UserID != u.ID || got.OrgID != o.ID || got.CSRFToken != "csrf" || !got.ExpiresAt.Equal(ts(T0.Add(time.Hour))) {
		t.Fatalf("session = %+v", got)
	}
	_, err = st.SessionByDigest(ctx, digest, T0.Add(time.Hour))
	wantCode(t, err, core.ENotFound)
	must(t, st.UpdateSession(ctx, digest, o2.ID, T0.Add(time.Minute), T0.Add(2*time.Hour)))
	got, err = st.SessionByDigest(ctx, digest, T0.Add(90*time.Minute))
	must(t, err)
	if got.OrgID != o2.ID || !got.LastSeenAt.Equal(ts(T0.Add(time.Minute))) {
		t.Fatalf("updated session = %+v", got)
	}
	wantCode(t, st.UpdateSession(ctx, []byte("nope"), o.ID, T0, T0), core.ENotFound)
	// Ending sessions per organization leaves the others.
	d2 := []byte("second-session-digest-0123456789")
	must(t, st.CreateSession(ctx, &core.Session{Digest: d2, UserID: u.ID, OrgID: o.ID, CSRFToken: "x", ExpiresAt: T0.Add(time.Hour)}))
	must(t, st.DeleteUserSessions(ctx, u.ID, o.ID))
	_, err = st.SessionByDigest(ctx, d2, T0)
	wantCode(t, err, core.ENotFound)
	_, err = st.SessionByDigest(ctx, digest, T0)
	must(t, err)
	must(t, st.DeleteUserSessions(ctx, u.ID, 0))
	_, err = st.SessionByDigest(ctx, digest, T0)
	wantCode(t, err, core.ENotFound)
	must(t, st.DeleteSession(ctx, digest))
}

func testRevokeUserKeys(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, alice := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	_, bob := Fixture(t, st, "Acme", "bob@example.com", core.RoleDeveloper)
	var aliceKeys []int64
	for i := range 3 {
		k := newKey(o, alice, byte(i+1))
		must(t, st.CreateAPIKey(ctx, k))
		aliceKeys = append(aliceKeys, k.ID)
	}
	bk := newKey(o, bob, 9)
	must(t, st.CreateAPIKey(ctx, bk))
	_, err := st.RevokeAPIKey(ctx, aliceKeys[0], T0)
	must(t, err)
	revoked, err := st.RevokeUserKeys(ctx, o.ID, alice.ID, T0.Add(time.Hour))
	must(t, err)
	if len(revoked) != 2 || revoked[0].ID != aliceKeys[1] || revoked[1].ID != aliceKeys[2] || revoked[0].RevokedAt == nil ||
		!revoked[0].RevokedAt.Equal(ts(T0.Add(time.Hour))) {
		t.Fatalf("revoked %+v, want keys 2 and 3 (the first was revoked already)", revoked)
	}
	first, err := st.APIKey(ctx, aliceKeys[0])
	must(t, err)
	if !first.RevokedAt.Equal(ts(T0)) {
		t.Fatal("an earlier revocation time was overwritten")
	}
	b, err := st.APIKey(ctx, bk.ID)
	must(t, err)
	if b.RevokedAt != nil {
		t.Fatal("another user's key was revoked")
	}
}

// testConcurrentTransactions: many transactions at once (grouped into
// shared commits on SQLite) stay independent: a failing one, or one that
// breaks a unique rule, rolls back alone.
func testConcurrentTransactions(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	must(t, st.CreateOrganization(ctx, &core.Organization{Name: "Taken", Slug: "taken"}))
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range 60 {
		wg.Go(func() {
			errs[i] = st.InTx(ctx, func(tx core.Store) error {
				name := fmt.Sprintf("Org %02d", i)
				if i%3 == 2 {
					name = "Taken" // breaks the unique rule
				}
				if err := tx.CreateOrganization(ctx, &core.Organization{Name: name, Slug: fmt.Sprintf("org-%02d", i)}); err != nil {
					return err
				}
				if i%3 == 1 {
					return boom
				}
				return tx.CreateUser(ctx, &core.User{Email: fmt.Sprintf("u%02d@example.com", i), PasswordHash: "x"})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, orgErr := st.OrganizationBySlug(ctx, fmt.Sprintf("org-%02d", i))
		_, userErr := st.UserByEmail(ctx, fmt.Sprintf("u%02d@example.com", i))
		switch i % 3 {
		case 0:
			if err != nil || orgErr != nil || userErr != nil {
				t.Fatalf("tx %d: %v, org %v, user %v", i, err, orgErr, userErr)
			}
		case 1:
			if !errors.Is(err, boom) || !core.IsCode(orgErr, core.ENotFound) {
				t.Fatalf("failed tx %d left its org: %v / %v", i, err, orgErr)
			}
		case 2:
			if !core.IsCode(err, core.EConflict) || !core.IsCode(orgErr, core.ENotFound) || !core.IsCode(userErr, core.ENotFound) {
				t.Fatalf("conflicting tx %d: %v / %v / %v", i, err, orgErr, userErr)
			}
		}
	}
}
