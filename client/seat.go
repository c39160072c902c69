package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// CodeSeatsExhausted is the heartbeat's answer when every concurrent seat
// of the license is held by another instance.
const CodeSeatsExhausted = "SEATS_EXHAUSTED"

// HeartbeatRequest is a running copy checking in for its seat.
type HeartbeatRequest struct {
	// License is the license key (its UUID). Required.
	License string
	// Instance identifies this running copy (a machine or process ID, at
	// most 255 characters). Required. Keep it stable for the life of the
	// process: a new ID is a new seat.
	Instance string
	// Domain is the runtime identifier, as for validation.
	Domain string
}

// SeatStatus is the seat part of a heartbeat's answer.
type SeatStatus struct {
	Instance string `json:"instance"`
	// ExpiresAt is when the seat lapses without another heartbeat; nil
	// when refused or released.
	ExpiresAt *time.Time `json:"expires_at"`
	Held      int64      `json:"held"` // live seats of the license
	Max       int64      `json:"max"`  // the license's max_concurrent
	// TTL is the license's heartbeat_ttl in seconds.
	TTL int64 `json:"ttl"`
	// NextFreeAt, when refused (SEATS_EXHAUSTED), is when the soonest
	// seat expires.
	NextFreeAt *time.Time `json:"next_free_at"`
	Released   bool       `json:"released"`
}

// Heartbeat is the answer to a heartbeat: the native validation's, with
// the seat. Seat is nil for a license without max_concurrent (the
// heartbeat is then a validation that counts no use) and when the
// validation failed.
type Heartbeat struct {
	Validation
	Seat *SeatStatus `json:"seat"`
}

// Holds reports whether the answer lets the copy run: the license passed
// (VALID, or UNPAID, which DevPayr's copies run with) and holds its seat
// when it has a seat limit.
func (h *Heartbeat) Holds() bool {
	return h.Code == CodeValid || h.Code == CodeUnpaid
}

func (r HeartbeatRequest) call(ctx context.Context, c *Client, method string, release bool, opts ...CallOption) (*Heartbeat, error) {
	h, err := RuntimeRequest{License: r.License, Domain: r.Domain}.header()
	if err != nil {
		return nil, err
	}
	if r.Instance == "" {
		return nil, errors.New("latchkey: a heartbeat needs an instance ID")
	}
	body := map[string]any{"instance": r.Instance}
	if r.Domain != "" {
		body["domain"] = r.Domain
	}
	if release {
		body["release"] = true
	}
	var out Heartbeat
	if _, err := c.do(ctx, &request{opts: opts, method: method, path: "licenses/heartbeat", body: body, header: h, noAuth: true, signed: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Heartbeat claims or renews the instance's seat (POST
// /licenses/heartbeat). Every verdict is a *Heartbeat; an error means the
// request itself failed.
func (s *ValidateService) Heartbeat(ctx context.Context, in HeartbeatRequest, opts ...CallOption) (*Heartbeat, error) {
	return in.call(ctx, s.c, http.MethodPost, false, opts...)
}

// Release gives the instance's seat back (DELETE /licenses/heartbeat).
// Releasing a seat not held is not an error.
func (s *ValidateService) Release(ctx context.Context, in HeartbeatRequest, opts ...CallOption) (*Heartbeat, error) {
	return in.call(ctx, s.c, http.MethodDelete, true, opts...)
}

// SeatRefusedError is AcquireSeat's error, and what Seat.Lost reports,
// when the server answered without a seat for this copy: Heartbeat.Code
// says why (SEATS_EXHAUSTED, REVOKED, EXPIRED…).
type SeatRefusedError struct {
	Heartbeat *Heartbeat
}

func (e *SeatRefusedError) Error() string {
	msg := fmt.Sprintf("latchkey: no seat: %s: %s", e.Heartbeat.Code, e.Heartbeat.Message)
	if s := e.Heartbeat.Seat; s != nil && s.NextFreeAt != nil {
		msg += " (the next frees at " + s.NextFreeAt.UTC().Format(time.RFC3339) + ")"
	}
	return msg
}

// SeatOptions tunes a Seat.
type SeatOptions struct {
	// Interval between heartbeats; 0 means a third of the seat's TTL, so
	// that two heartbeats may fail before the seat lapses.
	Interval time.Duration
}

// defaultTTL is the server's heartbeat_ttl default, for a license without
// a seat limit (whose answer carries no TTL).
const defaultTTL = 600 * time.Second

// Seat keeps a concurrent seat: it heartbeats in a goroutine and releases
// the seat on Close. If the seat is lost (refused at a heartbeat, or no
// heartbeat succeeded for a whole TTL), the reason arrives on Lost and the
// heartbeats stop: the copy should stop running, or AcquireSeat again.
type Seat struct {
	s    *ValidateService
	req  HeartbeatRequest
	opts SeatOptions

	mu   sync.Mutex
	last *Heartbeat

	lost   chan error
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

// AcquireSeat claims a seat for in.Instance and starts heartbeating. A
// refusal is a *SeatRefusedError. callOpts apply to the first heartbeat, the
// claim; the heartbeats that follow are plain.
func (s *ValidateService) AcquireSeat(ctx context.Context, in HeartbeatRequest, opts *SeatOptions, callOpts ...CallOption) (*Seat, error) {
	hb, err := s.Heartbeat(ctx, in, callOpts...)
	if err != nil {
		return nil, err
	}
	if !hb.Holds() {
		return nil, &SeatRefusedError{Heartbeat: hb}
	}
	st := &Seat{s: s, req: in, last: hb, lost: make(chan error, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if opts != nil {
		st.opts = *opts
	}
	go st.run()
	return st, nil
}

// Last returns the latest successful heartbeat's answer.
func (st *Seat) Last() *Heartbeat {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last
}

// Lost receives one error when the seat is lost; it is never closed.
func (st *Seat) Lost() <-chan error { return st.lost }

func ttlOf(hb *Heartbeat) time.Duration {
	if hb.Seat != nil && hb.Seat.TTL > 0 {
		return time.Duration(hb.Seat.TTL) * time.Second
	}
	return defaultTTL
}

func (st *Seat) run() {
	defer close(st.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-st.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The seat lapses a TTL after the last heartbeat the server took, on
	// the server's clock; this side counts from when the answer came.
	held := time.Now()
	for {
		ttl := ttlOf(st.Last())
		wait := st.opts.Interval
		if wait <= 0 {
			wait = ttl / 3
		}
		t := time.NewTimer(wait)
		select {
		case <-st.stop:
			t.Stop()
			return
		case <-t.C:
		}
		hb, err := st.s.Heartbeat(ctx, st.req)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if time.Since(held) >= ttl {
				st.lost <- fmt.Errorf("latchkey: seat lapsed: no heartbeat succeeded for %s: %w", ttl, err)
				return
			}
			continue // try again at the next tick, while the seat lasts
		case !hb.Holds():
			st.lost <- &SeatRefusedError{Heartbeat: hb}
			return
		}
		held = time.Now()
		st.mu.Lock()
		st.last = hb
		st.mu.Unlock()
	}
}

// Close stops the heartbeats and releases the seat (the release is sent
// even if the seat was lost: it frees nothing then, harmlessly). It
// returns the release's error; later calls return nil.
func (st *Seat) Close(ctx context.Context) error {
	err := error(nil)
	st.closed.Do(func() {
		close(st.stop)
		<-st.done
		_, err = st.s.Release(ctx, st.req)
	})
	return err
}

// LicenseSeat is a live seat of a license, as the vendor sees it.
type LicenseSeat struct {
	ID              int64     `json:"id"`
	LicenseID       int64     `json:"license_id"`
	Instance        string    `json:"instance"`
	IP              string    `json:"ip"`
	CreatedAt       time.Time `json:"created_at"`
	LastHeartbeatAt time.Time `json:"last_heartbeat_at"`
	ExpiresAt       time.Time `json:"expires_at"`
}

// Seats returns a license's live seats, oldest first.
func (s *LicenseService) Seats(ctx context.Context, projectID, licenseID int64, opts ...CallOption) ([]LicenseSeat, error) {
	var out []LicenseSeat
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: licensesPath(projectID) + "/" + id(licenseID) + "/seats"}, &out)
	return out, err
}

// DeleteSeat frees one seat of a license (a machine that died holding
// it); the copy, if it still runs, claims one again at its next heartbeat.
func (s *LicenseService) DeleteSeat(ctx context.Context, projectID, licenseID, seatID int64, opts ...CallOption) (*LicenseSeat, error) {
	var out LicenseSeat
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: licensesPath(projectID) + "/" + id(licenseID) + "/seats/" + id(seatID)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
