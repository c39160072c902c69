package service_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

type seatWorld struct {
	svc   *service.Service
	v     *service.Validator
	clk   *storetest.Clock
	actor *core.Actor
	paid  int64
	// license returns a new license with the given seat limit and TTL
	// (set in the store, as the API's create does).
	license func(title string, project, maxConcurrent, ttl int64, in service.LicenseInput) *core.License
}

func newSeatWorld(t *testing.T, b storetest.Backend) *seatWorld {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	st, _ := b.Open(t, clk.Now)
	key, _ := secret.FromString("test-secret-0123456789abcdefghijklmnop")
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clk.Now})
	ctx := context.Background()
	u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "t@example.com", Password: "test password", OrgName: "T"})
	if err != nil {
		t.Fatal(err)
	}
	w := &seatWorld{svc: svc, clk: clk, actor: core.SystemActor(org.ID, "test")}
	w.actor.UserID = u.ID
	w.v = svc.NewValidator(service.ValidatorConfig{TTL: time.Hour})
	p, err := svc.CreateProject(ctx, w.actor, service.ProjectInput{Name: service.Some("P"), HasPaid: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
	w.paid = p.ID
	w.license = func(title string, project, maxConcurrent, ttl int64, in service.LicenseInput) *core.License {
		t.Helper()
		in.Title = service.Some(title)
		l, err := svc.CreateLicense(ctx, w.actor, project, in)
		if err != nil {
			t.Fatal(err)
		}
		upd := core.LicenseUpdate{}
		if maxConcurrent > 0 {
			m := &maxConcurrent
			upd.MaxConcurrent = &m
		}
		if ttl > 0 {
			tp := &ttl
			upd.HeartbeatTTL = &tp
		}
		if _, err := st.UpdateLicense(ctx, l.ID, upd); err != nil {
			t.Fatal(err)
		}
		return l
	}
	return w
}

func (w *seatWorld) beat(t *testing.T, key, instance string, release bool) (*service.ValidateResult, *service.SeatStatus) {
	t.Helper()
	res, seat, err := w.v.Heartbeat(context.Background(), service.HeartbeatInput{
		ValidateInput: service.ValidateInput{Key: key, Identifier: "shop.example.com", IP: netip.MustParseAddr("192.0.2.1"), Count: true},
		Instance:      instance, Release: release})
	if err != nil {
		t.Fatal(err)
	}
	return res, seat
}

func TestSeatHeartbeat(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newSeatWorld(t, b)
			ctx := context.Background()
			l := w.license("two seats", w.paid, 2, 60, service.LicenseInput{})
			t0 := w.clk.Now()

			type step struct {
				instance string
				release  bool
				advance  time.Duration
				code     string
				held     int64
				expires  time.Duration // from t0; 0: no expiry in the answer
				nextFree time.Duration // from t0
			}
			steps := []step{
				{instance: "a", code: licensing.CodeValid, held: 1, expires: time.Minute},
				{instance: "a", advance: 20 * time.Second, code: licensing.CodeValid, held: 1, expires: 80 * time.Second},
				{instance: "b", advance: 10 * time.Second, code: licensing.CodeValid, held: 2, expires: 90 * time.Second},
				{instance: "c", code: licensing.CodeSeatsExhausted, held: 2, nextFree: 80 * time.Second},
				// a's seat lapses (no heartbeat for the TTL): c gets it.
				{instance: "c", advance: 50 * time.Second, code: licensing.CodeValid, held: 2, expires: 140 * time.Second},
				{instance: "a", code: licensing.CodeSeatsExhausted, held: 2, nextFree: 90 * time.Second},
				{instance: "b", release: true, code: licensing.CodeValid, held: 1},
				{instance: "a", code: licensing.CodeValid, held: 2, expires: 140 * time.Second},
			}
			for i, s := range steps {
				w.clk.Advance(s.advance)
				res, seat := w.beat(t, l.UUID, s.instance, s.release)
				if res.Code != s.code || seat == nil || seat.Held != s.held || seat.Max != 2 || seat.Instance != s.instance ||
					seat.Released != s.release || seat.TTL != time.Minute {
					t.Fatalf("step %d: code %s, seat %+v; want %s with %d held", i, res.Code, seat, s.code, s.held)
				}
				if got := seat.ExpiresAt; (s.expires == 0) != (got == nil) || got != nil && !got.Equal(t0.Add(s.expires)) {
					t.Fatalf("step %d: expires %v, want t0+%s", i, got, s.expires)
				}
				if got := seat.NextFreeAt; (s.nextFree == 0) != (got == nil) || got != nil && !got.Equal(t0.Add(s.nextFree)) {
					t.Fatalf("step %d: next free %v, want t0+%s", i, got, s.nextFree)
				}
			}
			// Heartbeats count no daily use.
			if p := w.v.Pending(l.ID); len(p) != 0 {
				t.Fatalf("heartbeats counted uses: %v", p)
			}

			// The vendor sees the live seats and can free one.
			seats, err := w.svc.ListSeats(ctx, w.actor, w.paid, l.ID)
			if err != nil || len(seats) != 2 || seats[0].Instance != "c" || seats[1].Instance != "a" || seats[0].IP != "192.0.2.1" {
				t.Fatalf("seats = %+v, %v", seats, err)
			}
			del, err := w.svc.DeleteSeat(ctx, w.actor, w.paid, l.ID, seats[0].ID)
			if err != nil || del.Instance != "c" {
				t.Fatalf("delete: %+v, %v", del, err)
			}
			if _, err := w.svc.DeleteSeat(ctx, w.actor, w.paid, l.ID, seats[0].ID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("delete again: %v", err)
			}
			events, err := w.svc.ListAudit(ctx, w.actor, core.AuditFilter{Limit: 5})
			if err != nil || len(events) == 0 || events[0].Action != "license.seat.delete" || events[0].TargetID != l.ID {
				t.Fatalf("audit: %+v, %v", events, err)
			}
			if res, seat := w.beat(t, l.UUID, "d", false); res.Code != licensing.CodeValid || seat.Held != 2 {
				t.Fatalf("after the vendor freed a seat: %s %+v", res.Code, seat)
			}
		})
	}
}

// TestSeatRules: which validations hold a seat, and the instance's rules.
func TestSeatRules(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			w := newSeatWorld(t, b)
			ctx := context.Background()
			unpaid, err := w.svc.CreateProject(ctx, w.actor, service.ProjectInput{Name: service.Some("U"), HasPaid: service.Some(false)})
			if err != nil {
				t.Fatal(err)
			}
			one := int64(1)
			plain := w.license("no seats", w.paid, 0, 0, service.LicenseInput{})
			seated := w.license("one seat", w.paid, 1, 0, service.LicenseInput{})
			unpaidL := w.license("unpaid", unpaid.ID, 1, 0, service.LicenseInput{})
			capped := w.license("capped", w.paid, 1, 0, service.LicenseInput{MaxUsagePerDay: service.Some(&one)})
			revoked := w.license("revoked", w.paid, 1, 0, service.LicenseInput{})

			// Without max_concurrent: the validation's answer, no seat.
			if res, seat := w.beat(t, plain.UUID, "a", false); res.Code != licensing.CodeValid || seat != nil {
				t.Fatalf("no limit: %s %+v", res.Code, seat)
			}
			// The default TTL is ten minutes.
			if res, seat := w.beat(t, seated.UUID, "a", false); res.Code != licensing.CodeValid || seat.TTL != service.DefaultHeartbeatTTL ||
				!seat.ExpiresAt.Equal(w.clk.Now().Add(10*time.Minute)) {
				t.Fatalf("default ttl: %s %+v", res.Code, seat)
			}
			// An unpaid copy runs, and holds a seat; the seat rule comes first.
			if res, seat := w.beat(t, unpaidL.UUID, "a", false); res.Code != licensing.CodeUnpaid || seat == nil || seat.ExpiresAt == nil {
				t.Fatalf("unpaid: %s %+v", res.Code, seat)
			}
			if res, _ := w.beat(t, unpaidL.UUID, "b", false); res.Code != licensing.CodeSeatsExhausted {
				t.Fatalf("unpaid, no seat left: %s", res.Code)
			}
			// A capped license at its cap is refused before any seat.
			if _, err := w.v.Validate(ctx, service.ValidateInput{Key: capped.UUID, Identifier: "shop.example.com", Count: true}); err != nil {
				t.Fatal(err)
			}
			if res, seat := w.beat(t, capped.UUID, "a", false); res.Code != licensing.CodeUsageExceeded || seat != nil {
				t.Fatalf("capped: %s %+v", res.Code, seat)
			}
			// A revoked license holds no seat, but gives back the one it had.
			w.beat(t, revoked.UUID, "a", false)
			if _, err := w.svc.RevokeLicense(ctx, w.actor, w.paid, revoked.ID); err != nil {
				t.Fatal(err)
			}
			if res, seat := w.beat(t, revoked.UUID, "b", false); res.Code != licensing.CodeRevoked || seat != nil {
				t.Fatalf("revoked: %s %+v", res.Code, seat)
			}
			if res, seat := w.beat(t, revoked.UUID, "a", true); res.Code != licensing.CodeRevoked || seat == nil || !seat.Released || seat.Held != 0 {
				t.Fatalf("revoked release: %s %+v", res.Code, seat)
			}
			// Unknown keys: no seat.
			if res, seat := w.beat(t, "018f0000-0000-7000-8000-000000000000", "a", false); res.Code != licensing.CodeNotFound || seat != nil {
				t.Fatalf("unknown: %s %+v", res.Code, seat)
			}

			// Bad instances are refused before anything is read or written.
			for _, bad := range []string{"", "   ", strings.Repeat("x", 256), "a\x00b", "\xff"} {
				_, _, err := w.v.Heartbeat(ctx, service.HeartbeatInput{ValidateInput: service.ValidateInput{Key: seated.UUID}, Instance: bad})
				var e *core.Error
				if !errors.As(err, &e) || e.Code != core.EInvalid || len(e.Fields["instance"]) == 0 {
					t.Fatalf("instance %q: %v", bad, err)
				}
			}
			_, _, err = w.v.Heartbeat(ctx, service.HeartbeatInput{ValidateInput: service.ValidateInput{Key: seated.UUID}, Instance: strings.Repeat("é", 255)})
			if err != nil {
				t.Fatalf("255 characters: %v", err)
			}

			// Explain's rule, read-only.
			for _, c := range []struct {
				l        *core.License
				instance string
				pass     bool
			}{{plain, "x", true}, {seated, "a", true}, {seated, "z", false}} {
				l, err := w.svc.License(ctx, w.actor, w.paid, c.l.ID)
				if err != nil {
					t.Fatal(err)
				}
				pass, detail, err := w.v.SeatCheck(ctx, l, c.instance)
				if err != nil || pass != c.pass || detail == "" {
					t.Fatalf("%s/%s: %v %q %v", c.l.Title, c.instance, pass, detail, err)
				}
			}
		})
	}
}
