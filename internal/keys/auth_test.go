package keys_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// counting wraps the real store and counts the authentication queries.
type counting struct {
	keys.OwnerLookup
	calls  atomic.Int64
	during func() // runs between the query and its answer
}

func (c *counting) APIKeyOwnerByDigest(ctx context.Context, d []byte) (*core.KeyOwner, error) {
	c.calls.Add(1)
	ko, err := c.OwnerLookup.APIKeyOwnerByDigest(ctx, d)
	if c.during != nil {
		c.during()
	}
	return ko, err
}

func setup(t *testing.T) (*counting, *keys.Authenticator, *cache.Set, *storetest.Clock, string, *core.APIKey) {
	t.Helper()
	clock := storetest.NewClock(storetest.T0)
	st, _ := storetest.OpenSQLite(t, clock.Now)
	o, u := storetest.Fixture(t, st, "Acme", "a@example.com", core.RoleOwner)
	m := keys.Mint(core.EnvLive)
	k := &core.APIKey{OrgID: o.ID, UserID: u.ID, Name: "k", PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4,
		Env: core.EnvLive, Scopes: core.NewScopeSet(core.AllScopes...)}
	if err := st.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	c := &counting{OwnerLookup: st}
	set := &cache.Set{}
	return c, keys.NewAuthenticator(c, set, time.Minute, clock.Now), set, clock, m.Secret, k
}

func TestLookupServesFromMemory(t *testing.T) {
	c, a, _, clock, secret, k := setup(t)
	ctx := context.Background()
	for range 100 {
		ko, err := a.Lookup(ctx, secret)
		if err != nil || ko.Key.ID != k.ID || ko.Role != core.RoleOwner {
			t.Fatalf("lookup = %+v, %v", ko, err)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("100 lookups of one key made %d queries, want 1", n)
	}
	unknown := keys.Mint(core.EnvLive).Secret
	for range 100 {
		if _, err := a.Lookup(ctx, unknown); !errors.Is(err, keys.ErrInvalid) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("unknown keys are not cached: %d queries", n)
	}
	for _, bad := range []string{"", "sk_live_x", unknown[:len(unknown)-1] + "0"} {
		if _, err := a.Lookup(ctx, bad); !errors.Is(err, keys.ErrInvalid) {
			t.Fatalf("malformed %q: %v", bad, err)
		}
	}
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("malformed keys reached the store: %d queries", n)
	}
	// The TTL is a safety net: after it the record is read again.
	clock.Advance(time.Minute)
	if _, err := a.Lookup(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 3 {
		t.Fatalf("expired entry not refreshed: %d queries", n)
	}
}

func TestInvalidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(k *core.APIKey) core.Change
		drops  bool
	}{
		{"this key", func(k *core.APIKey) core.Change { return core.Change{Kind: core.ChangeAPIKey, ID: k.ID} }, true},
		{"another key", func(k *core.APIKey) core.Change { return core.Change{Kind: core.ChangeAPIKey, ID: k.ID + 1} }, false},
		{"owner", func(k *core.APIKey) core.Change { return core.Change{Kind: core.ChangeUser, ID: k.UserID} }, true},
		{"membership", func(k *core.APIKey) core.Change {
			return core.Change{Kind: core.ChangeMembership, ID: k.OrgID, ID2: k.UserID}
		}, true},
		{"other membership", func(k *core.APIKey) core.Change {
			return core.Change{Kind: core.ChangeMembership, ID: k.OrgID + 1, ID2: k.UserID}
		}, false},
		{"all", func(*core.APIKey) core.Change { return core.Change{Kind: core.ChangeAll} }, true},
		{"license", func(*core.APIKey) core.Change { return core.Change{Kind: core.ChangeLicense, ID: 1} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, a, set, _, secret, k := setup(t)
			ctx := context.Background()
			if _, err := a.Lookup(ctx, secret); err != nil {
				t.Fatal(err)
			}
			set.Invalidate(tc.change(k))
			if _, err := a.Lookup(ctx, secret); err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if tc.drops {
				want = 2
			}
			if n := c.calls.Load(); n != want {
				t.Fatalf("%d queries, want %d", n, want)
			}
		})
	}
}

// A lookup that read the store before a revocation must not put its stale
// answer into the cache after the revocation's invalidation.
func TestInvalidationDuringLookup(t *testing.T) {
	c, a, set, _, secret, k := setup(t)
	ctx := context.Background()
	c.during = func() {
		c.during = nil
		set.Invalidate(core.Change{Kind: core.ChangeAPIKey, ID: k.ID})
	}
	if _, err := a.Lookup(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("the raced answer was cached: %d queries, want 2", n)
	}
}

func TestAuthorize(t *testing.T) {
	now := storetest.T0
	past := now.Add(-time.Second)
	base := core.KeyOwner{Role: core.RoleDeveloper, Key: core.APIKey{ID: 1, OrgID: 2, UserID: 3, ProjectID: 4, PublicID: "pk_live_x",
		Scopes: core.NewScopeSet(core.ScopeLicensesRead, core.ScopeAPIKeysWrite)}}
	ip := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name   string
		mutate func(ko *core.KeyOwner)
		err    error
		scopes core.ScopeSet
	}{
		{"ok", func(*core.KeyOwner) {}, nil, core.NewScopeSet(core.ScopeLicensesRead, core.ScopeAPIKeysWrite)},
		{"viewer owner", func(ko *core.KeyOwner) { ko.Role = core.RoleViewer }, nil, core.NewScopeSet(core.ScopeLicensesRead)},
		{"removed owner", func(ko *core.KeyOwner) { ko.Role = "" }, keys.ErrInvalid, 0},
		{"disabled owner", func(ko *core.KeyOwner) { ko.UserDisabled = true }, keys.ErrInvalid, 0},
		{"revoked", func(ko *core.KeyOwner) { ko.Key.RevokedAt = &past }, keys.ErrInvalid, 0},
		{"expired", func(ko *core.KeyOwner) { ko.Key.ExpiresAt = &now }, keys.ErrInvalid, 0},
		{"ip allowed", func(ko *core.KeyOwner) { ko.Key.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} }, nil,
			core.NewScopeSet(core.ScopeLicensesRead, core.ScopeAPIKeysWrite)},
		{"ip refused", func(ko *core.KeyOwner) { ko.Key.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, keys.ErrIPNotAllowed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ko := base
			tc.mutate(&ko)
			a, err := keys.Authorize(&ko, ip, "ua", now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (a.Scopes != tc.scopes || a.ProjectID != 4 || a.OrgID != 2 || a.KeyID != 1 || a.Label != "pk_live_x") {
				t.Fatalf("actor = %+v", a)
			}
		})
	}
}

func TestUsageFlush(t *testing.T) {
	clock := storetest.NewClock(storetest.T0)
	st, _ := storetest.OpenSQLite(t, clock.Now)
	o, u := storetest.Fixture(t, st, "Acme", "a@example.com", core.RoleOwner)
	m := keys.Mint(core.EnvLive)
	k := &core.APIKey{OrgID: o.ID, UserID: u.ID, Name: "k", PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4, Env: "live"}
	ctx := context.Background()
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	usage := keys.NewUsage()
	ip := netip.MustParseAddr("192.0.2.1")
	for i := range 10 {
		usage.Record(k.ID, ip, storetest.T0.Add(time.Duration(i)*time.Second))
	}
	usage.Record(k.ID, netip.MustParseAddr("192.0.2.2"), storetest.T0.Add(24*time.Hour))
	last, lastIP, days := usage.Pending(k.ID)
	if !last.Equal(storetest.T0.Add(24*time.Hour)) || lastIP.String() != "192.0.2.2" || days["2026-03-14"] != 10 || days["2026-03-15"] != 1 {
		t.Fatalf("pending = %v %v %v", last, lastIP, days)
	}
	if err := usage.Flush(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, _, days := usage.Pending(k.ID); days != nil {
		t.Fatalf("pending after flush = %v", days)
	}
	got, err := st.KeyUsage(ctx, k.ID, "2026-03-01", "2026-03-31")
	if err != nil || len(got) != 2 || got[0].Count != 10 || got[1].Count != 1 {
		t.Fatalf("stored usage = %v, %v", got, err)
	}
	// A failed flush keeps the counts for the next one.
	usage.Record(k.ID, ip, storetest.T0.Add(25*time.Hour))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := usage.Flush(ctx, st); err == nil {
		t.Fatal("flush to a closed store succeeded")
	}
	if _, _, days := usage.Pending(k.ID); days["2026-03-15"] != 1 {
		t.Fatalf("counts lost after a failed flush: %v", days)
	}
}

// A flood of invented keys costs a bounded amount of memory and leaves the
// key in use cached.
func TestUnknownKeysBounded(t *testing.T) {
	c, a, set, _, secret, _ := setup(t)
	ctx := context.Background()
	for i := range 40_000 {
		if i%10 == 0 {
			if _, err := a.Lookup(ctx, secret); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.Lookup(ctx, keys.Mint(core.EnvLive).Secret); !errors.Is(err, keys.ErrInvalid) {
			t.Fatal(err)
		}
	}
	for _, s := range set.Stats() {
		switch s.Name {
		case "api_key_unknown":
			if s.Entries > keys.MaxUnknownKeys*5/4 {
				t.Fatalf("%d unknown keys remembered", s.Entries)
			}
		case "api_key":
			if s.Hits < 3999 || s.Entries != 1 {
				t.Fatalf("the key in use left the cache during the flood: %+v", s)
			}
		}
	}
	if n := c.calls.Load(); n != 40_001 {
		t.Fatalf("%d queries", n)
	}
}

// The unknown-key cache has the same guard: "no such key", read before
// the key was created and everything was invalidated, is not remembered.
func TestUnknownKeyRacingItsCreation(t *testing.T) {
	c, a, set, _, _, k := setup(t)
	ctx := context.Background()
	m := keys.Mint(core.EnvLive)
	c.during = func() {
		c.during = nil
		nk := &core.APIKey{OrgID: k.OrgID, UserID: k.UserID, Name: "late", PublicID: m.PublicID, Digest: m.Digest, Last4: m.Last4,
			Env: core.EnvLive, Scopes: k.Scopes}
		if err := c.OwnerLookup.(interface {
			CreateAPIKey(context.Context, *core.APIKey) error
		}).CreateAPIKey(ctx, nk); err != nil {
			t.Fatal(err)
		}
		set.Invalidate(core.Change{Kind: core.ChangeAll})
	}
	if _, err := a.Lookup(ctx, m.Secret); !errors.Is(err, keys.ErrInvalid) {
		t.Fatalf("first lookup: %v", err)
	}
	if _, err := a.Lookup(ctx, m.Secret); err != nil {
		t.Fatalf("the raced \"unknown\" was remembered: %v", err)
	}
}
