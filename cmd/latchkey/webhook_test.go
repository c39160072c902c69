package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// flakyReceiver answers 503 while down and 200 after, recording the events
// it accepted.
type flakyReceiver struct {
	mu       sync.Mutex
	down     bool
	accepted []string // event IDs answered 200
	arrived  chan struct{}
}

func (f *flakyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct{ ID, Type string }
	_ = json.Unmarshal(body, &ev)
	f.mu.Lock()
	down := f.down
	if !down {
		f.accepted = append(f.accepted, ev.ID)
	}
	f.mu.Unlock()
	if down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
	select {
	case f.arrived <- struct{}{}:
	default:
	}
}

func (f *flakyReceiver) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

func (f *flakyReceiver) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.accepted...)
}

// TestAcknowledgedEventSurvivesKill: an event whose write was answered 201
// is delivered after the server is killed with SIGKILL before delivering
// it (the receiver refuses it until then) and started again.
func TestAcknowledgedEventSurvivesKill(t *testing.T) {
	for name, env := range backendEnvs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rc := &flakyReceiver{down: true, arrived: make(chan struct{}, 1)}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			l := startLive(t, append(env, "LATCHKEY_ALLOW_INSECURE_WEBHOOKS=true"))
			l.mustCall("POST", "webhook-endpoints", map[string]any{"url": srv.URL, "events": []string{"project.created"}})
			l.mustCall("POST", "project", map[string]any{"name": "Durable"})
			l.kill()
			rc.setDown(false)
			l.start()
			deadline := time.After(2 * time.Minute) // the first retry comes within 36 s
			for len(rc.got()) == 0 {
				select {
				case <-rc.arrived:
				case <-deadline:
					t.Fatal("the acknowledged event was not delivered after the restart")
				}
			}
			_, data := l.call("GET", "events?type=project.created", nil, "X-API-KEY", l.apiKey)
			raw, _ := json.Marshal(data["data"])
			var evs []struct{ ID string }
			_ = json.Unmarshal(raw, &evs)
			if got := rc.got(); len(evs) != 1 || len(got) != 1 || got[0] != evs[0].ID {
				t.Fatalf("events %v, delivered %v", evs, got)
			}
		})
	}
}
