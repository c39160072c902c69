// Package webhook verifies the events a Latchkey server delivers to a
// webhook endpoint. It imports only the standard library.
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//		ev, err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), secret, 5*time.Minute)
//		if err != nil {
//			http.Error(w, "bad signature", http.StatusBadRequest)
//			return
//		}
//		switch ev.Type { case "license.revoked": … }
//	}
//
// The signature is Stripe's scheme: the header is
// "t=<unix seconds>,v1=<hex>" and v1 is HMAC-SHA256, keyed with the
// endpoint's secret (the whole "whsec_…" string), of t + "." + body. While
// an endpoint's secret is being rotated the header carries one v1 per
// secret, and either secret verifies.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries an event's signature.
const SignatureHeader = "Latchkey-Signature"

// DefaultTolerance is how far a signature's time may be from now when
// Verify is given no tolerance: it bounds how long a captured delivery can
// be replayed.
const DefaultTolerance = 5 * time.Minute

// Event is a delivered event.
type Event struct {
	ID        string    `json:"id"`   // evt_…, unique and sortable
	Type      string    `json:"type"` // e.g. "license.revoked"
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
}

// EventData is what an event is about: the resource after the change and,
// for updates, the previous values of the fields that changed.
type EventData struct {
	Object   json.RawMessage `json:"object"`
	Previous json.RawMessage `json:"previous,omitempty"`
}

// Errors of Verify; every failure wraps one of them.
var (
	ErrNoSignature = errors.New("webhook: no signature header")
	ErrHeader      = errors.New("webhook: malformed signature header")
	ErrTimestamp   = errors.New("webhook: signature time outside the tolerance")
	ErrSignature   = errors.New("webhook: no signature matches the secret")
	ErrPayload     = errors.New("webhook: payload is not an event")
)

// Verify checks that payload was signed by the server with secret, no
// longer than tolerance ago (DefaultTolerance if 0), and returns the event.
func Verify(payload []byte, header, secret string, tolerance time.Duration) (*Event, error) {
	return VerifyAt(payload, header, secret, tolerance, time.Now())
}

// VerifyAt is Verify as of now.
func VerifyAt(payload []byte, header, secret string, tolerance time.Duration, now time.Time) (*Event, error) {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	t, sigs, err := ParseHeader(header)
	if err != nil {
		return nil, err
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return nil, fmt.Errorf("%w: signed at %s, %s from now", ErrTimestamp, time.Unix(t, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	want := Sign(secret, t, payload)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok // every candidate is compared: no early exit
	}
	if !ok {
		return nil, ErrSignature
	}
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%w: no id or type", ErrPayload)
	}
	return &ev, nil
}

// Sign returns the v1 signature of payload at unix time t with secret:
// HMAC-SHA256(secret, t + "." + payload).
func Sign(secret string, t int64, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// ParseHeader reads a signature header: its time and every v1 signature.
// Unknown keys are ignored, so that later schemes can be added beside v1.
func ParseHeader(header string) (t int64, v1 [][]byte, err error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, nil, ErrNoSignature
	}
	seenT := false
	for _, part := range strings.Split(header, ",") { // not SplitSeq: Go 1.24
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: %q is not key=value", ErrHeader, part)
		}
		switch k {
		case "t":
			if seenT {
				return 0, nil, fmt.Errorf("%w: two times", ErrHeader)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return 0, nil, fmt.Errorf("%w: time %q", ErrHeader, v)
			}
			t, seenT = n, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return 0, nil, fmt.Errorf("%w: v1 is not a hex SHA-256", ErrHeader)
			}
			v1 = append(v1, b)
		}
	}
	if !seenT {
		return 0, nil, fmt.Errorf("%w: no time", ErrHeader)
	}
	if len(v1) == 0 {
		return 0, nil, fmt.Errorf("%w: no v1 signature", ErrHeader)
	}
	return t, v1, nil
}
