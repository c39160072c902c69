package sdktest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestSeat runs the Seat helper against a real node: two seats held and
// kept alive by heartbeats, a third copy refused with when the next frees,
// a Close that releases, a revocation reported on Lost; and the vendor's
// seat list and delete.
func TestSeat(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, secret := n.CreateKey(t, owner, service.KeyInput{})
			ctx := context.Background()
			vendor := must(client.New(n.URL, secret, client.WithRetries(0)))(t)
			p := must(vendor.Projects.Create(ctx, client.ProjectCreate{Name: "Desktop app", HasPaid: client.Ptr(true)}))(t)
			l := must(vendor.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Studio"}))(t)
			two, ttl := int64(2), int64(60)
			tp, mp := &ttl, &two
			if _, err := n.Store.UpdateLicense(ctx, l.ID, core.LicenseUpdate{MaxConcurrent: &mp, HeartbeatTTL: &tp}); err != nil {
				t.Fatal(err)
			}

			app := must(client.New(n.URL, "", client.WithRetries(0)))(t)
			opts := &client.SeatOptions{Interval: 20 * time.Millisecond}
			req := func(instance string) client.HeartbeatRequest {
				return client.HeartbeatRequest{License: l.UUID, Instance: instance, Domain: "studio-pc"}
			}
			a := must(app.Validate.AcquireSeat(ctx, req("pc-a"), opts))(t)
			bSeat := must(app.Validate.AcquireSeat(ctx, req("pc-b"), opts))(t)
			if s := a.Last().Seat; s == nil || s.Max != 2 || s.TTL != 60 || s.ExpiresAt == nil {
				t.Fatalf("first seat: %+v", s)
			}
			_, err := app.Validate.AcquireSeat(ctx, req("pc-c"), opts)
			var refused *client.SeatRefusedError
			if !errors.As(err, &refused) || refused.Heartbeat.Code != client.CodeSeatsExhausted || refused.Heartbeat.Seat.NextFreeAt == nil {
				t.Fatalf("third copy: %v", err)
			}

			// The heartbeats keep going (the last answer moves on).
			first := a.Last()
			deadline := time.Now().Add(10 * time.Second)
			for a.Last() == first {
				if time.Now().After(deadline) {
					t.Fatal("no heartbeat within 10 s")
				}
				time.Sleep(5 * time.Millisecond)
			}

			// The vendor sees both seats.
			seats := must(vendor.Licenses.Seats(ctx, p.ID, l.ID))(t)
			if len(seats) != 2 || seats[0].Instance != "pc-a" || seats[1].Instance != "pc-b" {
				t.Fatalf("seats %+v", seats)
			}

			// Close releases: the third copy gets the seat.
			if err := bSeat.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := bSeat.Close(ctx); err != nil {
				t.Fatalf("second close: %v", err)
			}
			c := must(app.Validate.AcquireSeat(ctx, req("pc-c"), opts))(t)
			defer func() { _ = c.Close(ctx) }()

			// The vendor frees a's seat; a's next heartbeat takes it back
			// (a seat is free again), so it is not lost.
			seats = must(vendor.Licenses.Seats(ctx, p.ID, l.ID))(t)
			if _, err := vendor.Licenses.DeleteSeat(ctx, p.ID, l.ID, seats[0].ID); err != nil {
				t.Fatal(err)
			}
			_, err = vendor.Licenses.DeleteSeat(ctx, p.ID, l.ID, seats[0].ID)
			if !errors.Is(err, client.ErrNotFound) {
				t.Fatalf("delete again: %v", err)
			}

			// Revoking the license: the next heartbeat reports the loss.
			if _, err := vendor.Licenses.Revoke(ctx, p.ID, l.ID); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-a.Lost():
				if !errors.As(err, &refused) || refused.Heartbeat.Code != client.CodeRevoked {
					t.Fatalf("lost: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the revocation was not reported within 10 s")
			}
			if err := a.Close(ctx); err != nil {
				t.Fatal(err)
			}

			// Raw calls: a heartbeat without an instance is refused here.
			if _, err := app.Validate.Heartbeat(ctx, client.HeartbeatRequest{License: l.UUID}); err == nil {
				t.Fatal("a heartbeat without an instance was sent")
			}
			hb := must(app.Validate.Release(ctx, req("pc-c")))(t)
			if hb.Seat == nil || !hb.Seat.Released || hb.Code != client.CodeRevoked {
				t.Fatalf("release of a revoked license: %+v %+v", hb, hb.Seat)
			}
		})
	}
}
