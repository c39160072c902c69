package service

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// DefaultHeartbeatTTL is how long a seat lasts after a heartbeat when the
// license sets no heartbeat_ttl.
const DefaultHeartbeatTTL = 600 * time.Second

// MaxInstanceLen bounds an instance ID.
const MaxInstanceLen = 255

// HeartbeatInput is a running copy checking in: a validation that claims
// (or renews, or with Release gives back) the instance's seat.
type HeartbeatInput struct {
	ValidateInput
	Instance string
	Release  bool
}

// SeatStatus is the seat side of a heartbeat's answer.
type SeatStatus struct {
	Instance  string
	ExpiresAt *time.Time // the seat's expiry; nil when refused or released
	Held      int64      // live seats of the license afterwards
	Max       int64
	TTL       time.Duration
	// NextFreeAt, when refused, is when the soonest seat expires.
	NextFreeAt *time.Time
	Released   bool
}

// CheckInstance reports what is wrong with an instance ID, as a 422 on
// instance: required, at most 255 characters of valid text.
func CheckInstance(instance string) error {
	switch {
	case strings.TrimSpace(instance) == "":
		return core.Invalid("instance", "The instance field is required: send the ID of the machine or process holding the seat.")
	case utf8.RuneCountInString(instance) > MaxInstanceLen:
		return core.Invalid("instance", "The instance field must not be greater than 255 characters.")
	case !core.ValidText(instance):
		return core.InvalidText("instance")
	}
	return nil
}

// seatTTL is the license's heartbeat_ttl, or the default.
func seatTTL(l *core.License) time.Duration {
	if n := limitValue(l.HeartbeatTTL); n > 0 {
		return time.Duration(n) * time.Second
	}
	return DefaultHeartbeatTTL
}

// Heartbeat runs the validation without counting a daily use (a copy
// heartbeats every few minutes; its start-up validation counted it), then,
// when the license has max_concurrent, claims the instance's seat: a
// license that passes every other rule but has no seat left answers
// SEATS_EXHAUSTED. An unpaid project's copy holds a seat too (UNPAID is
// answered 200 and the copy runs), so the seat rule comes before payment.
// The seat is nil for a license without max_concurrent, and when the
// validation failed. A release frees the seat whatever the license's state
// (a revoked copy shutting down gives its seat back), as long as the key is
// the license's.
func (v *Validator) Heartbeat(ctx context.Context, in HeartbeatInput) (*ValidateResult, *SeatStatus, error) {
	now := v.now()
	res, st, err := v.heartbeat(ctx, in, now)
	if err == nil {
		v.outcomes.add(res, now)
	}
	return res, st, err
}

func (v *Validator) heartbeat(ctx context.Context, in HeartbeatInput, now time.Time) (*ValidateResult, *SeatStatus, error) {
	if err := CheckInstance(in.Instance); err != nil {
		return nil, nil, err
	}
	in.Count = false
	res, err := v.validate(ctx, in.ValidateInput, now)
	if err != nil {
		return nil, nil, err
	}
	l := res.License
	if l == nil || res.Code == licensing.CodeProjectMismatch || res.Code == licensing.CodeRateLimited {
		return res, nil, nil
	}
	maxN := limitValue(l.MaxConcurrent)
	if maxN == 0 {
		return res, nil, nil
	}
	st := &SeatStatus{Instance: in.Instance, Max: maxN, TTL: seatTTL(l)}
	if in.Release {
		out, err := v.store.ReleaseSeat(ctx, l.ID, in.Instance, now)
		if err != nil {
			return nil, nil, err
		}
		st.Released, st.Held = true, out.Held
		return res, st, nil
	}
	if res.Code != licensing.CodeValid && res.Code != licensing.CodeUnpaid {
		return res, nil, nil
	}
	out, err := v.store.ClaimSeat(ctx, core.SeatClaim{LicenseID: l.ID, Instance: in.Instance, IP: ipText(in.IP), Max: maxN,
		TTL: st.TTL, Now: now})
	if core.IsCode(err, core.ENotFound) {
		// Deleted since its snapshot was cached.
		v.forget(l.ID)
		res.Code, res.HasPaid, res.License, res.Project = licensing.CodeNotFound, false, nil, nil
		return res, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	st.Held = out.Held
	if out.Outcome != core.SeatHeld {
		res.Code, st.NextFreeAt = licensing.CodeSeatsExhausted, out.NextFreeAt
		return res, st, nil
	}
	st.ExpiresAt = &out.Seat.ExpiresAt
	return res, st, nil
}

// SeatCheck evaluates the seat rule without claiming anything (explain):
// it passes for a license without max_concurrent, for an instance that
// holds a live seat, and while a seat is free.
func (v *Validator) SeatCheck(ctx context.Context, l *core.License, instance string) (passed bool, detail string, err error) {
	maxN := limitValue(l.MaxConcurrent)
	if maxN == 0 {
		return true, "The license has no concurrent seat limit.", nil
	}
	seats, err := v.store.ListSeats(ctx, l.ID, v.now())
	if err != nil {
		return false, "", err
	}
	for _, s := range seats {
		if instance != "" && s.Instance == instance {
			return true, fmt.Sprintf("The instance holds a seat (%d of %d in use).", len(seats), maxN), nil
		}
	}
	if int64(len(seats)) < maxN {
		return true, fmt.Sprintf("%d of %d seats in use.", len(seats), maxN), nil
	}
	next := seats[0].ExpiresAt
	for _, s := range seats[1:] {
		if s.ExpiresAt.Before(next) {
			next = s.ExpiresAt
		}
	}
	return false, fmt.Sprintf("All %d seats are in use; the next frees at %s.", maxN, next.UTC().Format(time.RFC3339)), nil
}

// ListSeats returns a license's live seats, oldest first (a license read:
// the license must be the project's first, as DevPayr's show).
func (s *Service) ListSeats(ctx context.Context, actor *core.Actor, projectID, licenseID int64) ([]core.Seat, error) {
	if _, err := s.License(ctx, actor, projectID, licenseID); err != nil {
		return nil, err
	}
	return s.store.ListSeats(ctx, licenseID, s.now())
}

// DeleteSeat frees one seat of a license (a vendor ending a copy's hold,
// say for a machine that died without releasing it). The copy, if it
// still runs, claims a seat again at its next heartbeat when one is free.
func (s *Service) DeleteSeat(ctx context.Context, actor *core.Actor, projectID, licenseID, seatID int64) (*core.Seat, error) {
	var seat *core.Seat
	err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		seat = nil
		_, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, licenseID, core.NotFound("License"))
		if err != nil {
			return err
		}
		seat, err = st.DeleteSeat(ctx, l.ID, seatID)
		if err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("license.seat.delete", "license", l.ID, projectID,
			map[string]any{"seat_id": seat.ID, "instance": seat.Instance}))
	})
	if err != nil {
		return nil, err
	}
	return seat, nil
}

func ipText(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
