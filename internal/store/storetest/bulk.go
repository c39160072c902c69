package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testBulkLicenseFilters covers the state a bulk action folds into its
// filter: a set of statuses, not expired at a time, having an expiry;
// listing and counting agree.
func testBulkLicenseFilters(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	now := clock.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for i, l := range []struct {
		name, status string
		expires      *time.Time
	}{
		{"active", core.LicenseActive, nil},
		{"active-expiring", core.LicenseActive, &future},
		{"revoked", core.LicenseRevoked, nil},
		{"revoked-expired", core.LicenseRevoked, &past},
		{"suspended-expiring", core.LicenseSuspended, &future},
		{"suspended-at-now", core.LicenseSuspended, &now}, // expired: not before its expiry
	} {
		lic := &core.License{ProjectID: p.ID, KeyDigest: fmt.Appendf(nil, "digest-bulk-%020d", i), KeyEnc: []byte{1},
			Title: l.name, Status: l.status, ExpiresAt: l.expires, ValidateAgainst: core.ValidateLicenseDomains}
		must(t, st.CreateLicense(ctx, lic))
	}
	for _, tc := range []struct {
		name string
		f    core.LicenseFilter
		want []string // newest first
	}{
		{"statuses", core.LicenseFilter{Statuses: []string{core.LicenseRevoked, core.LicenseSuspended}},
			[]string{"suspended-at-now", "suspended-expiring", "revoked-expired", "revoked"}},
		{"empty statuses match nothing", core.LicenseFilter{Statuses: []string{}}, nil},
		{"status and statuses both hold", core.LicenseFilter{Status: core.LicenseRevoked, Statuses: []string{core.LicenseRevoked, core.LicenseSuspended}},
			[]string{"revoked-expired", "revoked"}},
		{"live at now", core.LicenseFilter{Statuses: []string{core.LicenseRevoked, core.LicenseSuspended}, LiveAt: now},
			[]string{"suspended-expiring", "revoked"}},
		{"expiring", core.LicenseFilter{Expiring: true},
			[]string{"suspended-at-now", "suspended-expiring", "revoked-expired", "active-expiring"}},
		{"expiring and live", core.LicenseFilter{Expiring: true, LiveAt: now}, []string{"suspended-expiring", "active-expiring"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.ProjectID = p.ID
			tc.f.Limit = 100
			ls, err := st.ListLicenses(ctx, tc.f)
			must(t, err)
			var got []string
			for _, l := range ls {
				got = append(got, l.Title)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			n, err := st.CountMatchingLicenses(ctx, tc.f)
			must(t, err)
			if n != int64(len(tc.want)) {
				t.Fatalf("counted %d, want %d", n, len(tc.want))
			}
		})
	}
}

// testAPIKeyBulkFilter covers the bulk revocation's key filter: name
// prefix (case-insensitive, LIKE characters literal), environment, last
// used before (never-used keys included) and unrevoked.
func testAPIKeyBulkFilter(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, alice := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	now := clock.Now()
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
	for i, k := range []struct {
		name, env string
		used      *time.Time
		revoked   bool
	}{
		{"CI deploy", core.EnvLive, &old, false},
		{"ci_test", core.EnvTest, nil, false},
		{"ciXtest", core.EnvTest, &recent, false},
		{"ci revoked", core.EnvLive, nil, true},
		{"laptop", core.EnvLive, &recent, false},
	} {
		key := newKey(o, alice, byte(i+1))
		key.Name, key.Env = k.name, k.env
		must(t, st.CreateAPIKey(ctx, key))
		if k.used != nil {
			must(t, st.RecordKeyUses(ctx, []core.KeyUse{{KeyID: key.ID, LastUsedAt: *k.used, LastUsedIP: "192.0.2.1",
				Day: k.used.UTC().Format(time.DateOnly), Count: 1}}))
		}
		if k.revoked {
			_, err := st.RevokeAPIKey(ctx, key.ID, now)
			must(t, err)
		}
	}
	day := now.Add(-24 * time.Hour)
	for _, tc := range []struct {
		name string
		f    core.APIKeyFilter
		want []string // newest first
	}{
		{"prefix, case-insensitive", core.APIKeyFilter{NamePrefix: "CI"}, []string{"ci revoked", "ciXtest", "ci_test", "CI deploy"}},
		{"underscore is literal", core.APIKeyFilter{NamePrefix: "ci_"}, []string{"ci_test"}},
		{"env", core.APIKeyFilter{Env: core.EnvTest}, []string{"ciXtest", "ci_test"}},
		{"last used before, never used included", core.APIKeyFilter{LastUsedBefore: &day}, []string{"ci revoked", "ci_test", "CI deploy"}},
		{"unrevoked", core.APIKeyFilter{Unrevoked: true, NamePrefix: "ci "}, []string{"CI deploy"}},
		{"all together", core.APIKeyFilter{Unrevoked: true, NamePrefix: "ci", LastUsedBefore: &day}, []string{"ci_test", "CI deploy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.OrgID = o.ID
			tc.f.Limit = 100
			ks, err := st.ListAPIKeys(ctx, tc.f)
			must(t, err)
			var got []string
			for _, k := range ks {
				got = append(got, k.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}
}
