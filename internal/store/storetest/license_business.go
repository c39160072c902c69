package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func int64p(n int64) *int64 { return &n }

// testLicenseCustomer covers the customer, order and metadata fields of a
// license: stored, updated, cleared, and the external ID's unique rule.
func testLicenseCustomer(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	l := &core.License{ProjectID: p.ID, KeyDigest: []byte("digest-customer-0000000000000000"), KeyEnc: []byte{1}, Title: "Gold",
		ValidateAgainst: core.ValidateLicenseDomains, CustomerName: strp("Ada Lovelace"), CustomerEmail: strp("Ada@Example.com"),
		ExternalID: strp("sub_123"), Metadata: map[string]string{"plan": "gold", "seats": "5"},
		MaxConcurrent: int64p(2), HeartbeatTTL: int64p(600), MaxNewActivationsPerDay: int64p(3)}
	must(t, st.CreateLicense(ctx, l))
	got, err := st.License(ctx, l.ID)
	must(t, err)
	if *got.CustomerName != "Ada Lovelace" || *got.CustomerEmail != "Ada@Example.com" || *got.ExternalID != "sub_123" ||
		!maps.Equal(got.Metadata, l.Metadata) || *got.MaxConcurrent != 2 || *got.HeartbeatTTL != 600 || *got.MaxNewActivationsPerDay != 3 {
		t.Fatalf("got %+v", got)
	}

	// The external ID is unique in the project, and the conflict names it.
	dup := &core.License{ProjectID: p.ID, KeyDigest: []byte("digest-customer-0000000000000001"), KeyEnc: []byte{1}, Title: "Other",
		ValidateAgainst: core.ValidateLicenseDomains, ExternalID: strp("sub_123")}
	err = st.CreateLicense(ctx, dup)
	wantCode(t, err, core.EConflict)
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Fields["external_id"] == nil {
		t.Fatalf("conflict = %v, want one naming external_id", err)
	}
	if _, err := st.LicenseByDigest(ctx, dup.KeyDigest); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("the refused license was stored: %v", err)
	}
	// Another project may use the same external ID; licenses without one
	// never conflict.
	p2 := &core.Project{OrgID: o.ID, Name: "P2", Slug: "p2", IsActive: true}
	must(t, st.CreateProject(ctx, p2))
	must(t, st.CreateLicense(ctx, &core.License{ProjectID: p2.ID, KeyDigest: []byte("digest-customer-0000000000000002"), KeyEnc: []byte{1},
		Title: "Gold", ValidateAgainst: core.ValidateLicenseDomains, ExternalID: strp("sub_123")}))
	for i := range 2 {
		must(t, st.CreateLicense(ctx, &core.License{ProjectID: p.ID, KeyDigest: fmt.Appendf(nil, "digest-customer-plain-%010d", i),
			KeyEnc: []byte{1}, Title: fmt.Sprintf("Plain %d", i), ValidateAgainst: core.ValidateLicenseDomains}))
	}
	x := &core.License{ProjectID: p.ID, KeyDigest: []byte("digest-customer-0000000000000003"), KeyEnc: []byte{1}, Title: "X",
		ValidateAgainst: core.ValidateLicenseDomains, ExternalID: strp("sub_9")}
	must(t, st.CreateLicense(ctx, x))
	_, err = st.UpdateLicense(ctx, x.ID, core.LicenseUpdate{ExternalID: func() **string { s := strp("sub_123"); return &s }()})
	wantCode(t, err, core.EConflict)

	// Update replaces metadata as a whole, and clears fields to NULL.
	clock.Advance(time.Minute)
	meta := map[string]string{"plan": "silver"}
	var none *string
	var noInt *int64
	upd, err := st.UpdateLicense(ctx, l.ID, core.LicenseUpdate{Metadata: &meta, CustomerName: &none, ExternalID: &none,
		MaxConcurrent: &noInt})
	must(t, err)
	if upd.CustomerName != nil || upd.ExternalID != nil || upd.MaxConcurrent != nil || *upd.CustomerEmail != "Ada@Example.com" ||
		!maps.Equal(upd.Metadata, meta) {
		t.Fatalf("updated %+v", upd)
	}
	empty := map[string]string{}
	upd, err = st.UpdateLicense(ctx, l.ID, core.LicenseUpdate{Metadata: &empty})
	must(t, err)
	if len(upd.Metadata) != 0 {
		t.Fatalf("metadata = %v, want none", upd.Metadata)
	}
	// The index rows follow: the old entries no longer match.
	n, err := st.CountMatchingLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Metadata: map[string]string{"plan": "gold"}})
	must(t, err)
	if n != 0 {
		t.Fatalf("%d licenses still match the replaced metadata", n)
	}
}

// testLicenseFilters covers every filter of a license listing, alone and
// combined, with the count agreeing with the list.
func testLicenseFilters(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	other, _ := Fixture(t, st, "Other", "bob@example.com", core.RoleOwner)
	p1 := &core.Project{OrgID: o.ID, Name: "P1", Slug: "p1", IsActive: true}
	p2 := &core.Project{OrgID: o.ID, Name: "P2", Slug: "p2", IsActive: true}
	gone := &core.Project{OrgID: o.ID, Name: "Gone", Slug: "gone", IsActive: true}
	foreign := &core.Project{OrgID: other.ID, Name: "F", Slug: "f", IsActive: true}
	for _, p := range []*core.Project{p1, p2, gone, foreign} {
		must(t, st.CreateProject(ctx, p))
	}
	ids := map[string]int64{}
	add := func(name string, p *core.Project, mod func(l *core.License)) {
		t.Helper()
		l := &core.License{ProjectID: p.ID, KeyDigest: fmt.Appendf(nil, "digest-filter-%018s", name), KeyEnc: []byte{1},
			Title: "License " + name, ValidateAgainst: core.ValidateLicenseDomains}
		if mod != nil {
			mod(l)
		}
		must(t, st.CreateLicense(ctx, l))
		ids[name] = l.ID
	}
	add("a", p1, func(l *core.License) {
		l.CustomerName, l.CustomerEmail, l.ExternalID = strp("Ada Lovelace"), strp("ada@example.com"), strp("ord_1")
		l.Metadata = map[string]string{"plan": "gold", "region": "eu"}
	})
	add("b", p1, func(l *core.License) {
		l.CustomerEmail, l.ExternalID, l.Metadata = strp("BOB@example.com"), strp("ord_2"), map[string]string{"plan": "trial"}
		l.Status = core.LicenseSuspended
	})
	add("c", p1, func(l *core.License) {
		l.Metadata = map[string]string{"plan": "gold", "region": "us"}
		l.Title = "100%_off"
	})
	add("d", p2, func(l *core.License) {
		l.CustomerEmail, l.Metadata = strp("ada@example.com"), map[string]string{"plan": "gold"}
	})
	add("e", gone, func(l *core.License) { l.Metadata = map[string]string{"plan": "gold"} })
	add("f", foreign, func(l *core.License) {
		l.CustomerEmail, l.Metadata = strp("ada@example.com"), map[string]string{"plan": "gold"}
	})
	must(t, st.DeleteProject(ctx, gone.ID, clock.Now()))

	tests := []struct {
		name string
		f    core.LicenseFilter
		want []string // newest first
	}{
		{"project", core.LicenseFilter{ProjectID: p1.ID}, []string{"c", "b", "a"}},
		{"organization, without deleted projects or other organizations", core.LicenseFilter{OrgID: o.ID}, []string{"d", "c", "b", "a"}},
		{"external id", core.LicenseFilter{ProjectID: p1.ID, ExternalID: "ord_2"}, []string{"b"}},
		{"external id is exact", core.LicenseFilter{ProjectID: p1.ID, ExternalID: "ord"}, nil},
		{"customer email, any case", core.LicenseFilter{ProjectID: p1.ID, CustomerEmail: "Bob@Example.COM"}, []string{"b"}},
		{"customer email across projects", core.LicenseFilter{OrgID: o.ID, CustomerEmail: "ada@example.com"}, []string{"d", "a"}},
		{"metadata", core.LicenseFilter{ProjectID: p1.ID, Metadata: map[string]string{"plan": "gold"}}, []string{"c", "a"}},
		{"every metadata entry", core.LicenseFilter{ProjectID: p1.ID, Metadata: map[string]string{"plan": "gold", "region": "eu"}}, []string{"a"}},
		{"metadata value is exact", core.LicenseFilter{ProjectID: p1.ID, Metadata: map[string]string{"plan": "Gold"}}, nil},
		{"metadata and status", core.LicenseFilter{OrgID: o.ID, Status: core.LicenseActive, Metadata: map[string]string{"plan": "gold"}},
			[]string{"d", "c", "a"}},
		{"q in the title", core.LicenseFilter{ProjectID: p1.ID, Query: "LICENSE B"}, []string{"b"}},
		{"q in the customer name", core.LicenseFilter{ProjectID: p1.ID, Query: "lovelace"}, []string{"a"}},
		{"q in the customer email", core.LicenseFilter{ProjectID: p1.ID, Query: "bob@"}, []string{"b"}},
		{"q in the external id", core.LicenseFilter{ProjectID: p1.ID, Query: "ord_"}, []string{"b", "a"}},
		{"q escapes LIKE", core.LicenseFilter{ProjectID: p1.ID, Query: "0%_"}, []string{"c"}},
		{"q by digest", core.LicenseFilter{OrgID: o.ID, Query: "whatever", QueryDigest: []byte("digest-filter-00000000000000000b")}, []string{"b"}},
		{"q by digest of another organization", core.LicenseFilter{OrgID: o.ID, QueryDigest: []byte("digest-filter-00000000000000000f")}, nil},
		{"ids", core.LicenseFilter{ProjectID: p1.ID, IDs: []int64{ids["a"], ids["d"], ids["c"]}}, []string{"c", "a"}},
		{"no ids", core.LicenseFilter{ProjectID: p1.ID, IDs: []int64{}}, nil},
		{"search (DevPayr's, title only)", core.LicenseFilter{ProjectID: p1.ID, Search: "lovelace"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, err := st.ListLicenses(ctx, tc.f)
			must(t, err)
			var want []int64
			for _, n := range tc.want {
				want = append(want, ids[n])
			}
			if got := licenseIDs(list); !slices.Equal(got, want) {
				t.Fatalf("ids = %v, want %v (%v)", got, want, tc.want)
			}
			n, err := st.CountMatchingLicenses(ctx, tc.f)
			must(t, err)
			if n != int64(len(want)) {
				t.Fatalf("count = %d, want %d", n, len(want))
			}
		})
	}
	// Keyset pages under a filter.
	page, err := st.ListLicenses(ctx, core.LicenseFilter{OrgID: o.ID, Metadata: map[string]string{"plan": "gold"}, Limit: 2})
	must(t, err)
	next, err := st.ListLicenses(ctx, core.LicenseFilter{OrgID: o.ID, Metadata: map[string]string{"plan": "gold"}, Limit: 2,
		BeforeID: page[1].ID})
	must(t, err)
	if got := append(licenseIDs(page), licenseIDs(next)...); !slices.Equal(got, []int64{ids["d"], ids["c"], ids["a"]}) {
		t.Fatalf("pages = %v", got)
	}
}
