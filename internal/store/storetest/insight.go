package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testOutcomes covers the runtime outcome counts (issue 19): batches add
// up, the project is the license's whatever the batch says, a deleted
// license's counts are dropped, and reads select a license, a project or
// an organization (not a deleted project's, nor another organization's)
// over [From, To), by hour and code; the top licenses are ranked by total.
func testOutcomes(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	a := newLicense(t, st, "a", nil, nil)
	b := newLicense(t, st, "b", nil, nil)
	gone := newLicense(t, st, "gone", nil, nil)
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	q := &core.Project{OrgID: o.ID, Name: "Q", Slug: "q", IsActive: true}
	must(t, st.CreateProject(ctx, q))
	c := &core.License{ProjectID: q.ID, KeyDigest: []byte("digest-c-00000000000000000000"), KeyEnc: []byte{1}, Title: "c",
		ValidateAgainst: core.ValidateLicenseDomains}
	must(t, st.CreateLicense(ctx, c))
	other, _ := Fixture(t, st, "Other", "olga@example.com", core.RoleOwner)
	r := &core.Project{OrgID: other.ID, Name: "R", Slug: "r", IsActive: true}
	must(t, st.CreateProject(ctx, r))
	x := &core.License{ProjectID: r.ID, KeyDigest: []byte("digest-x-00000000000000000000"), KeyEnc: []byte{1}, Title: "x",
		ValidateAgainst: core.ValidateLicenseDomains}
	must(t, st.CreateLicense(ctx, x))

	h0 := T0.Truncate(time.Hour)
	h1 := h0.Add(time.Hour)
	must(t, st.RecordOutcomes(ctx, []core.OutcomeCount{
		{LicenseID: a.ID, ProjectID: a.ProjectID, Hour: h0, Code: "VALID", Count: 5},
		{LicenseID: a.ID, ProjectID: a.ProjectID, Hour: h0, Code: "EXPIRED", Count: 1},
		{LicenseID: b.ID, ProjectID: 999999, Hour: h0, Code: "VALID", Count: 2}, // the stored project wins
		{LicenseID: c.ID, ProjectID: q.ID, Hour: h1, Code: "SUSPENDED", Count: 4},
		{LicenseID: x.ID, ProjectID: r.ID, Hour: h1, Code: "VALID", Count: 100},
		{LicenseID: gone.ID, ProjectID: gone.ProjectID, Hour: h0, Code: "VALID", Count: 50},
		{LicenseID: 999999, ProjectID: a.ProjectID, Hour: h0, Code: "VALID", Count: 7}, // no such license: dropped
		{LicenseID: a.ID, ProjectID: a.ProjectID, Hour: h1, Code: "VALID", Count: 0},   // nothing to add
	}))
	// A second batch (the next flush, or another node) adds to the first.
	must(t, st.RecordOutcomes(ctx, []core.OutcomeCount{
		{LicenseID: a.ID, ProjectID: a.ProjectID, Hour: h0, Code: "VALID", Count: 3},
		{LicenseID: a.ID, ProjectID: a.ProjectID, Hour: h1, Code: "VALID", Count: 1},
	}))
	must(t, st.DeleteLicense(ctx, gone.ID))
	must(t, st.RecordOutcomes(ctx, []core.OutcomeCount{{LicenseID: gone.ID, ProjectID: gone.ProjectID, Hour: h1, Code: "VALID", Count: 1}}))

	type row struct {
		hour  time.Time
		code  string
		count int64
	}
	series := func(f core.OutcomeFilter) []row {
		t.Helper()
		list, err := st.OutcomeSeries(ctx, f)
		must(t, err)
		out := make([]row, len(list))
		for i, c := range list {
			out[i] = row{c.Hour, c.Code, c.Count}
		}
		return out
	}
	all := core.OutcomeFilter{From: h0, To: h1.Add(time.Hour)}
	cases := []struct {
		name string
		f    core.OutcomeFilter
		want []row
	}{
		{"license", core.OutcomeFilter{LicenseID: a.ID, From: all.From, To: all.To}, []row{{h0, "EXPIRED", 1}, {h0, "VALID", 8}, {h1, "VALID", 1}}},
		{"project", core.OutcomeFilter{ProjectID: a.ProjectID, From: all.From, To: all.To}, []row{{h0, "EXPIRED", 1}, {h0, "VALID", 10}, {h1, "VALID", 1}}},
		{"organization", core.OutcomeFilter{OrgID: o.ID, From: all.From, To: all.To},
			[]row{{h0, "EXPIRED", 1}, {h0, "VALID", 10}, {h1, "SUSPENDED", 4}, {h1, "VALID", 1}}},
		{"other organization", core.OutcomeFilter{OrgID: other.ID, From: all.From, To: all.To}, []row{{h1, "VALID", 100}}},
		{"To excluded", core.OutcomeFilter{OrgID: o.ID, From: h0, To: h1}, []row{{h0, "EXPIRED", 1}, {h0, "VALID", 10}}},
		{"From included", core.OutcomeFilter{OrgID: o.ID, From: h1, To: h1.Add(time.Hour)}, []row{{h1, "SUSPENDED", 4}, {h1, "VALID", 1}}},
	}
	for _, tc := range cases {
		got := series(tc.f)
		if !slices.EqualFunc(got, tc.want, func(g, w row) bool { return g.hour.Equal(w.hour) && g.code == w.code && g.count == w.count }) {
			t.Errorf("%s: series = %v, want %v", tc.name, got, tc.want)
		}
	}

	top, err := st.TopLicenses(ctx, core.OutcomeFilter{OrgID: o.ID, From: all.From, To: all.To}, 2)
	must(t, err)
	want := []core.LicenseOutcomes{{LicenseID: a.ID, ProjectID: a.ProjectID, Title: "a", Total: 10, Valid: 9},
		{LicenseID: c.ID, ProjectID: q.ID, Title: "c", Total: 4, Valid: 0}}
	if !slices.Equal(top, want) {
		t.Fatalf("top licenses = %+v, want %+v", top, want)
	}

	// Pruning deletes the hours before its time, in batches, and nothing
	// after: here h0's three rows (a's two, b's one), not h1's.
	n, err := st.PruneOutcomes(ctx, h1, 2)
	must(t, err)
	n2, err := st.PruneOutcomes(ctx, h1, 2)
	must(t, err)
	if n != 2 || n2 != 1 {
		t.Fatalf("pruned %d then %d, want 2 then 1", n, n2)
	}
	if n, err := st.PruneOutcomes(ctx, h1, 2); err != nil || n != 0 {
		t.Fatalf("a third prune: %d, %v", n, err)
	}
	if got := series(core.OutcomeFilter{OrgID: o.ID, From: all.From, To: all.To}); len(got) != 2 || !got[0].hour.Equal(h1) {
		t.Fatalf("after pruning before h1: %v", got)
	}
	if got := series(core.OutcomeFilter{OrgID: other.ID, From: all.From, To: all.To}); len(got) != 1 {
		t.Fatalf("another organization's later counts were pruned: %v", got)
	}

	// A deleted project's counts leave the organization's figures.
	must(t, st.DeleteProject(ctx, q.ID, clock.Now()))
	if got := series(core.OutcomeFilter{OrgID: o.ID, From: h1, To: h1.Add(time.Hour)}); len(got) != 1 || got[0].code != "VALID" {
		t.Fatalf("after the project's deletion: %v", got)
	}
}

// testInsightFigures covers the home pages' figures: active licenses (not
// suspended, not expired), new activations in the range, licenses expiring
// soon (soonest first, limited), per organization and per project, and an
// organization's API requests per day.
func testInsightFigures(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	now := clock.Now()
	soon, later, past := now.Add(48*time.Hour), now.Add(24*time.Hour), now.Add(-time.Hour)
	a := newLicense(t, st, "a", nil, nil)
	b := newLicense(t, st, "b", nil, nil)
	c := newLicense(t, st, "c", nil, nil)
	d := newLicense(t, st, "d", nil, nil)
	must(t, updateExpiry(ctx, st, a.ID, &soon))
	must(t, updateExpiry(ctx, st, b.ID, &later))
	must(t, updateExpiry(ctx, st, c.ID, &past))
	suspended := core.LicenseSuspended
	_, err := st.UpdateLicense(ctx, d.ID, core.LicenseUpdate{Status: &suspended})
	must(t, err)
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	q := &core.Project{OrgID: o.ID, Name: "Q", Slug: "q", IsActive: true}
	must(t, st.CreateProject(ctx, q))
	e := &core.License{ProjectID: q.ID, KeyDigest: []byte("digest-e-00000000000000000000"), KeyEnc: []byte{1}, Title: "e",
		ValidateAgainst: core.ValidateLicenseDomains}
	must(t, st.CreateLicense(ctx, e))

	day := now.Format(time.DateOnly)
	must(t, st.RecordLicenseUses(ctx, []core.LicenseUse{
		{LicenseID: a.ID, Day: day, Seen: []core.Activation{{Identifier: "one.example", BaseDomain: "one.example", LastSeenAt: now}}},
		{LicenseID: e.ID, Day: day, Seen: []core.Activation{{Identifier: "two.example", BaseDomain: "two.example", LastSeenAt: now}}},
		{LicenseID: b.ID, Day: day, Seen: []core.Activation{{Identifier: "old.example", BaseDomain: "old.example", LastSeenAt: now.Add(-48 * time.Hour)}}},
	}))

	figures := func(f core.InsightFilter) *core.InsightFigures {
		t.Helper()
		got, err := st.InsightFigures(ctx, f)
		must(t, err)
		return got
	}
	base := core.InsightFilter{OrgID: o.ID, From: now.Add(-24 * time.Hour), To: now.Add(time.Minute), ExpiringBy: now.Add(72 * time.Hour), ExpiringLimit: 10}
	org := figures(base)
	if org.ActiveLicenses != 3 || org.NewActivations != 2 {
		t.Fatalf("organization: %d active, %d new activations; want 3 and 2", org.ActiveLicenses, org.NewActivations)
	}
	if len(org.Expiring) != 2 || org.Expiring[0].ID != b.ID || org.Expiring[1].ID != a.ID {
		t.Fatalf("expiring = %+v, want b then a", org.Expiring)
	}
	one := base
	one.ExpiringLimit = 1
	if got := figures(one); len(got.Expiring) != 1 || got.Expiring[0].ID != b.ID {
		t.Fatalf("limited expiring = %+v", got.Expiring)
	}
	pq := base
	pq.ProjectID = q.ID
	if got := figures(pq); got.ActiveLicenses != 1 || got.NewActivations != 1 || len(got.Expiring) != 0 {
		t.Fatalf("project q: %+v", got)
	}

	_, u, err := firstMember(ctx, st, o.ID)
	must(t, err)
	k1, k2 := newKey(o, u, 41), newKey(o, u, 42)
	must(t, st.CreateAPIKey(ctx, k1))
	must(t, st.CreateAPIKey(ctx, k2))
	must(t, st.RecordKeyUses(ctx, []core.KeyUse{
		{KeyID: k1.ID, LastUsedAt: now, Day: "2026-03-13", Count: 2},
		{KeyID: k1.ID, LastUsedAt: now, Day: "2026-03-14", Count: 3},
		{KeyID: k2.ID, LastUsedAt: now, Day: "2026-03-14", Count: 4},
	}))
	days, err := st.OrgKeyUsage(ctx, o.ID, "2026-03-14", "2026-03-31")
	must(t, err)
	if !slices.Equal(days, []core.DayCount{{Day: "2026-03-14", Count: 7}}) {
		t.Fatalf("organization requests = %+v", days)
	}
}

func updateExpiry(ctx context.Context, st *store.Store, id int64, at *time.Time) error {
	_, err := st.UpdateLicense(ctx, id, core.LicenseUpdate{ExpiresAt: &at})
	return err
}

// firstMember returns an organization's owner (the fixture's user).
func firstMember(ctx context.Context, st *store.Store, orgID int64) (*core.Membership, *core.User, error) {
	u, err := st.UserByEmail(ctx, "alice@example.com")
	if err != nil {
		return nil, nil, err
	}
	m, err := st.Membership(ctx, orgID, u.ID)
	return m, u, err
}
