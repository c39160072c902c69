package storetest

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testFactors covers second factors: an authenticator secret confirmed by
// its first step and no step accepted twice (also when requests race),
// recovery codes spent once, passkeys listed, renamed, removed and found
// by credential ID, a session's verification time, the organization's
// policy, and the admin's removal of everything.
func testFactors(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	org, u := Fixture(t, st, "Factors", "factors@example.com", core.RoleOwner)
	_, other := Fixture(t, st, "Factors", "other@example.com", core.RoleDeveloper)

	wantCode(t, func() error { _, err := st.TOTPFactor(ctx, u.ID); return err }(), core.ENotFound)
	wantCode(t, st.UseTOTPStep(ctx, u.ID, 5, clock.Now()), core.ENotFound)
	has, err := st.HasSecondFactor(ctx, u.ID)
	must(t, err)
	if has {
		t.Fatal("a user without factors has one")
	}

	must(t, st.SaveTOTP(ctx, &core.TOTPFactor{UserID: u.ID, SecretEnc: []byte("sealed-1")}))
	f, err := st.TOTPFactor(ctx, u.ID)
	must(t, err)
	if f.ConfirmedAt != nil || f.LastStep != 0 || !bytes.Equal(f.SecretEnc, []byte("sealed-1")) {
		t.Fatalf("saved totp = %+v", f)
	}
	if has, _ = st.HasSecondFactor(ctx, u.ID); has {
		t.Fatal("an unconfirmed authenticator counts as a factor")
	}
	must(t, st.UseTOTPStep(ctx, u.ID, 100, clock.Now()))
	wantCode(t, st.UseTOTPStep(ctx, u.ID, 100, clock.Now()), core.EConflict)
	wantCode(t, st.UseTOTPStep(ctx, u.ID, 99, clock.Now()), core.EConflict)
	f, _ = st.TOTPFactor(ctx, u.ID)
	if f.ConfirmedAt == nil || f.LastStep != 100 {
		t.Fatalf("after the first code: %+v", f)
	}
	if has, _ = st.HasSecondFactor(ctx, u.ID); !has {
		t.Fatal("a confirmed authenticator is not a factor")
	}

	// Requests racing with the same step: exactly one passes.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := st.UseTOTPStep(ctx, u.ID, 101, clock.Now()); err == nil {
				wins.Add(1)
			} else if !core.IsCode(err, core.EConflict) {
				t.Errorf("racing step: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d racing requests passed with one code", wins.Load())
	}

	// Recovery codes.
	codes := [][]byte{[]byte("digest-a"), []byte("digest-b"), []byte("digest-c")}
	must(t, st.ReplaceRecoveryCodes(ctx, u.ID, codes))
	if n, err := st.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 3 {
		t.Fatalf("codes left = %d, %v", n, err)
	}
	must(t, st.UseRecoveryCode(ctx, u.ID, []byte("digest-b"), clock.Now()))
	wantCode(t, st.UseRecoveryCode(ctx, u.ID, []byte("digest-b"), clock.Now()), core.ENotFound)
	wantCode(t, st.UseRecoveryCode(ctx, other.ID, []byte("digest-a"), clock.Now()), core.ENotFound)
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID); n != 2 {
		t.Fatalf("after one use: %d left", n)
	}
	must(t, st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("digest-d")}))
	wantCode(t, st.UseRecoveryCode(ctx, u.ID, []byte("digest-a"), clock.Now()), core.ENotFound)
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID); n != 1 {
		t.Fatalf("after regeneration: %d left", n)
	}

	// Passkeys.
	pk := &core.Passkey{UserID: other.ID, CredentialID: []byte{1, 2, 3}, Name: "Laptop", Credential: []byte(`{"id":"AQID"}`)}
	must(t, st.CreatePasskey(ctx, pk))
	if pk.ID == 0 || !pk.CreatedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("created passkey = %+v", pk)
	}
	wantCode(t, st.CreatePasskey(ctx, &core.Passkey{UserID: u.ID, CredentialID: []byte{1, 2, 3}, Name: "Copy", Credential: []byte(`{}`)}),
		core.EConflict)
	if has, _ = st.HasSecondFactor(ctx, other.ID); !has {
		t.Fatal("a passkey is not a factor")
	}
	got, err := st.PasskeyByCredentialID(ctx, []byte{1, 2, 3})
	must(t, err)
	if got.ID != pk.ID || got.UserID != other.ID || got.LastUsedAt != nil {
		t.Fatalf("by credential = %+v", got)
	}
	wantCode(t, func() error { _, err := st.PasskeyByCredentialID(ctx, []byte{9}); return err }(), core.ENotFound)
	clock.Advance(time.Minute)
	must(t, st.UpdatePasskeyUse(ctx, pk.ID, []byte(`{"id":"AQID","n":2}`), clock.Now()))
	wantCode(t, st.RenamePasskey(ctx, u.ID, pk.ID, "Not mine"), core.ENotFound)
	must(t, st.RenamePasskey(ctx, other.ID, pk.ID, "Work laptop"))
	list, err := st.Passkeys(ctx, other.ID)
	must(t, err)
	if len(list) != 1 || list[0].Name != "Work laptop" || string(list[0].Credential) != `{"id":"AQID","n":2}` ||
		list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("passkeys = %+v", list)
	}
	wantCode(t, st.RenamePasskey(ctx, other.ID, pk.ID, "bad\x00name"), core.EInvalid)
	wantCode(t, st.DeletePasskey(ctx, u.ID, pk.ID), core.ENotFound)
	must(t, st.DeletePasskey(ctx, other.ID, pk.ID))
	if list, _ = st.Passkeys(ctx, other.ID); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}

	// The admin's escape hatch removes everything at once.
	must(t, st.CreatePasskey(ctx, &core.Passkey{UserID: u.ID, CredentialID: []byte{4}, Name: "Key", Credential: []byte(`{}`)}))
	must(t, st.DeleteUserFactors(ctx, u.ID))
	if has, _ = st.HasSecondFactor(ctx, u.ID); has {
		t.Fatal("factors left after DeleteUserFactors")
	}
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("%d recovery codes left after DeleteUserFactors", n)
	}
	wantCode(t, st.DeleteTOTP(ctx, u.ID), core.ENotFound)

	// A session is verified at its creation, and again on re-authentication.
	se := &core.Session{Digest: []byte("factor-session"), UserID: u.ID, OrgID: org.ID, CSRFToken: "t",
		ExpiresAt: clock.Now().Add(time.Hour)}
	must(t, st.CreateSession(ctx, se))
	read, err := st.SessionByDigest(ctx, se.Digest, clock.Now())
	must(t, err)
	if !read.VerifiedAt.Equal(read.CreatedAt) {
		t.Fatalf("verified %v, created %v", read.VerifiedAt, read.CreatedAt)
	}
	clock.Advance(time.Minute)
	must(t, st.SetSessionVerified(ctx, se.Digest, clock.Now()))
	read, _ = st.SessionByDigest(ctx, se.Digest, clock.Now())
	if !read.VerifiedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("verified = %v, want %v", read.VerifiedAt, clock.Now())
	}
	wantCode(t, st.SetSessionVerified(ctx, []byte("nope"), clock.Now()), core.ENotFound)

	// The organization's policy.
	if req, err := st.RequiresSecondFactor(ctx, org.ID); err != nil || req {
		t.Fatalf("new organization requires a factor: %v %v", req, err)
	}
	must(t, st.SetRequireSecondFactor(ctx, org.ID, true))
	if req, _ := st.RequiresSecondFactor(ctx, org.ID); !req {
		t.Fatal("policy not stored")
	}
	wantCode(t, st.SetRequireSecondFactor(ctx, 99999, true), core.ENotFound)
	wantCode(t, func() error { _, err := st.RequiresSecondFactor(ctx, 99999); return err }(), core.ENotFound)
}
