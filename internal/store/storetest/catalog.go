package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func strp(s string) *string { return &s }

func testProjects(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	other, _ := Fixture(t, st, "Other", "bob@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "Pro Plugin", Slug: "pro-plugin", Description: strp("The plugin"),
		WebhookURL: strp("https://hooks.example.com/x"), WebhookSecretEnc: []byte{1, 2, 3},
		Meta: json.RawMessage(`{"tier": "gold"}`), IsActive: true, CreatedBy: u.ID}
	must(t, st.CreateProject(ctx, p))
	got, err := st.Project(ctx, p.ID)
	must(t, err)
	var meta map[string]string
	must(t, json.Unmarshal(got.Meta, &meta))
	if got.Name != "Pro Plugin" || got.Slug != "pro-plugin" || *got.Description != "The plugin" || got.DefaultRedirectURL != nil ||
		*got.WebhookURL != "https://hooks.example.com/x" || string(got.WebhookSecretEnc) != "\x01\x02\x03" ||
		meta["tier"] != "gold" || !got.IsActive || got.HasPaid || got.CreatedBy != u.ID || got.DeletedAt != nil {
		t.Fatalf("got %+v", got)
	}
	// Slugs are unique per organization, not across organizations.
	wantCode(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "Dup", Slug: "pro-plugin"}), core.EConflict)
	must(t, st.CreateProject(ctx, &core.Project{OrgID: other.ID, Name: "Same slug", Slug: "pro-plugin"}))
	bySlug, err := st.ProjectBySlug(ctx, o.ID, "pro-plugin")
	must(t, err)
	if bySlug.ID != p.ID {
		t.Fatalf("by slug = %d", bySlug.ID)
	}
	var ids []int64
	for i := range 4 {
		q := &core.Project{OrgID: o.ID, Name: "P", Slug: "p-" + string(rune('a'+i))}
		must(t, st.CreateProject(ctx, q))
		ids = append(ids, q.ID)
	}
	page, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, Limit: 2})
	must(t, err)
	if len(page) != 2 || page[0].ID != p.ID || page[1].ID != ids[0] {
		t.Fatalf("first page = %v", page)
	}
	page, err = st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, AfterID: page[1].ID, Limit: 10})
	must(t, err)
	if len(page) != 3 || page[0].ID != ids[1] {
		t.Fatalf("second page = %v", page)
	}
	only, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, OnlyID: ids[2]})
	must(t, err)
	if len(only) != 1 || only[0].ID != ids[2] {
		t.Fatalf("only = %v", only)
	}

	clock.Advance(time.Minute)
	paid, name := true, "Renamed"
	var noDesc *string
	meta2 := json.RawMessage(`{"a":1}`)
	upd, err := st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Name: &name, HasPaid: &paid, Description: &noDesc, Meta: &meta2})
	must(t, err)
	if upd.Name != name || !upd.HasPaid || upd.Description != nil || upd.Slug != "pro-plugin" || !upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Slug: strp("p-a")})
	wantCode(t, err, core.EConflict)

	// Soft delete hides the project, frees its slug and revokes its keys.
	k := newKey(o, u, 9)
	k.ProjectID = p.ID
	must(t, st.CreateAPIKey(ctx, k))
	must(t, st.DeleteProject(ctx, p.ID, clock.Now()))
	_, err = st.Project(ctx, p.ID)
	wantCode(t, err, core.ENotFound)
	wantCode(t, st.DeleteProject(ctx, p.ID, clock.Now()), core.ENotFound)
	_, err = st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Name: &name})
	wantCode(t, err, core.ENotFound)
	key, err := st.APIKey(ctx, k.ID)
	must(t, err)
	if key.RevokedAt == nil {
		t.Fatal("deleting a project left its key usable")
	}
	must(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "Reborn", Slug: "pro-plugin"}))
}

func testDomains(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	p2 := &core.Project{OrgID: o.ID, Name: "Q", Slug: "q", IsActive: true}
	must(t, st.CreateProject(ctx, p2))
	a := &core.Domain{ProjectID: p.ID, Domain: "example.com", Environment: core.EnvProduction, IsPrimary: true, IsActive: true, HasPaid: true, CreatedBy: u.ID}
	must(t, st.CreateDomain(ctx, a))
	b := &core.Domain{ProjectID: p.ID, Domain: "staging.example.com", Environment: core.EnvStaging, IsPrimary: true, IsActive: true}
	must(t, st.CreateDomain(ctx, b))
	got, err := st.Domain(ctx, a.ID)
	must(t, err)
	if got.IsPrimary || !got.HasPaid || got.Environment != "production" || got.CreatedBy != u.ID {
		t.Fatalf("a primary domain did not demote the other: %+v", got)
	}
	wantCode(t, st.CreateDomain(ctx, &core.Domain{ProjectID: p.ID, Domain: "example.com", Environment: core.EnvProduction}), core.EConflict)
	must(t, st.CreateDomain(ctx, &core.Domain{ProjectID: p2.ID, Domain: "example.com", Environment: core.EnvProduction, IsPrimary: true}))

	yes := true
	upd, err := st.UpdateDomain(ctx, a.ID, core.DomainUpdate{IsPrimary: &yes, IsVerified: &yes})
	must(t, err)
	if !upd.IsPrimary || !upd.IsVerified {
		t.Fatalf("updated %+v", upd)
	}
	bb, err := st.Domain(ctx, b.ID)
	must(t, err)
	if bb.IsPrimary {
		t.Fatal("promoting a domain left another primary")
	}
	// The other project's primary domain is untouched.
	other, err := st.ListDomains(ctx, core.DomainFilter{ProjectID: p2.ID})
	must(t, err)
	if len(other) != 1 || !other[0].IsPrimary {
		t.Fatalf("other project's domains = %+v", other)
	}
	_, err = st.UpdateDomain(ctx, b.ID, core.DomainUpdate{Domain: strp("example.com")})
	wantCode(t, err, core.EConflict)
	_, err = st.UpdateDomain(ctx, b.ID+100, core.DomainUpdate{IsPrimary: &yes})
	wantCode(t, err, core.ENotFound)

	list, err := st.ListDomains(ctx, core.DomainFilter{ProjectID: p.ID, Limit: 1})
	must(t, err)
	if len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("first page = %+v", list)
	}
	list, err = st.ListDomains(ctx, core.DomainFilter{ProjectID: p.ID, AfterID: a.ID})
	must(t, err)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("second page = %+v", list)
	}

	// Deleting a domain unpins its licenses.
	l := &core.License{ProjectID: p.ID, KeyDigest: []byte("digest-domain-test-0000000000000"), KeyEnc: []byte{1}, DomainID: a.ID,
		Title: "pinned", ValidateAgainst: core.ValidateProjectDomains}
	must(t, st.CreateLicense(ctx, l))
	must(t, st.DeleteDomain(ctx, a.ID))
	wantCode(t, st.DeleteDomain(ctx, a.ID), core.ENotFound)
	got2, err := st.License(ctx, l.ID)
	must(t, err)
	if got2.DomainID != 0 {
		t.Fatalf("license still pinned to deleted domain %d", got2.DomainID)
	}
}

func testLicenses(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	d := &core.Domain{ProjectID: p.ID, Domain: "example.com", Environment: core.EnvProduction}
	must(t, st.CreateDomain(ctx, d))
	exp := T0.Add(30 * 24 * time.Hour)
	n5, n0 := int64(5), int64(0)
	ips, countries := "127.0.0.1, 102.90.101.2", "NG, US, GB"
	l := &core.License{ProjectID: p.ID, KeyDigest: []byte("0123456789abcdef0123456789abcdef"), KeyEnc: []byte("sealed"),
		DomainID: d.ID, Title: "Gold", ExpiresAt: &exp, MaxDomains: &n5, MaxSubdomainsPerDomain: &n0, AllowedIPs: &ips,
		AllowedCountries: &countries, IsTestLicense: true, AllowConfigs: true, ValidateAgainst: core.ValidateProjectDomains,
		Meta: []byte(`{"plan":"gold"}`), UserID: u.ID}
	must(t, st.CreateLicense(ctx, l))
	if l.Status != core.LicenseActive {
		t.Fatalf("status = %q", l.Status)
	}
	got, err := st.LicenseByDigest(ctx, []byte("0123456789abcdef0123456789abcdef"))
	must(t, err)
	if got.ID != l.ID || got.Title != "Gold" || string(got.KeyEnc) != "sealed" || got.DomainID != d.ID || !got.ExpiresAt.Equal(ts(exp)) ||
		*got.MaxDomains != 5 || *got.MaxSubdomainsPerDomain != 0 || got.MaxUsagePerDay != nil || *got.AllowedIPs != ips ||
		*got.AllowedCountries != countries || !got.IsTestLicense || !got.AllowConfigs || got.ValidateAgainst != core.ValidateProjectDomains ||
		got.UserID != u.ID || got.RevokedAt != nil || !strings.Contains(string(got.Meta), "gold") {
		t.Fatalf("got %+v", got)
	}
	_, err = st.LicenseByDigest(ctx, []byte("nope"))
	wantCode(t, err, core.ENotFound)
	wantCode(t, st.CreateLicense(ctx, &core.License{ProjectID: p.ID, KeyDigest: []byte("other-digest-00000000000000000000"), KeyEnc: []byte{1},
		Title: "Gold", ValidateAgainst: core.ValidateLicenseDomains}), core.EConflict)

	// Update: every kind of field, including clearing to NULL.
	clock.Advance(time.Minute)
	revoked := core.LicenseRevoked
	at := clock.Now()
	atp := &at
	var noExp *time.Time
	var noLimit *int64
	var noIPs *string
	unpin := int64(0)
	upd, err := st.UpdateLicense(ctx, l.ID, core.LicenseUpdate{Title: strp("Platinum"), Status: &revoked, RevokedAt: &atp,
		ExpiresAt: &noExp, MaxDomains: &noLimit, AllowedIPs: &noIPs, DomainID: &unpin})
	must(t, err)
	if upd.Title != "Platinum" || upd.Status != core.LicenseRevoked || !upd.RevokedAt.Equal(ts(at)) || upd.ExpiresAt != nil ||
		upd.MaxDomains != nil || upd.AllowedIPs != nil || upd.DomainID != 0 || *upd.AllowedCountries != countries {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateLicense(ctx, l.ID+100, core.LicenseUpdate{Title: strp("x")})
	wantCode(t, err, core.ENotFound)

	// Listing: newest first, keyset pages, status and title filters.
	var ids []int64
	for i := range 7 {
		x := &core.License{ProjectID: p.ID, KeyDigest: []byte(fmt.Sprintf("digest-%026d", i)), KeyEnc: []byte{1},
			Title: fmt.Sprintf("License %c", 'A'+i), ValidateAgainst: core.ValidateLicenseDomains}
		must(t, st.CreateLicense(ctx, x))
		ids = append(ids, x.ID)
	}
	page, err := st.ListLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Limit: 3})
	must(t, err)
	if len(page) != 3 || page[0].ID != ids[6] || page[2].ID != ids[4] {
		t.Fatalf("first page %v", licenseIDs(page))
	}
	page, err = st.ListLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, BeforeID: ids[4], Limit: 10})
	must(t, err)
	if len(page) != 5 || page[4].ID != l.ID {
		t.Fatalf("second page %v", licenseIDs(page))
	}
	page, err = st.ListLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Status: core.LicenseRevoked})
	must(t, err)
	if len(page) != 1 || page[0].ID != l.ID {
		t.Fatalf("revoked filter %v", licenseIDs(page))
	}
	page, err = st.ListLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Search: "license c"})
	must(t, err)
	if len(page) != 1 || page[0].ID != ids[2] {
		t.Fatalf("search %v", licenseIDs(page))
	}
	page, err = st.ListLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Search: "%"})
	must(t, err)
	if len(page) != 0 {
		t.Fatalf("a LIKE wildcard in the search matched %v", licenseIDs(page))
	}
	counts, err := st.CountLicenses(ctx, p.ID)
	must(t, err)
	if counts[core.LicenseActive] != 7 || counts[core.LicenseRevoked] != 1 {
		t.Fatalf("counts = %v", counts)
	}
	must(t, st.DeleteLicense(ctx, l.ID))
	wantCode(t, st.DeleteLicense(ctx, l.ID), core.ENotFound)
	_, err = st.License(ctx, l.ID)
	wantCode(t, err, core.ENotFound)
}

func licenseIDs(ls []core.License) []int64 {
	out := make([]int64, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

func newLicense(t *testing.T, st *store.Store, title string, maxDomains, maxSubs *int64) *core.License {
	t.Helper()
	ctx := context.Background()
	o, err := st.OrganizationByName(ctx, "Acme")
	if core.IsCode(err, core.ENotFound) {
		o, _ = Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	} else {
		must(t, err)
	}
	p, err := st.ProjectBySlug(ctx, o.ID, "p")
	if core.IsCode(err, core.ENotFound) {
		p = &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
		must(t, st.CreateProject(ctx, p))
	} else {
		must(t, err)
	}
	l := &core.License{ProjectID: p.ID, KeyDigest: []byte("digest-" + title + "-00000000000000000000"), KeyEnc: []byte{1},
		Title: title, ValidateAgainst: core.ValidateLicenseDomains, MaxDomains: maxDomains, MaxSubdomainsPerDomain: maxSubs}
	must(t, st.CreateLicense(ctx, l))
	return l
}

func testValidationWrites(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "capped", nil, nil)
	day := "2026-03-14"
	for i := int64(1); i <= 3; i++ {
		out, n, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, Cap: 3})
		must(t, err)
		if out != core.WriteOK || n != i {
			t.Fatalf("use %d: %q, count %d", i, out, n)
		}
	}
	out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, Cap: 3})
	must(t, err)
	if out != core.WriteUsageExceeded {
		t.Fatalf("fourth use: %q", out)
	}
	// A new day starts from zero; a refused use records no activation.
	a := &core.Activation{Identifier: "shop.example.com", BaseDomain: "example.com", LastSeenAt: T0, LastIP: "192.0.2.1"}
	out, _, err = st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: day, Cap: 3, Activation: a})
	must(t, err)
	if out != core.WriteUsageExceeded {
		t.Fatalf("refused use: %q", out)
	}
	acts, err := st.ListActivations(ctx, l.ID)
	must(t, err)
	if len(acts) != 0 {
		t.Fatalf("a refused validation recorded %v", acts)
	}
	out, n, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: "2026-03-15", Cap: 3, Activation: a})
	must(t, err)
	if out != core.WriteOK || n != 1 {
		t.Fatalf("next day: %q %d", out, n)
	}
	acts, err = st.ListActivations(ctx, l.ID)
	must(t, err)
	if len(acts) != 1 || acts[0].Identifier != "shop.example.com" || acts[0].BaseDomain != "example.com" || acts[0].LastIP != "192.0.2.1" {
		t.Fatalf("activations = %+v", acts)
	}

	// Domain limits: 2 base domains, 1 subdomain each.
	two, one := int64(2), int64(1)
	lim := newLicense(t, st, "limited", &two, &one)
	act := func(id, base string) string {
		t.Helper()
		out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: lim.ID, Day: day, MaxDomains: 2, MaxSubdomains: 1,
			Activation: &core.Activation{Identifier: id, BaseDomain: base, LastSeenAt: clock.Now()}})
		must(t, err)
		return out
	}
	steps := []struct{ id, base, want string }{
		{"example.com", "example.com", core.WriteOK},
		{"a.example.com", "example.com", core.WriteOK},
		{"b.example.com", "example.com", core.WriteTooManySubs},
		{"a.example.com", "example.com", core.WriteOK}, // known: always fine
		{"other.org", "other.org", core.WriteOK},
		{"third.net", "third.net", core.WriteTooManyDomains},
		{"x.other.org", "other.org", core.WriteOK},
	}
	for _, s := range steps {
		if got := act(s.id, s.base); got != s.want {
			t.Fatalf("%s: %q, want %q", s.id, got, s.want)
		}
	}

	// Batched uses add up, and activation times only move forward.
	later := T0.Add(time.Hour)
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{
		{LicenseID: l.ID, Day: day, Count: 10, Seen: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com", LastSeenAt: later, LastIP: "192.0.2.9"}}},
		{LicenseID: l.ID, Day: "2026-03-16", Count: 2, Seen: []core.Activation{{Identifier: "fp_0123", BaseDomain: "fp_0123", LastSeenAt: later}}},
		{LicenseID: l.ID + 999, Day: day, Count: 5}, // a deleted license: ignored
	}))
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{
		{LicenseID: l.ID, Day: day, Count: 1, Seen: []core.Activation{{Identifier: "shop.example.com", BaseDomain: "example.com", LastSeenAt: T0, LastIP: "192.0.2.2"}}},
	}))
	usage, err := st.LicenseUsage(ctx, l.ID, "2026-03-01", "2026-03-31")
	must(t, err)
	want := []core.DayCount{{Day: day, Count: 14}, {Day: "2026-03-15", Count: 1}, {Day: "2026-03-16", Count: 2}}
	if fmt.Sprint(usage) != fmt.Sprint(want) {
		t.Fatalf("usage = %v, want %v", usage, want)
	}
	acts, err = st.ListActivations(ctx, l.ID)
	must(t, err)
	if len(acts) != 2 || !acts[0].LastSeenAt.Equal(ts(later)) || acts[0].LastIP != "192.0.2.9" || !acts[0].FirstSeenAt.Equal(ts(T0)) {
		t.Fatalf("activations after batches = %+v", acts)
	}
	// Deleting the license removes its activations and usage.
	must(t, st.DeleteLicense(ctx, l.ID))
	acts, err = st.ListActivations(ctx, l.ID)
	must(t, err)
	usage, err = st.LicenseUsage(ctx, l.ID, "2026-03-01", "2026-03-31")
	must(t, err)
	if len(acts) != 0 || len(usage) != 0 {
		t.Fatalf("left behind: %v %v", acts, usage)
	}
}

// testCapUnderConcurrency: 64 concurrent writers, a cap of 100, 400
// attempts: exactly 100 succeed.
func testCapUnderConcurrency(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "contended", nil, nil)
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 7 {
				out, _, err := st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: "2026-03-14", Cap: 100})
				if err != nil {
					t.Error(err)
					return
				}
				if out == core.WriteOK {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if ok != 100 {
		t.Fatalf("%d of 448 validations admitted under a cap of 100", ok)
	}
}

func testInjectables(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "any", nil, nil)
	ep := "https://acme.test/check"
	i := &core.Injectable{ProjectID: l.ProjectID, Title: "Bundle", Slug: "bundle", Type: "snippet", Mode: "inject", TargetPath: "js/app.js",
		ValidateEndpoint: &ep, EncryptedContent: "ZW5j", ContentHash: "hash", Signature: "sig", OnlyIfPaid: true, IsActive: true,
		Meta: json.RawMessage(`{"v":2}`)}
	must(t, st.CreateInjectable(ctx, i))
	got, err := st.Injectable(ctx, i.ID)
	must(t, err)
	if got.Slug != "bundle" || *got.ValidateEndpoint != ep || got.EncryptedContent != "ZW5j" || !got.OnlyIfPaid || got.FilePath != nil ||
		!strings.Contains(string(got.Meta), `"v"`) {
		t.Fatalf("got %+v", got)
	}
	wantCode(t, st.CreateInjectable(ctx, &core.Injectable{ProjectID: l.ProjectID, Slug: "bundle", Type: "css", Mode: "append", TargetPath: "x",
		EncryptedContent: "x", ContentHash: "x", Signature: "x"}), core.EConflict)
	off := &core.Injectable{ProjectID: l.ProjectID, Slug: "off", Type: "file", Mode: "write", TargetPath: "x", EncryptedContent: "x",
		FilePath: strp("logo.png"), ContentHash: "x", Signature: "x"}
	must(t, st.CreateInjectable(ctx, off))
	all, err := st.ListInjectables(ctx, core.InjectableFilter{ProjectID: l.ProjectID})
	must(t, err)
	active, err := st.ListInjectables(ctx, core.InjectableFilter{ProjectID: l.ProjectID, OnlyActive: true})
	must(t, err)
	if len(all) != 2 || len(active) != 1 || active[0].ID != i.ID {
		t.Fatalf("all %d, active %v", len(all), active)
	}
	yes := true
	var noEndpoint *string
	upd, err := st.UpdateInjectable(ctx, off.ID, core.InjectableUpdate{IsActive: &yes, EncryptedContent: strp("new"), ValidateEndpoint: &noEndpoint})
	must(t, err)
	if !upd.IsActive || upd.EncryptedContent != "new" || upd.Slug != "off" {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateInjectable(ctx, off.ID, core.InjectableUpdate{Slug: strp("bundle")})
	wantCode(t, err, core.EConflict)
	must(t, st.DeleteInjectable(ctx, off.ID))
	wantCode(t, st.DeleteInjectable(ctx, off.ID), core.ENotFound)
}
