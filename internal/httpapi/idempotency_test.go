package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// idemKey returns the headers of a request with secret and an
// Idempotency-Key.
func idemKey(secret, key string) []string {
	return append(apptest.Key(secret), httpapi.IdempotencyKeyHeader, key)
}

// countProjects counts the organization's projects named name.
func countProjects(t *testing.T, n *apptest.Node, secret, name string) int {
	t.Helper()
	return countWhere(t, n, secret, "/api/v1/projects?per_page=100", "name", name)
}

// countAudit counts the organization's audit events of action.
func countAudit(t *testing.T, n *apptest.Node, secret, action string) int {
	t.Helper()
	return countWhere(t, n, secret, "/api/v1/audit?action="+action, "action", action)
}

// countWhere counts the items of the page at path whose field is value.
func countWhere(t *testing.T, n *apptest.Node, secret, path, field, value string) int {
	t.Helper()
	r := n.Do(t, "GET", path, nil, apptest.Key(secret)...)
	wantStatus(t, r, 200)
	var page struct {
		Data []map[string]any `json:"data"`
	}
	r.Decode(t, &page)
	c := 0
	for _, item := range page.Data {
		if item[field] == value {
			c++
		}
	}
	return c
}

func wantReplay(t *testing.T, first, again *apptest.Response) {
	t.Helper()
	if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay %d %s\nwant %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if got := again.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Fatalf("replay without Idempotent-Replayed: true (%q)", got)
	}
	if again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Fatalf("replayed Content-Type %q, want %q", again.Header.Get("Content-Type"), first.Header.Get("Content-Type"))
	}
	if id := again.Header.Get("X-Request-Id"); id == "" || id == first.Header.Get("X-Request-Id") {
		t.Fatalf("replay carries request ID %q, want its own", id)
	}
}

func wantFirst(t *testing.T, r *apptest.Response, status int) {
	t.Helper()
	wantStatus(t, r, status)
	if v, ok := r.Header["Idempotent-Replayed"]; ok {
		t.Fatalf("a first answer marked replayed: %v", v)
	}
}

func TestIdempotencyReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		body := map[string]any{"name": "Once"}
		first := n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "create-once")...)
		wantFirst(t, first, 201)
		again := n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "create-once")...)
		wantReplay(t, first, again)
		if again.Header.Get("X-RateLimit-Remaining") == first.Header.Get("X-RateLimit-Remaining") {
			t.Fatal("a replay shows the first request's rate-limit state")
		}
		if c := countProjects(t, n, f.ownerKey, "Once"); c != 1 {
			t.Fatalf("%d projects after a retry", c)
		}
		if c := countAudit(t, n, f.ownerKey, "project.create"); c != 1 {
			t.Fatalf("%d project.create events after a retry", c)
		}
		// The v1 alias is the same request.
		wantReplay(t, first, n.Do(t, "POST", "/v1/project", body, idemKey(f.ownerKey, "create-once")...))

		// A key is the API key's: another key's "create-once" is new.
		wantFirst(t, n.Do(t, "POST", "/api/v1/project", body, idemKey(f.otherKey, "create-once")...), 201)
		// Without a key, or with another one, a POST runs every time.
		wantFirst(t, n.Do(t, "POST", "/api/v1/project", body, apptest.Key(f.ownerKey)...), 201)
		wantFirst(t, n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "create-twice")...), 201)
		if c := countProjects(t, n, f.ownerKey, "Once"); c != 3 {
			t.Fatalf("%d projects, want 3", c)
		}

		// PATCH, and a 4xx answer: both stored and replayed.
		var p struct {
			ID int64 `json:"id"`
		}
		first.Decode(t, &p)
		path := "/api/v1/project/" + strconv.FormatInt(p.ID, 10)
		patch := n.Do(t, "PATCH", path, map[string]any{"description": "new"}, idemKey(f.ownerKey, "patch-1")...)
		wantFirst(t, patch, 200)
		wantReplay(t, patch, n.Do(t, "PATCH", path, map[string]any{"description": "new"}, idemKey(f.ownerKey, "patch-1")...))
		if c := countAudit(t, n, f.ownerKey, "project.update"); c != 1 {
			t.Fatalf("%d project.update events after a retried PATCH", c)
		}
		bad := n.Do(t, "POST", "/api/v1/project", map[string]any{"name": ""}, idemKey(f.ownerKey, "bad-1")...)
		wantFirst(t, bad, 422)
		wantReplay(t, bad, n.Do(t, "POST", "/api/v1/project", map[string]any{"name": ""}, idemKey(f.ownerKey, "bad-1")...))

		// Other methods ignore the header, malformed or not.
		wantFirst(t, n.Do(t, "GET", path, nil, idemKey(f.ownerKey, "")...), 200)
		wantFirst(t, n.Do(t, "GET", path, nil, idemKey(f.ownerKey, "patch-1")...), 200)
	})
}

func TestIdempotencyKeyReused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		first := n.Do(t, "POST", "/api/v1/project", map[string]any{"name": "First"}, idemKey(f.ownerKey, "k")...)
		wantFirst(t, first, 201)
		var p struct {
			ID int64 `json:"id"`
		}
		first.Decode(t, &p)
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"other body", "POST", "/api/v1/project", map[string]any{"name": "Second"}},
			{"same body, other spacing", "POST", "/api/v1/project", `{"name":  "First"}`},
			{"other path", "POST", "/api/v1/api-keys", map[string]any{"name": "First"}},
			{"other method and path", "PATCH", "/api/v1/project/" + strconv.FormatInt(p.ID, 10), map[string]any{"name": "First"}},
			{"a query", "POST", "/api/v1/project?x=1", map[string]any{"name": "First"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, tc.method, tc.path, tc.body, idemKey(f.ownerKey, "k")...)
				wantStatus(t, r, 422, core.ReasonIdempotencyKeyReused, httpapi.IdempotencyKeyHeader)
				if r.Env.Code != core.ReasonIdempotencyKeyReused || len(r.Env.Errors[httpapi.IdempotencyKeyHeader]) != 1 {
					t.Fatalf("code %q errors %v", r.Env.Code, r.Env.Errors)
				}
			})
		}
		if c := countProjects(t, n, f.ownerKey, "Second"); c != 0 {
			t.Fatalf("a reused key created %d projects", c)
		}
		r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(f.ownerKey)...)
		if strings.Contains(string(r.Body), `"name":"First"`) {
			t.Fatal("a reused key created an API key")
		}
	})
}

// TestIdempotencyInFlight holds a key as a request on another node would
// (claimed through the store for the very request, never completed): the
// same request answers 409 until the lease runs out, then takes the key
// over and runs, once.
func TestIdempotencyInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		k, secret := n.CreateKey(t, f.owner, service.KeyInput{Name: "held"})
		body := []byte(`{"name":"Held"}`)
		now := n.Clock.Now()
		res, err := n.Store.ClaimIdempotencyKey(context.Background(), &core.IdempotencyClaim{
			APIKeyID: k.ID, Key: "held-1", Token: "another-node",
			Fingerprint: httpapi.IdempotencyFingerprint("POST", "/api/v1/project", "", body),
			Now:         now, LeaseUntil: now.Add(service.IdempotencyLease), ExpiresAt: now.Add(service.IdempotencyTTL),
		})
		if err != nil || res.Outcome != core.IdempotencyClaimed {
			t.Fatalf("claim: %+v, %v", res, err)
		}
		r := n.Do(t, "POST", "/api/v1/project", body, idemKey(secret, "held-1")...)
		wantStatus(t, r, 409, core.ReasonIdempotencyKeyInUse)
		if r.Env.Code != core.ReasonIdempotencyKeyInUse || r.Header.Get("Retry-After") == "" {
			t.Fatalf("code %q, Retry-After %q", r.Env.Code, r.Header.Get("Retry-After"))
		}
		// Another body is a misuse, in flight or not.
		wantStatus(t, n.Do(t, "POST", "/api/v1/project", `{"name":"Other"}`, idemKey(secret, "held-1")...), 422,
			core.ReasonIdempotencyKeyReused)
		if c := countProjects(t, n, secret, "Held"); c != 0 {
			t.Fatalf("%d projects while the key was held", c)
		}

		n.Clock.Advance(service.IdempotencyLease)
		first := n.Do(t, "POST", "/api/v1/project", body, idemKey(secret, "held-1")...)
		wantFirst(t, first, 201)
		wantReplay(t, first, n.Do(t, "POST", "/api/v1/project", body, idemKey(secret, "held-1")...))
		if ok, err := n.Store.CompleteIdempotencyKey(context.Background(), k.ID, "held-1", "another-node",
			&core.StoredResponse{Status: 500}); err != nil || ok {
			t.Fatalf("the crashed claim could still store an answer: %v, %v", ok, err)
		}
		if c := countProjects(t, n, secret, "Held"); c != 1 {
			t.Fatalf("%d projects after the takeover", c)
		}
	})
}

// TestIdempotencyExpiry: 24 hours after its first request a key is new
// again, and pruning (the scheduler's tick) deletes what expired.
func TestIdempotencyExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		body := map[string]any{"name": "Daily"}
		first := n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "daily")...)
		wantFirst(t, first, 201)
		n.Clock.Advance(service.IdempotencyTTL - time.Second)
		wantReplay(t, first, n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "daily")...))
		wantFirst(t, n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "other")...), 201)
		ctx := context.Background()
		if pruned, err := n.Service().PruneIdempotencyKeys(ctx); err != nil || pruned != 0 {
			t.Fatalf("pruned %d keys before any expired: %v", pruned, err)
		}
		n.Clock.Advance(time.Second)
		again := n.Do(t, "POST", "/api/v1/project", body, idemKey(f.ownerKey, "daily")...)
		wantFirst(t, again, 201)
		if bytes.Equal(again.Body, first.Body) {
			t.Fatal("an expired key replayed its answer")
		}
		if c := countProjects(t, n, f.ownerKey, "Daily"); c != 3 {
			t.Fatalf("%d projects, want 3", c)
		}
		// "other" expires a second before "daily", claimed again.
		n.Clock.Advance(service.IdempotencyTTL - time.Second)
		if pruned, err := n.Service().PruneIdempotencyKeys(ctx); err != nil || pruned != 1 {
			t.Fatalf("pruned %d keys, want 1: %v", pruned, err)
		}
		// The scheduler's tick prunes what expired ("daily"): nothing is
		// left for a prune after it.
		n.Clock.Advance(time.Second)
		if err := n.Service().ScheduleTick(ctx, n.Stack.ScheduleConfig()); err != nil {
			t.Fatal(err)
		}
		if pruned, err := n.Service().PruneIdempotencyKeys(ctx); err != nil || pruned != 0 {
			t.Fatalf("%d expired keys left after the scheduler's tick, want 0: %v", pruned, err)
		}
	})
}

func TestIdempotencyKeyFormat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		for i, tc := range []struct {
			name   string
			values []string
			status int
		}{
			{"empty", []string{""}, 422},
			{"256 characters", []string{strings.Repeat("k", 256)}, 422},
			{"not ASCII", []string{"clé"}, 422},
			{"control character", []string{"a\tb"}, 422},
			{"sent twice", []string{"a", "b"}, 422},
			{"one character", []string{"x"}, 201},
			{"255 characters", []string{strings.Repeat("k", 255)}, 201},
			{"spaces and symbols", []string{"order 42 / {retry} ~!"}, 201},
		} {
			t.Run(tc.name, func(t *testing.T) {
				name := "Format " + strconv.Itoa(i)
				enc, _ := json.Marshal(map[string]any{"name": name})
				h := apptest.Key(f.ownerKey)
				for _, v := range tc.values {
					h = append(h, httpapi.IdempotencyKeyHeader, v)
				}
				// apptest.Do sets each name once: send repeated headers
				// under two spellings, which net/http joins.
				if len(tc.values) == 2 {
					h = append(apptest.Key(f.ownerKey), httpapi.IdempotencyKeyHeader, tc.values[0], "idempotency-key", tc.values[1])
				}
				r := n.Do(t, "POST", "/api/v1/project", enc, h...)
				wantStatus(t, r, tc.status)
				want := 0
				if tc.status == 201 {
					want = 1
				} else if r.Env.Code != "VALIDATION_ERROR" || len(r.Env.Errors[httpapi.IdempotencyKeyHeader]) != 1 {
					t.Fatalf("code %q errors %v", r.Env.Code, r.Env.Errors)
				}
				if c := countProjects(t, n, f.ownerKey, name); c != want {
					t.Fatalf("%d projects, want %d", c, want)
				}
			})
		}
	})
}
