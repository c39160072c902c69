package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// seatRequest is a validation that heartbeats a seat: POST or DELETE
// /licenses/heartbeat, or the native validation with "seat": true.
type seatRequest struct {
	instance string
	release  bool
	status   *service.SeatStatus // filled in by the engine
}

// heartbeatRoute marks a request that came in on /licenses/heartbeat; its
// value says whether it releases (DELETE).
type heartbeatRoute struct{}

// heartbeat serves /licenses/heartbeat as the native validation in seat
// mode, so that both answer in one shape.
func (h *api) heartbeat(release bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h.nativeValidate(w, r.WithContext(context.WithValue(r.Context(), heartbeatRoute{}, release)))
	}
}

// readSeat reads the seat fields of a runtime request: "instance" (body,
// then query) and "release", required on the heartbeat route and read on
// the native validation when it sends "seat": true. Problems go to the
// body's list, reported with the others.
func readSeat(r *http.Request, rr *runtimeRequest) {
	b := rr.body
	release, onRoute := r.Context().Value(heartbeatRoute{}).(bool)
	if !onRoute {
		if seat, _ := b.boolean("seat"); !seat {
			return
		}
	}
	sr := &seatRequest{release: release}
	if v, sent := b.boolean("release"); sent && v {
		sr.release = true
	}
	var sent bool
	if sr.instance, sent = b.str("instance"); !sent {
		sr.instance = query(r).Get("instance")
	}
	var e *core.Error
	if err := service.CheckInstance(sr.instance); errors.As(err, &e) {
		for _, msg := range e.Fields["instance"] {
			b.problems().Add("instance", msg)
		}
	}
	rr.seat = sr
}

// engine runs the validation, or the heartbeat when the request asks for a
// seat.
func (h *api) engine(ctx context.Context, rr *runtimeRequest, in service.ValidateInput) (*service.ValidateResult, error) {
	if rr.seat == nil {
		return h.validator.Validate(ctx, in)
	}
	res, st, err := h.validator.Heartbeat(ctx, service.HeartbeatInput{ValidateInput: in, Instance: rr.seat.instance, Release: rr.seat.release})
	rr.seat.status = st
	return res, err
}

// seatJSON is the seat part of a heartbeat's answer.
type seatJSON struct {
	Instance   string  `json:"instance"`
	ExpiresAt  *string `json:"expires_at"`
	Held       int64   `json:"held"`
	Max        int64   `json:"max"`
	TTL        int64   `json:"ttl"`
	NextFreeAt *string `json:"next_free_at"`
	Released   bool    `json:"released"`
}

// seatField renders "seat" on an answer: absent unless a seat was asked
// for, null when the license has no seat limit (or the validation failed).
type seatField struct {
	asked bool
	v     *seatJSON
}

func (s seatField) IsZero() bool { return !s.asked }

func (s seatField) MarshalJSON() ([]byte, error) {
	if s.v == nil {
		return []byte("null"), nil
	}
	return json.Marshal(s.v)
}

// seatAnswer is what the answer shows of rr's seat.
func seatAnswer(rr *runtimeRequest) seatField {
	if rr.seat == nil {
		return seatField{}
	}
	st := rr.seat.status
	if st == nil {
		return seatField{asked: true}
	}
	return seatField{asked: true, v: &seatJSON{Instance: st.Instance, ExpiresAt: view.Time(st.ExpiresAt), Held: st.Held, Max: st.Max,
		TTL: int64(st.TTL.Seconds()), NextFreeAt: view.Time(st.NextFreeAt), Released: st.Released}}
}

// listSeats is GET …/licenses/{license}/seats: the live seats, oldest
// first. There are at most as many as the license's max_concurrent (or
// what it was), so the list is not paged.
func (h *api) listSeats(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	seats, err := h.svc.ListSeats(r.Context(), actorFrom(r), pid, id)
	if err != nil {
		return err
	}
	out := make([]view.Seat, len(seats))
	for i := range seats {
		out[i] = view.SeatOf(&seats[i])
	}
	return ok(w, http.StatusOK, "", out)
}

// deleteSeat is DELETE …/licenses/{license}/seats/{seat}.
func (h *api) deleteSeat(w http.ResponseWriter, r *http.Request) error {
	pid, lid, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	sid, err := pathID(r, "seat", "Seat")
	if err != nil {
		return err
	}
	s, err := h.svc.DeleteSeat(r.Context(), actorFrom(r), pid, lid, sid)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Seat deleted successfully.", view.SeatOf(s))
}
