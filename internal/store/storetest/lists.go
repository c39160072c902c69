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

// testAPIKeyDisable: disabled_at is set and cleared by UpdateAPIKey, read
// back by every read (the authentication lookup included), and the
// listing's status, environment and project filters select by it.
func testAPIKeyDisable(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	mk := func(n byte, mod func(k *core.APIKey)) *core.APIKey {
		t.Helper()
		k := newKey(o, u, n)
		if mod != nil {
			mod(k)
		}
		must(t, st.CreateAPIKey(ctx, k))
		return k
	}
	active := mk(1, nil)
	disabled := mk(2, func(k *core.APIKey) { k.ProjectID = p.ID })
	revoked := mk(3, nil)
	past := T0.Add(-time.Hour)
	expired := mk(4, func(k *core.APIKey) { k.ExpiresAt = &past; k.Env = core.EnvTest; k.PublicID = "pk_test_D" })

	at := T0.Add(time.Minute)
	on := &at
	got, err := st.UpdateAPIKey(ctx, disabled.ID, core.APIKeyUpdate{DisabledAt: &on})
	must(t, err)
	if got.DisabledAt == nil || !got.DisabledAt.Equal(ts(at)) {
		t.Fatalf("disabled_at = %v, want %v", got.DisabledAt, at)
	}
	ko, err := st.APIKeyOwnerByDigest(ctx, disabled.Digest)
	must(t, err)
	if ko.Key.DisabledAt == nil {
		t.Fatal("the authentication lookup does not read disabled_at")
	}
	_, err = st.RevokeAPIKey(ctx, revoked.ID, T0)
	must(t, err)
	// A revoked key that is also disabled counts as revoked only.
	_, err = st.UpdateAPIKey(ctx, revoked.ID, core.APIKeyUpdate{DisabledAt: &on})
	must(t, err)

	tests := []struct {
		name string
		f    core.APIKeyFilter
		want []int64
	}{
		{"active", core.APIKeyFilter{Status: core.KeyActive}, []int64{active.ID}},
		{"disabled", core.APIKeyFilter{Status: core.KeyDisabled}, []int64{disabled.ID}},
		{"revoked", core.APIKeyFilter{Status: core.KeyRevoked}, []int64{revoked.ID}},
		{"expired", core.APIKeyFilter{Status: core.KeyExpired}, []int64{expired.ID}},
		{"unknown status", core.APIKeyFilter{Status: "bogus"}, nil},
		{"test environment", core.APIKeyFilter{Env: core.EnvTest}, []int64{expired.ID}},
		{"project", core.APIKeyFilter{ProjectID: p.ID}, []int64{disabled.ID}},
		{"global only", core.APIKeyFilter{GlobalOnly: true}, []int64{expired.ID, revoked.ID, active.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.OrgID, f.Now, f.Limit = o.ID, T0, 50
			ks, err := st.ListAPIKeys(ctx, f)
			must(t, err)
			var ids []int64
			for _, k := range ks {
				ids = append(ids, k.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
		})
	}

	// Enabling clears it.
	var none *time.Time
	got, err = st.UpdateAPIKey(ctx, disabled.ID, core.APIKeyUpdate{DisabledAt: &none})
	must(t, err)
	if got.DisabledAt != nil {
		t.Fatalf("enabled key keeps disabled_at %v", got.DisabledAt)
	}
	again, err := st.APIKey(ctx, disabled.ID)
	must(t, err)
	if again.DisabledAt != nil || again.Status(T0) != core.KeyActive {
		t.Fatalf("re-read: %+v", again)
	}
}

// testLicenseListing: the expiry window, every sort column in both
// directions (ties by ID, missing values placed alike on both backends)
// and offset pages.
func testLicenseListing(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, _ := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true}
	must(t, st.CreateProject(ctx, p))
	day := 24 * time.Hour
	ids := map[string]int64{}
	add := func(name, title string, customer *string, status string, expires *time.Time) {
		t.Helper()
		l := &core.License{ProjectID: p.ID, KeyDigest: fmt.Appendf(nil, "digest-listing-%017s", name), KeyEnc: []byte{1},
			Title: title, ValidateAgainst: core.ValidateLicenseDomains, CustomerName: customer, Status: status, ExpiresAt: expires}
		must(t, st.CreateLicense(ctx, l))
		ids[name] = l.ID
	}
	in := func(d time.Duration) *time.Time { t := T0.Add(d); return &t }
	add("a", "delta", strp("Carol"), core.LicenseActive, in(3*day))
	add("b", "Alpha", nil, core.LicenseSuspended, nil)
	add("c", "charlie", strp("alice"), core.LicenseRevoked, in(40*day))
	add("d", "bravo", strp("Bob"), core.LicenseActive, in(-day))
	add("e", "alpha", nil, core.LicenseActive, in(3*day))

	tests := []struct {
		name string
		f    core.LicenseFilter
		want string
	}{
		{"newest first", core.LicenseFilter{}, "edcba"},
		{"created ascending", core.LicenseFilter{Sort: core.LicenseSortCreated, Asc: true}, "abcde"},
		{"title, any case, ties by id", core.LicenseFilter{Sort: core.LicenseSortTitle, Asc: true}, "bedca"},
		{"title descending", core.LicenseFilter{Sort: core.LicenseSortTitle}, "acdeb"},
		{"customer, none last", core.LicenseFilter{Sort: core.LicenseSortCustomer, Asc: true}, "cdabe"},
		{"customer descending, none first", core.LicenseFilter{Sort: core.LicenseSortCustomer}, "ebadc"},
		{"status", core.LicenseFilter{Sort: core.LicenseSortStatus, Asc: true}, "adecb"},
		{"expires, perpetual last", core.LicenseFilter{Sort: core.LicenseSortExpires, Asc: true}, "daecb"},
		{"expires descending, perpetual first", core.LicenseFilter{Sort: core.LicenseSortExpires}, "bcead"},
		{"expiry window", core.LicenseFilter{ExpiresFrom: T0, ExpiresBefore: T0.Add(30 * day)}, "ea"},
		{"expired", core.LicenseFilter{ExpiresBefore: T0}, "d"},
		{"no expiry", core.LicenseFilter{NoExpiry: true}, "b"},
		{"offset page", core.LicenseFilter{Sort: core.LicenseSortTitle, Asc: true, Offset: 2, Limit: 2}, "dc"},
		{"offset past the end", core.LicenseFilter{Offset: 10}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.ProjectID = p.ID
			list, err := st.ListLicenses(ctx, f)
			must(t, err)
			var want []int64
			for _, r := range tc.want {
				want = append(want, ids[string(r)])
			}
			if got := licenseIDs(list); !slices.Equal(got, want) {
				t.Fatalf("ids = %v, want %v (%s)", got, want, tc.want)
			}
			if f.Offset == 0 && f.Limit == 0 {
				n, err := st.CountMatchingLicenses(ctx, f)
				must(t, err)
				if n != int64(len(want)) {
					t.Fatalf("count = %d, want %d", n, len(want))
				}
			}
		})
	}
}
