package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// idemClaim returns a claim on key for apiKey at the clock's time, with
// the lease and lifetime the API uses.
func idemClaim(clock *Clock, apiKey int64, key, body, token string) *core.IdempotencyClaim {
	fp := sha256.Sum256([]byte(body))
	now := clock.Now()
	return &core.IdempotencyClaim{APIKeyID: apiKey, Key: key, Fingerprint: fp[:], Token: token, Now: now,
		LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
}

func wantOutcome(t *testing.T, st *store.Store, c *core.IdempotencyClaim, want core.IdempotencyOutcome) *core.IdempotencyResult {
	t.Helper()
	res, err := st.ClaimIdempotencyKey(context.Background(), c)
	must(t, err)
	if res.Outcome != want {
		t.Fatalf("claim %q (token %s): outcome %d, want %d", c.Key, c.Token, res.Outcome, want)
	}
	return res
}

// testIdempotencyKeys covers the life of a key: claimed once, in use while
// its lease runs, the stored answer replayed exactly, refused with another
// fingerprint, scoped per API key, released, taken over after its lease,
// forgotten after it expires, and pruned in bounded batches.
func testIdempotencyKeys(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	k1, k2 := newKey(o, u, 1), newKey(o, u, 2)
	must(t, st.CreateAPIKey(ctx, k1))
	must(t, st.CreateAPIKey(ctx, k2))

	first := idemClaim(clock, k1.ID, "order-1", "POST /x {a}", "tok-1")
	wantOutcome(t, st, first, core.IdempotencyClaimed)
	wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {a}", "tok-2"), core.IdempotencyInUse)
	wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {b}", "tok-3"), core.IdempotencyMismatch)
	// Keys are per API key: the other key's "order-1" is another row.
	wantOutcome(t, st, idemClaim(clock, k2.ID, "order-1", "POST /x {b}", "tok-4"), core.IdempotencyClaimed)

	resp := &core.StoredResponse{Status: 201, Header: map[string][]string{"Content-Type": {"application/json"}, "Location": {"/x/1"}},
		Body: []byte("{\"id\":1}\n\x00\xff")}
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "order-1", "tok-2", resp); err != nil || ok {
		t.Fatalf("completing with another claim's token: %v, %v", ok, err)
	}
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "order-1", "tok-1", resp); err != nil || !ok {
		t.Fatalf("complete: %v, %v", ok, err)
	}
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "order-1", "tok-1", resp); err != nil || ok {
		t.Fatalf("completing twice: %v, %v", ok, err)
	}
	clock.Advance(time.Hour)
	res := wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {a}", "tok-5"), core.IdempotencyReplay)
	if res.Response.Status != 201 || !bytes.Equal(res.Response.Body, resp.Body) || !reflect.DeepEqual(res.Response.Header, resp.Header) {
		t.Fatalf("replayed %+v, want %+v", res.Response, resp)
	}
	wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {b}", "tok-6"), core.IdempotencyMismatch)
	// Releasing a completed key changes nothing.
	must(t, st.ReleaseIdempotencyKey(ctx, k1.ID, "order-1", "tok-1"))
	wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {a}", "tok-7"), core.IdempotencyReplay)

	// An empty answer without headers replays as empty, not as missing.
	wantOutcome(t, st, idemClaim(clock, k1.ID, "empty", "b", "e1"), core.IdempotencyClaimed)
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "empty", "e1", &core.StoredResponse{Status: 204}); err != nil || !ok {
		t.Fatalf("complete empty: %v, %v", ok, err)
	}
	res = wantOutcome(t, st, idemClaim(clock, k1.ID, "empty", "b", "e2"), core.IdempotencyReplay)
	if res.Response.Status != 204 || res.Response.Body == nil || len(res.Response.Body) != 0 || len(res.Response.Header) != 0 {
		t.Fatalf("empty answer replayed as %+v", res.Response)
	}

	// Released (a 5xx): the next request runs.
	wantOutcome(t, st, idemClaim(clock, k1.ID, "retry", "b", "r1"), core.IdempotencyClaimed)
	must(t, st.ReleaseIdempotencyKey(ctx, k1.ID, "retry", "other"))
	wantOutcome(t, st, idemClaim(clock, k1.ID, "retry", "b", "r2"), core.IdempotencyInUse)
	must(t, st.ReleaseIdempotencyKey(ctx, k1.ID, "retry", "r1"))
	wantOutcome(t, st, idemClaim(clock, k1.ID, "retry", "b", "r3"), core.IdempotencyClaimed)

	// Lease: in use until it runs out (its edge included), then taken
	// over, and the first claim can no longer store its answer.
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "b", "l1"), core.IdempotencyClaimed)
	clock.Advance(time.Minute - time.Microsecond)
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "b", "l2"), core.IdempotencyInUse)
	clock.Advance(time.Microsecond)
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "c", "l3"), core.IdempotencyMismatch)
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "b", "l4"), core.IdempotencyClaimed)
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "lease", "l1", resp); err != nil || ok {
		t.Fatalf("the taken-over claim stored its answer: %v, %v", ok, err)
	}
	must(t, st.ReleaseIdempotencyKey(ctx, k1.ID, "lease", "l1"))
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "b", "l5"), core.IdempotencyInUse)
	if ok, err := st.CompleteIdempotencyKey(ctx, k1.ID, "lease", "l4", resp); err != nil || !ok {
		t.Fatalf("the new claim: %v, %v", ok, err)
	}

	// Expiry: 24 hours after its claim the key is new again, whatever
	// the body, even before the prune job deleted the row.
	clock.Set(T0.Add(24 * time.Hour))
	wantOutcome(t, st, idemClaim(clock, k1.ID, "order-1", "POST /x {zzz}", "tok-8"), core.IdempotencyClaimed)

	// Pruning: only expired rows (k2's order-1, claimed at T0), then at
	// most limit per call.
	n, err := st.PruneIdempotencyKeys(ctx, clock.Now(), 1000)
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d rows at T0+24h, want k2's order-1 alone", n)
	}
	wantOutcome(t, st, idemClaim(clock, k1.ID, "lease", "b", "l6"), core.IdempotencyReplay)
	later := clock.Now().Add(25 * time.Hour)
	for _, want := range []int{2, 2, 0} { // order-1, empty, retry, lease
		n, err = st.PruneIdempotencyKeys(ctx, later, 2)
		must(t, err)
		if n != want {
			t.Fatalf("pruned %d rows with limit 2, want %d", n, want)
		}
	}
	clock.Set(later)
	wantOutcome(t, st, idemClaim(clock, k2.ID, "order-1", "POST /x {a}", "tok-9"), core.IdempotencyClaimed)
}

// testIdempotencyConcurrentClaims has many requests claim one key at once:
// exactly one wins, every other one finds it in use, and after the
// winner's answer every one replays it. On PostgreSQL the claims run on
// separate connections, as two nodes' would.
func testIdempotencyConcurrentClaims(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	k := newKey(o, u, 1)
	must(t, st.CreateAPIKey(ctx, k))
	for round := range 3 {
		key := fmt.Sprintf("race-%d", round)
		const n = 8
		outcomes := make([]core.IdempotencyOutcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				res, err := st.ClaimIdempotencyKey(ctx, idemClaim(clock, k.ID, key, "same", fmt.Sprintf("t%d", i)))
				if err != nil {
					t.Errorf("claim %d: %v", i, err)
					return
				}
				outcomes[i] = res.Outcome
			})
		}
		wg.Wait()
		winner, inUse := -1, 0
		for i, o := range outcomes {
			switch o {
			case core.IdempotencyClaimed:
				if winner >= 0 {
					t.Fatalf("round %d: claims %d and %d both won", round, winner, i)
				}
				winner = i
			case core.IdempotencyInUse:
				inUse++
			}
		}
		if winner < 0 || inUse != n-1 {
			t.Fatalf("round %d: outcomes %v, want one claim and %d in use", round, outcomes, n-1)
		}
		ok, err := st.CompleteIdempotencyKey(ctx, k.ID, key, fmt.Sprintf("t%d", winner), &core.StoredResponse{Status: 200, Body: []byte("ok")})
		if err != nil || !ok {
			t.Fatalf("complete: %v, %v", ok, err)
		}
		wantOutcome(t, st, idemClaim(clock, k.ID, key, "same", "late"), core.IdempotencyReplay)
	}
	// Takeovers race too: the lease of one claim runs out and many take
	// it over at once; one wins.
	wantOutcome(t, st, idemClaim(clock, k.ID, "takeover", "same", "t-first"), core.IdempotencyClaimed)
	clock.Advance(2 * time.Minute)
	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			res, err := st.ClaimIdempotencyKey(ctx, idemClaim(clock, k.ID, "takeover", "same", fmt.Sprintf("t-%d", i)))
			if err != nil {
				t.Errorf("takeover %d: %v", i, err)
				return
			}
			if res.Outcome == core.IdempotencyClaimed {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d requests took over one expired lease", won)
	}
}
