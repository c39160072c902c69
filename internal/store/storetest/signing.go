package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func signingKey(n int) *core.SigningKey {
	return &core.SigningKey{KID: fmt.Sprintf("%016x", n), PublicKey: bytes.Repeat([]byte{byte(n)}, 32), PrivateEnc: []byte(fmt.Sprintf("sealed-%d", n))}
}

// testSigningKeys covers the keyring's life: the first key recorded once
// (also when nodes race to record it), rotation demoting the active key,
// retirement wiping the private part and refusing the active key.
func testSigningKeys(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	keys, err := st.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("a fresh database holds %d signing keys", len(keys))
	}

	// Nodes starting together all try to record the first key: one wins.
	var wg sync.WaitGroup
	for i := 1; i <= 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.EnsureSigningKey(ctx, signingKey(i)); err != nil {
				t.Errorf("ensure %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	keys, err = st.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 1 || keys[0].Status != core.SigningKeyActive || !keys[0].CreatedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
		t.Fatalf("after racing ensures: %+v", keys)
	}
	first := keys[0]
	must(t, st.EnsureSigningKey(ctx, signingKey(9)))
	if keys, _ = st.SigningKeys(ctx); len(keys) != 1 {
		t.Fatalf("ensure with a key present added one: %+v", keys)
	}

	clock.Advance(time.Minute)
	second := signingKey(20)
	must(t, st.InTx(ctx, func(tx core.Store) error { return tx.RotateSigningKey(ctx, second) }))
	if second.ID == 0 || second.Status != core.SigningKeyActive {
		t.Fatalf("rotated key = %+v", second)
	}
	keys, err = st.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 2 || keys[0].KID != second.KID || keys[0].Status != core.SigningKeyActive ||
		keys[1].KID != first.KID || keys[1].Status != core.SigningKeyVerifying || !bytes.Equal(keys[1].PrivateEnc, first.PrivateEnc) {
		t.Fatalf("after rotation: %+v", keys)
	}
	// A kid is never reused: rotating to a key already held fails whole.
	wantCode(t, st.InTx(ctx, func(tx core.Store) error {
		return tx.RotateSigningKey(ctx, &core.SigningKey{KID: first.KID, PublicKey: first.PublicKey, PrivateEnc: first.PrivateEnc})
	}), core.EConflict)
	if keys, _ = st.SigningKeys(ctx); len(keys) != 2 || keys[0].KID != second.KID {
		t.Fatalf("a refused rotation changed the keys: %+v", keys)
	}

	wantCode(t, st.RetireSigningKey(ctx, second.KID), core.EConflict)
	wantCode(t, st.RetireSigningKey(ctx, "0000000000000bad"), core.ENotFound)
	clock.Advance(time.Minute)
	must(t, st.RetireSigningKey(ctx, first.KID))
	must(t, st.RetireSigningKey(ctx, first.KID)) // again: nothing to do
	keys, err = st.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 2 || keys[1].Status != core.SigningKeyRetired || len(keys[1].PrivateEnc) != 0 ||
		keys[1].RetiredAt == nil || !keys[1].RetiredAt.Equal(clock.Now().Truncate(time.Microsecond)) || !bytes.Equal(keys[1].PublicKey, first.PublicKey) {
		t.Fatalf("after retirement: %+v", keys[1])
	}
}
