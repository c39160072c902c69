package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testLicenseModes: LicenseFilter.Mode keeps live or test licenses (issue
// 15), in lists and counts, per project and across an organization, and
// with the other filters.
func testLicenseModes(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p1 := &core.Project{OrgID: o.ID, Name: "P1", Slug: "p1", IsActive: true}
	p2 := &core.Project{OrgID: o.ID, Name: "P2", Slug: "p2", IsActive: true}
	must(t, st.CreateProject(ctx, p1))
	must(t, st.CreateProject(ctx, p2))
	ids := map[int64]string{}
	for i, c := range []struct {
		name   string
		p      *core.Project
		test   bool
		status string
	}{{"live1", p1, false, core.LicenseActive}, {"test1", p1, true, core.LicenseActive}, {"test1s", p1, true, core.LicenseSuspended},
		{"live2", p2, false, core.LicenseActive}, {"test2", p2, true, core.LicenseActive}} {
		l := &core.License{ProjectID: c.p.ID, KeyDigest: fmt.Appendf(nil, "digest-mode-%020d", i), KeyEnc: []byte{1},
			Title: c.name, ValidateAgainst: core.ValidateLicenseDomains, IsTestLicense: c.test, Status: c.status}
		must(t, st.CreateLicense(ctx, l))
		ids[l.ID] = c.name
	}
	for _, tc := range []struct {
		f    core.LicenseFilter
		want []string
	}{
		{core.LicenseFilter{ProjectID: p1.ID}, []string{"live1", "test1", "test1s"}},
		{core.LicenseFilter{ProjectID: p1.ID, Mode: core.ModeLive}, []string{"live1"}},
		{core.LicenseFilter{ProjectID: p1.ID, Mode: core.ModeTest}, []string{"test1", "test1s"}},
		{core.LicenseFilter{ProjectID: p1.ID, Mode: core.ModeTest, Status: core.LicenseActive}, []string{"test1"}},
		{core.LicenseFilter{OrgID: o.ID, Mode: core.ModeTest}, []string{"test1", "test1s", "test2"}},
		{core.LicenseFilter{OrgID: o.ID, Mode: core.ModeLive}, []string{"live1", "live2"}},
		{core.LicenseFilter{OrgID: o.ID, Mode: core.ModeTest, IDs: []int64{}}, nil},
	} {
		ls, err := st.ListLicenses(ctx, tc.f)
		must(t, err)
		var got []string
		for _, l := range ls {
			got = append(got, ids[l.ID])
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
		n, err := st.CountMatchingLicenses(ctx, tc.f)
		must(t, err)
		if n != int64(len(tc.want)) {
			t.Errorf("%+v: count %d, want %d", tc.f, n, len(tc.want))
		}
	}
}
