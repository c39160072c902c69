package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testInvitations: invitations by token digest, renewed per email and
// organization while pending, used once, revocable, bounded by expiry.
func testInvitations(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o1, _ := Fixture(t, st, "One", "alice@example.com", core.RoleOwner)
	o2, _ := Fixture(t, st, "Two", "bob@example.com", core.RoleOwner)
	week := clock.Now().Add(7 * 24 * time.Hour)
	bob := &core.Invitation{OrgID: o1.ID, Email: "bob@example.com", Role: core.RoleViewer, Digest: []byte("digest-bob-1"),
		InvitedBy: "alice@example.com", ExpiresAt: week}
	must(t, st.CreateInvitation(ctx, bob))
	clock.Advance(time.Second)
	carol := &core.Invitation{OrgID: o1.ID, Email: "carol@example.com", Role: core.RoleDeveloper, Digest: []byte("digest-carol"), ExpiresAt: week}
	must(t, st.CreateInvitation(ctx, carol))
	must(t, st.CreateInvitation(ctx, &core.Invitation{OrgID: o2.ID, Email: "carol@example.com", Role: core.RoleAdmin,
		Digest: []byte("digest-carol-2"), ExpiresAt: week}))
	clock.Advance(time.Second)
	// Inviting again renews the pending invitation (same ID, new token,
	// role and date): one per email and organization.
	again := &core.Invitation{OrgID: o1.ID, Email: "bob@example.com", Role: core.RoleAdmin, Digest: []byte("digest-bob-2"),
		InvitedBy: "alice@example.com", ExpiresAt: week.Add(time.Hour)}
	must(t, st.CreateInvitation(ctx, again))
	if again.ID != bob.ID {
		t.Fatalf("renewed invitation has ID %d, want %d", again.ID, bob.ID)
	}
	invs, err := st.ListInvitations(ctx, o1.ID)
	must(t, err)
	if len(invs) != 2 || invs[0].Email != "carol@example.com" || invs[1].Email != "bob@example.com" || invs[1].Role != core.RoleAdmin ||
		invs[1].InvitedBy != "alice@example.com" || !invs[1].CreatedAt.Equal(ts(clock.Now())) || !invs[1].ExpiresAt.Equal(ts(week.Add(time.Hour))) {
		t.Fatalf("invitations of One = %+v", invs)
	}
	// The old token is gone with the renewal.
	_, err = st.InvitationByDigest(ctx, []byte("digest-bob-1"))
	wantCode(t, err, core.ENotFound)
	got, err := st.InvitationByDigest(ctx, []byte("digest-bob-2"))
	must(t, err)
	if got.ID != bob.ID || got.OrgName != "One" || !got.Pending(clock.Now()) {
		t.Fatalf("invitation by digest = %+v", got)
	}
	one, err := st.Invitation(ctx, o1.ID, carol.ID)
	must(t, err)
	if one.Email != "carol@example.com" || string(one.Digest) != "digest-carol" {
		t.Fatalf("invitation = %+v", one)
	}
	// Another organization's invitation is not found by its ID.
	_, err = st.Invitation(ctx, o2.ID, carol.ID)
	wantCode(t, err, core.ENotFound)
	wantCode(t, st.RevokeInvitation(ctx, o2.ID, carol.ID, clock.Now()), core.ENotFound)

	// Renewing gives a new token and expiry.
	must(t, st.RenewInvitation(ctx, o1.ID, carol.ID, []byte("digest-carol-new"), week.Add(2*time.Hour)))
	_, err = st.InvitationByDigest(ctx, []byte("digest-carol"))
	wantCode(t, err, core.ENotFound)

	// One use: the second fails, as does a revoked or expired one.
	u, err := st.UserByEmail(ctx, "bob@example.com")
	must(t, err)
	must(t, st.UseInvitation(ctx, bob.ID, u.ID, clock.Now()))
	wantCode(t, st.UseInvitation(ctx, bob.ID, u.ID, clock.Now()), core.ENotFound)
	wantCode(t, st.RevokeInvitation(ctx, o1.ID, bob.ID, clock.Now()), core.ENotFound)
	wantCode(t, st.RenewInvitation(ctx, o1.ID, bob.ID, []byte("digest-bob-3"), week), core.ENotFound)
	used, err := st.InvitationByDigest(ctx, []byte("digest-bob-2"))
	must(t, err)
	if used.AcceptedAt == nil || used.Pending(clock.Now()) {
		t.Fatalf("used invitation = %+v", used)
	}
	must(t, st.RevokeInvitation(ctx, o1.ID, carol.ID, clock.Now()))
	wantCode(t, st.RevokeInvitation(ctx, o1.ID, carol.ID, clock.Now()), core.ENotFound)
	wantCode(t, st.UseInvitation(ctx, carol.ID, u.ID, clock.Now()), core.ENotFound)
	invs, err = st.ListInvitations(ctx, o1.ID)
	must(t, err)
	if len(invs) != 0 {
		t.Fatalf("used and revoked invitations are listed: %+v", invs)
	}
	// Once used or revoked, the email may be invited again: a new row.
	fresh := &core.Invitation{OrgID: o1.ID, Email: "carol@example.com", Role: core.RoleViewer, Digest: []byte("digest-carol-3"), ExpiresAt: week}
	must(t, st.CreateInvitation(ctx, fresh))
	if fresh.ID == carol.ID {
		t.Fatal("a revoked invitation was renewed instead of a new one made")
	}
	// Expired: listed (to resend) but not usable.
	two, err := st.ListInvitations(ctx, o2.ID)
	must(t, err)
	if len(two) != 1 {
		t.Fatalf("invitations of Two = %+v", two)
	}
	clock.Set(week.Add(time.Second))
	wantCode(t, st.UseInvitation(ctx, two[0].ID, u.ID, clock.Now()), core.ENotFound)
	if two, err = st.ListInvitations(ctx, o2.ID); err != nil || len(two) != 1 || two[0].Pending(clock.Now()) {
		t.Fatalf("expired invitations of Two = %+v, %v", two, err)
	}
	// Invitations never make a member.
	_, err = st.Membership(ctx, o1.ID, u.ID)
	wantCode(t, err, core.ENotFound)
}

// testPasswordResets: a reset is usable once, until it expires, and using
// one drops the user's others.
func testPasswordResets(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	_, u := Fixture(t, st, "One", "alice@example.com", core.RoleOwner)
	hour := clock.Now().Add(time.Hour)
	must(t, st.CreatePasswordReset(ctx, &core.PasswordReset{Digest: []byte("reset-1"), UserID: u.ID, ExpiresAt: hour}))
	must(t, st.CreatePasswordReset(ctx, &core.PasswordReset{Digest: []byte("reset-2"), UserID: u.ID, ExpiresAt: hour}))
	wantCode(t, st.CreatePasswordReset(ctx, &core.PasswordReset{Digest: []byte("reset-2"), UserID: u.ID, ExpiresAt: hour}), core.EConflict)
	pr, err := st.PasswordReset(ctx, []byte("reset-1"), clock.Now())
	must(t, err)
	if pr.UserID != u.ID || !pr.ExpiresAt.Equal(ts(hour)) {
		t.Fatalf("reset = %+v", pr)
	}
	_, err = st.PasswordReset(ctx, []byte("unknown"), clock.Now())
	wantCode(t, err, core.ENotFound)
	// Expired: neither read nor used.
	_, err = st.PasswordReset(ctx, []byte("reset-1"), hour)
	wantCode(t, err, core.ENotFound)
	_, err = st.UsePasswordReset(ctx, []byte("reset-1"), hour)
	wantCode(t, err, core.ENotFound)

	id, err := st.UsePasswordReset(ctx, []byte("reset-1"), clock.Now())
	must(t, err)
	if id != u.ID {
		t.Fatalf("used reset's user = %d, want %d", id, u.ID)
	}
	_, err = st.UsePasswordReset(ctx, []byte("reset-1"), clock.Now())
	wantCode(t, err, core.ENotFound)
	// The other reset of the user went with the first use.
	_, err = st.PasswordReset(ctx, []byte("reset-2"), clock.Now())
	wantCode(t, err, core.ENotFound)

	// Creating a reset drops the user's expired ones (they are not found
	// either way; the table does not grow without bound).
	must(t, st.CreatePasswordReset(ctx, &core.PasswordReset{Digest: []byte("reset-3"), UserID: u.ID, ExpiresAt: hour}))
	clock.Set(hour.Add(time.Minute))
	must(t, st.CreatePasswordReset(ctx, &core.PasswordReset{Digest: []byte("reset-4"), UserID: u.ID, ExpiresAt: hour.Add(time.Hour)}))
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM password_resets WHERE user_id = $1`, u.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d resets stored, want 1 (the expired ones dropped)", n)
	}
}
