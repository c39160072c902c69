package apptest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one request a Receiver got.
type Received struct {
	Header http.Header
	Body   []byte
}

// Receiver is a webhook receiver on loopback: a real HTTP server that
// records every request and answers with the statuses it was given, in
// turn (200 once they run out).
type Receiver struct {
	URL string

	mu       sync.Mutex
	statuses []int
	got      []Received
	arrived  chan struct{}
}

// NewReceiver starts a receiver; it stops when the test ends.
func NewReceiver(tb testing.TB, statuses ...int) *Receiver {
	tb.Helper()
	rc := &Receiver{statuses: statuses, arrived: make(chan struct{}, 1<<16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, Received{Header: r.Header.Clone(), Body: body})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
		rc.arrived <- struct{}{}
	}))
	tb.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Wait returns once the receiver has got n requests in all, failing the
// test if that takes longer than a minute (deliveries are asynchronous;
// this bounds a hang, it measures nothing).
func (rc *Receiver) Wait(tb testing.TB, n int) []Received {
	tb.Helper()
	deadline := time.After(time.Minute)
	for {
		if got := rc.Got(); len(got) >= n {
			return got
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			tb.Fatalf("receiver: %d requests after a minute, want %d", len(rc.Got()), n)
		}
	}
}

// Got returns the requests so far.
func (rc *Receiver) Got() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}
