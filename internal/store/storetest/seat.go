package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// testSeats covers claiming, renewing, refusing, releasing, listing,
// deleting and expiring seats, with the store's clock.
func testSeats(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "seats", nil, nil)
	const ttl = 10 * time.Minute
	claim := func(instance string, max int64) core.SeatOutcome {
		t.Helper()
		out, err := st.ClaimSeat(ctx, core.SeatClaim{LicenseID: l.ID, Instance: instance, IP: "192.0.2.1", Max: max, TTL: ttl, Now: clock.Now()})
		must(t, err)
		return out
	}
	steps := []struct {
		instance    string
		advance     time.Duration
		max         int64
		wantOutcome string
		wantHeld    int64
	}{
		{"a", 0, 2, core.SeatHeld, 1},
		{"a", time.Minute, 2, core.SeatHeld, 1}, // a renewal takes no second seat
		{"b", time.Minute, 2, core.SeatHeld, 2},
		{"c", time.Minute, 2, core.SeatExhausted, 2},
		{"a", time.Minute, 2, core.SeatHeld, 2},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		out := claim(s.instance, s.max)
		if out.Outcome != s.wantOutcome || out.Held != s.wantHeld {
			t.Fatalf("step %d (%s): %+v, want %s with %d held", i, s.instance, out, s.wantOutcome, s.wantHeld)
		}
		switch s.wantOutcome {
		case core.SeatHeld:
			if out.Seat == nil || out.Seat.Instance != s.instance || !out.Seat.ExpiresAt.Equal(ts(clock.Now().Add(ttl))) || out.NextFreeAt != nil {
				t.Fatalf("step %d: seat %+v", i, out.Seat)
			}
		case core.SeatExhausted:
			// a's seat, renewed at T0+1m, frees before b's (T0+2m).
			if out.Seat != nil || out.NextFreeAt == nil || !out.NextFreeAt.Equal(ts(T0.Add(time.Minute+ttl))) {
				t.Fatalf("step %d: refused %+v (next %v)", i, out, out.NextFreeAt)
			}
		}
	}
	seats, err := st.ListSeats(ctx, l.ID, clock.Now())
	must(t, err)
	if len(seats) != 2 || seats[0].Instance != "a" || seats[1].Instance != "b" || !seats[0].CreatedAt.Equal(ts(T0)) ||
		seats[0].IP != "192.0.2.1" || !seats[0].LastHeartbeatAt.Equal(ts(clock.Now())) {
		t.Fatalf("seats = %+v", seats)
	}

	// Expiry: b's seat lapses ttl after its heartbeat, and frees room.
	clock.Set(seats[1].ExpiresAt)
	if out := claim("c", 2); out.Outcome != core.SeatHeld || out.Held != 2 {
		t.Fatalf("after b expired: %+v", out)
	}
	seats, err = st.ListSeats(ctx, l.ID, clock.Now())
	must(t, err)
	if len(seats) != 2 || seats[0].Instance != "a" || seats[1].Instance != "c" {
		t.Fatalf("seats after expiry = %+v", seats)
	}
	// An instance whose seat expired gets a new one (and a new ID).
	clock.Advance(ttl)
	out := claim("a", 2)
	if out.Outcome != core.SeatHeld || out.Held != 1 || out.Seat.ID == seats[0].ID || !out.Seat.CreatedAt.Equal(ts(clock.Now())) {
		t.Fatalf("a after expiry: %+v", out)
	}

	// Release frees at once, and is idempotent.
	claim("b", 2)
	rel, err := st.ReleaseSeat(ctx, l.ID, "a", clock.Now())
	must(t, err)
	if !rel.Released || rel.Held != 1 {
		t.Fatalf("release: %+v", rel)
	}
	rel, err = st.ReleaseSeat(ctx, l.ID, "a", clock.Now())
	must(t, err)
	if rel.Released || rel.Held != 1 {
		t.Fatalf("second release: %+v", rel)
	}

	// A lowered limit: the oldest seats are renewed, the others refused.
	claim("c", 3)
	claim("d", 3)
	if out := claim("d", 1); out.Outcome != core.SeatExhausted || out.Held != 2 || out.NextFreeAt == nil {
		t.Fatalf("d over a lowered limit: %+v", out)
	}
	if out := claim("b", 1); out.Outcome != core.SeatHeld || out.Held != 2 {
		t.Fatalf("b, the oldest, over a lowered limit: %+v", out)
	}
	if out := claim("c", 1); out.Outcome != core.SeatExhausted || out.Held != 1 {
		t.Fatalf("c over a lowered limit: %+v", out)
	}

	// Delete by ID: only the license's own seat.
	seats, err = st.ListSeats(ctx, l.ID, clock.Now())
	must(t, err)
	if len(seats) != 1 {
		t.Fatalf("seats before delete = %+v", seats)
	}
	other := newLicense(t, st, "other seats", nil, nil)
	_, err = st.DeleteSeat(ctx, other.ID, seats[0].ID)
	wantCode(t, err, core.ENotFound)
	del, err := st.DeleteSeat(ctx, l.ID, seats[0].ID)
	must(t, err)
	if del.ID != seats[0].ID || del.Instance != seats[0].Instance {
		t.Fatalf("deleted %+v", del)
	}
	_, err = st.DeleteSeat(ctx, l.ID, seats[0].ID)
	wantCode(t, err, core.ENotFound)

	// Errors: an unknown license, a limit below 1.
	_, err = st.ClaimSeat(ctx, core.SeatClaim{LicenseID: l.ID + 999, Instance: "x", Max: 1, TTL: ttl, Now: clock.Now()})
	wantCode(t, err, core.ENotFound)
	_, err = st.ClaimSeat(ctx, core.SeatClaim{LicenseID: l.ID, Instance: "x", Max: 0, TTL: ttl, Now: clock.Now()})
	wantCode(t, err, core.EInvalid)

	// Deleting the license deletes its seats.
	claim("z", 1)
	must(t, st.DeleteLicense(ctx, l.ID))
	seats, err = st.ListSeats(ctx, l.ID, clock.Now())
	must(t, err)
	if len(seats) != 0 {
		t.Fatalf("seats of a deleted license: %+v", seats)
	}
}

// testSeatsUnderConcurrency: 64 instances race for 5 seats, each claiming
// (and renewing) several times: exactly 5 hold one.
func testSeatsUnderConcurrency(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "contended seats", nil, nil)
	var mu sync.Mutex
	holders := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			instance := fmt.Sprintf("machine-%02d", i)
			for range 3 {
				out, err := st.ClaimSeat(ctx, core.SeatClaim{LicenseID: l.ID, Instance: instance, Max: 5, TTL: time.Minute, Now: clock.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				if out.Held > 5 {
					t.Errorf("%d seats held", out.Held)
				}
				if out.Outcome == core.SeatHeld {
					mu.Lock()
					holders[instance] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	seats, err := st.ListSeats(ctx, l.ID, clock.Now())
	must(t, err)
	if len(holders) != 5 || len(seats) != 5 {
		t.Fatalf("%d instances were given a seat, %d seats live; want 5", len(holders), len(seats))
	}
	for _, s := range seats {
		if !holders[s.Instance] {
			t.Fatalf("seat of %s, which was never told it held one", s.Instance)
		}
	}
}
