package httpapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// heartbeatAnswer is the native validation's answer with its seat.
type heartbeatAnswer struct {
	Valid   bool   `json:"valid"`
	Code    string `json:"code"`
	HasPaid bool   `json:"has_paid"`
	License *struct {
		ID int64 `json:"id"`
	} `json:"license"`
	Seat *struct {
		Instance   string  `json:"instance"`
		ExpiresAt  *string `json:"expires_at"`
		Held       int64   `json:"held"`
		Max        int64   `json:"max"`
		TTL        int64   `json:"ttl"`
		NextFreeAt *string `json:"next_free_at"`
		Released   bool    `json:"released"`
	} `json:"seat"`
}

// seatLicense creates a license in rt's paid project holding at most max
// seats for ttl seconds (0: the default), set in the store as the API's
// create will.
func seatLicense(t *testing.T, n *apptest.Node, owner apptest.Account, project int64, title string, max, ttl int64) *core.License {
	t.Helper()
	ctx := context.Background()
	l, err := n.Service().CreateLicense(ctx, owner.Actor(), project, service.LicenseInput{Title: service.Some(title)})
	if err != nil {
		t.Fatal(err)
	}
	upd := core.LicenseUpdate{}
	m := &max
	upd.MaxConcurrent = &m
	if ttl > 0 {
		tp := &ttl
		upd.HeartbeatTTL = &tp
	}
	if _, err := n.Store.UpdateLicense(ctx, l.ID, upd); err != nil {
		t.Fatal(err)
	}
	return l
}

func beat(t *testing.T, n *apptest.Node, method, key, instance string, extra ...string) (*apptest.Response, heartbeatAnswer) {
	t.Helper()
	body := `{"instance":` + strconv.Quote(instance) + strings.Join(extra, "") + `}`
	r := n.Do(t, method, "/api/v1/licenses/heartbeat", body, "X-LICENSE-KEY", key, "X-Devpayr-Domain", "shop.example.com")
	var a heartbeatAnswer
	if r.Status == 200 {
		r.Decode(t, &a)
	}
	return r, a
}

func TestHeartbeat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		l := seatLicense(t, n, rt.owner, rt.paid, "two seats", 2, 60)
		t0 := n.Clock.Now()
		at := func(d time.Duration) string { return t0.Add(d).UTC().Format("2006-01-02T15:04:05.000000Z") }

		// Two seats, a third refused with when the next frees.
		_, a := beat(t, n, "POST", l.UUID, "a")
		if !a.Valid || a.Code != "VALID" || a.Seat == nil || a.Seat.Held != 1 || a.Seat.Max != 2 || a.Seat.TTL != 60 ||
			a.Seat.ExpiresAt == nil || *a.Seat.ExpiresAt != at(time.Minute) || a.Seat.Instance != "a" {
			t.Fatalf("a: %+v %+v", a, a.Seat)
		}
		n.Clock.Advance(10 * time.Second)
		if _, a := beat(t, n, "POST", l.UUID, "b"); !a.Valid || a.Seat.Held != 2 {
			t.Fatalf("b: %+v", a.Seat)
		}
		r, a := beat(t, n, "POST", l.UUID, "c")
		wantStatus(t, r, 200, `"message":"All seats of this license are in use."`)
		if a.Valid || a.Code != licensing.CodeSeatsExhausted || a.Seat.NextFreeAt == nil || *a.Seat.NextFreeAt != at(time.Minute) ||
			a.Seat.ExpiresAt != nil || a.Seat.Held != 2 || a.License == nil {
			t.Fatalf("c: %+v %+v", a, a.Seat)
		}
		// A release frees a seat at once (DELETE, instance in the query).
		r = n.Do(t, "DELETE", "/api/v1/licenses/heartbeat?instance=a", nil, "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", "shop.example.com")
		wantStatus(t, r, 200, `"released":true`, `"held":1`)
		if _, a := beat(t, n, "POST", l.UUID, "c"); !a.Valid || a.Seat.Held != 2 {
			t.Fatalf("c after a's release: %+v", a.Seat)
		}
		// "release": true on POST, and on the native validation with "seat".
		if _, a := beat(t, n, "POST", l.UUID, "c", `,"release":true`); !a.Seat.Released || a.Seat.Held != 1 {
			t.Fatalf("release on POST: %+v", a.Seat)
		}
		r = n.Do(t, "POST", "/api/v1/licenses/validate", `{"seat":true,"instance":"d","domain":"shop.example.com"}`, "X-LICENSE-KEY", l.UUID)
		wantStatus(t, r, 200, `"code":"VALID"`, `"instance":"d"`, `"held":2`)
		r = n.Do(t, "POST", "/api/v1/licenses/validate", `{"seat":true,"release":"1","instance":"d","domain":"shop.example.com"}`, "X-LICENSE-KEY", l.UUID)
		wantStatus(t, r, 200, `"released":true`, `"held":1`)
		// Expiry with the node's clock: b's seat lapses a TTL after its beat.
		n.Clock.Advance(time.Minute)
		if _, a := beat(t, n, "POST", l.UUID, "e"); !a.Valid || a.Seat.Held != 1 {
			t.Fatalf("after b expired: %+v", a.Seat)
		}

		// Without max_concurrent the heartbeat answers as validation, seat null;
		// the native validation without "seat" has no seat field at all.
		r, a = beat(t, n, "POST", rt.keys["basic"], "a")
		wantStatus(t, r, 200, `"seat":null`)
		if !a.Valid || a.Seat != nil {
			t.Fatalf("no limit: %+v", a)
		}
		r = n.Do(t, "POST", "/api/v1/licenses/validate", `{"domain":"shop.example.com"}`, "X-LICENSE-KEY", l.UUID)
		wantStatus(t, r, 200, `"code":"VALID"`)
		if strings.Contains(string(r.Body), `"seat"`) {
			t.Fatalf("a plain validation shows a seat: %s", r.Body)
		}
		// A refused license: its code, no seat; unknown keys as validation.
		r, a = beat(t, n, "POST", rt.keys["revoked"], "a")
		wantStatus(t, r, 200, `"code":"REVOKED"`, `"seat":null`)
		r, _ = beat(t, n, "POST", rt.keys["unknown"], "a")
		wantStatus(t, r, 200, `"code":"NOT_FOUND"`)

		// Heartbeats count no daily use.
		capped := rt.keys["capped"]
		for range 5 {
			if r, a := beat(t, n, "POST", capped, "a"); a.Code != "VALID" {
				t.Fatalf("capped heartbeat: %s", r.Body)
			}
		}

		// Bad input: 422 naming the field, never a 500.
		for _, c := range []struct{ method, body, field string }{
			{"POST", `{}`, "instance"},
			{"POST", `{"instance":""}`, "instance"},
			{"POST", `{"instance":"` + strings.Repeat("x", 256) + `"}`, "instance"},
			{"POST", `{"instance":"a\u0000b"}`, "instance"},
			{"POST", `{"instance":["a"]}`, "instance"},
			{"POST", `{"instance":"a","release":"maybe"}`, "release"},
			{"DELETE", ``, "instance"},
		} {
			r := n.Do(t, c.method, "/api/v1/licenses/heartbeat", c.body, "X-LICENSE-KEY", l.UUID)
			wantStatus(t, r, 422)
			if len(r.Env.Errors[c.field]) == 0 {
				t.Fatalf("%s %s: errors %v", c.method, c.body, r.Env.Errors)
			}
		}
		r = n.Do(t, "POST", "/api/v1/licenses/validate", `{"seat":true,"domain":"shop.example.com"}`, "X-LICENSE-KEY", l.UUID)
		wantStatus(t, r, 422)
		r = n.Do(t, "POST", "/api/v1/licenses/heartbeat", `{"instance":"a"}`)
		wantStatus(t, r, 422)
		if len(r.Env.Errors["license"]) == 0 {
			t.Fatalf("no key: %s", r.Body)
		}

		// CORS: preflight allows DELETE.
		r = n.Do(t, "OPTIONS", "/api/v1/licenses/heartbeat", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "DELETE")
		if r.Status != 204 || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "DELETE") || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("preflight: %d %v", r.Status, r.Header)
		}
	})
}

func TestSeatsVendorRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		l := seatLicense(t, n, rt.owner, rt.paid, "vendor seats", 3, 0)
		for _, inst := range []string{"laptop", "desktop"} {
			beat(t, n, "POST", l.UUID, inst)
		}
		base := "/api/v1/project/" + strconv.FormatInt(rt.paid, 10) + "/licenses/" + strconv.FormatInt(l.ID, 10) + "/seats"
		r := n.Do(t, "GET", base, nil, apptest.Key(rt.key)...)
		wantStatus(t, r, 200, `"instance":"laptop"`, `"instance":"desktop"`, `"ip":"127.0.0.1"`, `"last_heartbeat_at"`)
		var seats []struct {
			ID       int64  `json:"id"`
			Instance string `json:"instance"`
		}
		r.Decode(t, &seats)
		if len(seats) != 2 || seats[0].Instance != "laptop" {
			t.Fatalf("seats %+v", seats)
		}
		wantStatus(t, n.Do(t, "DELETE", base+"/"+strconv.FormatInt(seats[0].ID, 10), nil, apptest.Key(rt.key)...), 200,
			`"message":"Seat deleted successfully."`, `"instance":"laptop"`)
		wantStatus(t, n.Do(t, "DELETE", base+"/"+strconv.FormatInt(seats[0].ID, 10), nil, apptest.Key(rt.key)...), 404)
		wantStatus(t, n.Do(t, "DELETE", base+"/nope", nil, apptest.Key(rt.key)...), 404)
		r = n.Do(t, "GET", base, nil, apptest.Key(rt.key)...)
		r.Decode(t, &seats)
		if len(seats) != 1 || seats[0].Instance != "desktop" {
			t.Fatalf("after delete: %+v", seats)
		}
		// Another project's path, no key, a read-only key.
		wantStatus(t, n.Do(t, "GET", "/api/v1/project/"+strconv.FormatInt(rt.unpaid, 10)+"/licenses/"+strconv.FormatInt(l.ID, 10)+"/seats", nil,
			apptest.Key(rt.key)...), 404)
		wantStatus(t, n.Do(t, "GET", base, nil), 401)
		_, ro := n.CreateKey(t, rt.owner, service.KeyInput{Name: "ro", Scopes: []string{"licenses:read"}})
		wantStatus(t, n.Do(t, "GET", base, nil, apptest.Key(ro)...), 200)
		wantStatus(t, n.Do(t, "DELETE", base+"/"+strconv.FormatInt(seats[0].ID, 10), nil, apptest.Key(ro)...), 403, "licenses:write")
	})
}

// race sends 64 concurrent heartbeats (one per instance) to nodes in turn
// and returns the instances that were given a seat.
func race(t *testing.T, nodes []*apptest.Node, key string) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	held := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			instance := fmt.Sprintf("machine-%02d", i)
			r, a := beat(t, nodes[i%len(nodes)], "POST", key, instance)
			if r.Status != 200 {
				t.Errorf("%s: %d %s", instance, r.Status, r.Body)
				return
			}
			switch a.Code {
			case "VALID":
				mu.Lock()
				held[instance] = true
				mu.Unlock()
			case licensing.CodeSeatsExhausted:
				if a.Seat == nil || a.Seat.NextFreeAt == nil {
					t.Errorf("%s refused without next_free_at: %s", instance, r.Body)
				}
			default:
				t.Errorf("%s: %s", instance, r.Body)
			}
		})
	}
	wg.Wait()
	return held
}

func TestSeatRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		l := seatLicense(t, rt.n, rt.owner, rt.paid, "five seats", 5, 0)
		if held := race(t, []*apptest.Node{rt.n}, l.UUID); len(held) != 5 {
			t.Fatalf("%d of 64 racing instances hold a seat of 5: %v", len(held), held)
		}
	})
}

// Two PostgreSQL nodes stay exact: the store decides, with the license
// row locked.
func TestSeatRaceAcrossNodes(t *testing.T) {
	b := postgresOnly(t)
	rt := newRuntime(t, b)
	l := seatLicense(t, rt.n, rt.owner, rt.paid, "five seats", 5, 0)
	peer := rt.n.Peer(t)
	peer.Sync(t, rt.n)
	held := race(t, []*apptest.Node{rt.n, peer}, l.UUID)
	if len(held) != 5 {
		t.Fatalf("%d of 64 racing instances hold a seat of 5 across two nodes: %v", len(held), held)
	}
	// A release on one node frees the seat for the other at once.
	var holder string
	for h := range held {
		holder = h
		break
	}
	if _, a := beat(t, peer, "POST", l.UUID, "newcomer"); a.Code != licensing.CodeSeatsExhausted {
		t.Fatalf("newcomer before the release: %s", a.Code)
	}
	if r, a := beat(t, rt.n, "DELETE", l.UUID, holder); !a.Seat.Released {
		t.Fatalf("release: %s", r.Body)
	}
	if _, a := beat(t, peer, "POST", l.UUID, "newcomer"); a.Code != "VALID" || a.Seat.Held != 5 {
		t.Fatalf("newcomer after the release: %+v", a)
	}
}

// TestExplainSeats: explain checks the seats rule (without claiming one)
// when the validation asks for a seat, and reports it unchecked otherwise.
func TestExplainSeats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		l := seatLicense(t, n, rt.owner, rt.paid, "one seat", 1, 60)
		if _, a := beat(t, n, "POST", l.UUID, "pc-1"); a.Code != licensing.CodeValid {
			t.Fatalf("first heartbeat: %+v", a)
		}
		type check struct {
			Rule, Code, Detail string
			Passed             bool
		}
		explain := func(extra string) (string, check) {
			t.Helper()
			r := n.Do(t, "POST", "/api/v1/licenses/validate", `{"explain":true,"domain":"shop.example.com"`+extra+`}`, "X-LICENSE-KEY", l.UUID)
			var out struct {
				Data struct {
					Code   string  `json:"code"`
					Checks []check `json:"checks"`
				}
			}
			if r.Status != 200 {
				t.Fatalf("explain: %d %s", r.Status, r.Body)
			}
			r.Decode(t, &out.Data)
			for _, c := range out.Data.Checks {
				if c.Rule == licensing.RuleSeats {
					return out.Data.Code, c
				}
			}
			t.Fatalf("no seats check in %+v", out.Data.Checks)
			return "", check{}
		}
		tests := []struct {
			name, extra, wantCode string
			wantPassed            bool
		}{
			{"no seat asked", ``, licensing.CodeValid, true},
			{"another instance", `,"seat":true,"instance":"pc-2"`, licensing.CodeSeatsExhausted, false},
			{"the holder", `,"seat":true,"instance":"pc-1"`, licensing.CodeValid, true},
		}
		for _, tc := range tests {
			code, c := explain(tc.extra)
			if code != tc.wantCode || c.Passed != tc.wantPassed {
				t.Errorf("%s: code %s, seats check %+v; want %s, passed %v", tc.name, code, c, tc.wantCode, tc.wantPassed)
			}
		}
		// Explaining claimed nothing: the only seat is still pc-1's.
		seats, err := n.Store.ListSeats(context.Background(), l.ID, n.Clock.Now())
		if err != nil || len(seats) != 1 || seats[0].Instance != "pc-1" {
			t.Fatalf("seats %+v, %v", seats, err)
		}
	})
}
