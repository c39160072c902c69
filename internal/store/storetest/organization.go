package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testOrganizationRenameDelete: a rename keeps the slug and refuses a name
// taken by another organization; a delete takes everything the
// organization holds, leaves the other organizations alone, and moves the
// sessions of members who belong elsewhere to their other organization.
func testOrganizationRenameDelete(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "doomed", nil, nil)
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	alice, err := st.UserByEmail(ctx, "alice@example.com")
	must(t, err)
	other, bob := Fixture(t, st, "Other", "bob@example.com", core.RoleOwner)
	must(t, st.CreateMembership(ctx, &core.Membership{OrgID: o.ID, UserID: bob.ID, Role: core.RoleAdmin}))

	clock.Advance(time.Minute)
	renamed, err := st.RenameOrganization(ctx, o.ID, "Acme Renamed")
	must(t, err)
	if renamed.Name != "Acme Renamed" || renamed.Slug != o.Slug || !renamed.UpdatedAt.Equal(ts(clock.Now())) {
		t.Fatalf("renamed = %+v (slug was %q)", renamed, o.Slug)
	}
	_, err = st.RenameOrganization(ctx, o.ID, "OTHER")
	wantCode(t, err, core.EConflict)
	_, err = st.RenameOrganization(ctx, o.ID+1000, "Nobody")
	wantCode(t, err, core.ENotFound)
	_, err = st.RenameOrganization(ctx, o.ID, "bad\x00name")
	wantCode(t, err, core.EInvalid)
	if got, err := st.Organization(ctx, o.ID); err != nil || got.Name != "Acme Renamed" {
		t.Fatalf("after refused renames: %+v, %v", got, err)
	}

	key := newKey(o, alice, 1)
	must(t, st.CreateAPIKey(ctx, key))
	otherKey := newKey(other, bob, 2)
	must(t, st.CreateAPIKey(ctx, otherKey))
	ep := newEndpoint(t, st, o.ID, false)
	aliceSession := []byte("alice-session-digest-0123456789ab")
	bobSession := []byte("bob-session-digest-0123456789abcd")
	for _, s := range []*core.Session{
		{Digest: aliceSession, UserID: alice.ID, OrgID: o.ID, CSRFToken: "a", ExpiresAt: T0.Add(time.Hour)},
		{Digest: bobSession, UserID: bob.ID, OrgID: o.ID, CSRFToken: "b", ExpiresAt: T0.Add(time.Hour)},
	} {
		must(t, st.CreateSession(ctx, s))
	}

	must(t, st.DeleteOrganization(ctx, o.ID))
	wantCode(t, st.DeleteOrganization(ctx, o.ID), core.ENotFound)
	_, err = st.Organization(ctx, o.ID)
	wantCode(t, err, core.ENotFound)
	_, err = st.Project(ctx, l.ProjectID)
	wantCode(t, err, core.ENotFound)
	_, err = st.License(ctx, l.ID)
	wantCode(t, err, core.ENotFound)
	_, err = st.APIKeyOwnerByDigest(ctx, key.Digest)
	wantCode(t, err, core.ENotFound)
	_, err = st.WebhookEndpoint(ctx, ep.ID)
	wantCode(t, err, core.ENotFound)
	_, err = st.Membership(ctx, o.ID, bob.ID)
	wantCode(t, err, core.ENotFound)
	// Alice belonged to Acme only: her session is gone. Bob's moved to
	// his other organization.
	_, err = st.SessionByDigest(ctx, aliceSession, clock.Now())
	wantCode(t, err, core.ENotFound)
	bs, err := st.SessionByDigest(ctx, bobSession, clock.Now())
	must(t, err)
	if bs.OrgID != other.ID {
		t.Fatalf("bob's session is in organization %d, want %d", bs.OrgID, other.ID)
	}
	// The users themselves and the other organization stay.
	_, err = st.User(ctx, alice.ID)
	must(t, err)
	if _, err := st.APIKeyOwnerByDigest(ctx, otherKey.Digest); err != nil {
		t.Fatalf("the other organization's key: %v", err)
	}
	if _, err := st.Membership(ctx, other.ID, bob.ID); err != nil {
		t.Fatalf("bob's other membership: %v", err)
	}
}
