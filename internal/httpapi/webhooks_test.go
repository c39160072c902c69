package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func insecureWebhooks(c *config.Config) { c.AllowInsecureWebhooks = true }

// hooks is a node with an owner's key, for the webhook tests.
type hooks struct {
	n     *apptest.Node
	owner apptest.Account
	key   string
}

func newHooks(t *testing.T, b storetest.Backend, opts ...apptest.Option) *hooks {
	t.Helper()
	n := apptest.New(t, b, opts...)
	h := &hooks{n: n, owner: n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)}
	_, h.key = n.CreateKey(t, h.owner, service.KeyInput{})
	return h
}

func (h *hooks) do(t *testing.T, method, path string, body any, status int) *apptest.Response {
	t.Helper()
	r := h.n.Do(t, method, path, body, apptest.Key(h.key)...)
	wantStatus(t, r, status)
	return r
}

type endpointOut struct {
	ID      int64    `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret"`
	Enabled bool     `json:"enabled"`
	Source  string   `json:"source"`
}

func (h *hooks) endpoint(t *testing.T, body map[string]any) endpointOut {
	t.Helper()
	var ep endpointOut
	h.do(t, "POST", "/api/v1/webhook-endpoints", body, 201).Decode(t, &ep)
	if !strings.HasPrefix(ep.Secret, "whsec_") {
		t.Fatalf("secret %q", ep.Secret)
	}
	return ep
}

// independentHMAC checks a delivery's signature without the SDK: the hex
// HMAC-SHA256 of t + "." + body under the secret, as a receiver in any
// language computes it.
func independentHMAC(t *testing.T, got apptest.Received, secret string) {
	t.Helper()
	header := got.Header.Get("Latchkey-Signature")
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(got.Body)))
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return
		}
	}
	t.Fatalf("no v1 in %q matches the HMAC computed here", header)
}

func TestWebhookLifecycleDeliveredInOrder(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			rc := apptest.NewReceiver(t)
			ep := h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"*"}, "description": "all"})

			var p struct{ ID int64 }
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop"}, 201).Decode(t, &p)
			pp := "/api/v1/project/" + strconv.FormatInt(p.ID, 10)
			h.do(t, "POST", pp+"/domains", map[string]any{"domain": "shop.example.com", "environment": "production"}, 201)
			var l struct{ ID int64 }
			h.do(t, "POST", pp+"/licenses", map[string]any{"title": "Customer 1"}, 201).Decode(t, &l)
			lp := pp + "/licenses/" + strconv.FormatInt(l.ID, 10)
			h.do(t, "POST", lp+"/suspend", nil, 200)
			h.do(t, "POST", lp+"/reactivate", nil, 200)
			h.do(t, "POST", lp+"/revoke", nil, 200)
			var k struct{ ID int64 }
			h.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"projects:read"}}, 201).Decode(t, &k)
			var rot struct {
				Key struct{ ID int64 } `json:"key"`
			}
			h.do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/rotate", map[string]any{"grace_seconds": 0}, 201).Decode(t, &rot)
			h.do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(rot.Key.ID, 10)+"/revoke", nil, 200)

			want := []string{"project.created", "domain.created", "license.created", "license.suspended", "license.reactivated",
				"license.revoked", "api_key.created", "api_key.rotated", "api_key.revoked"}
			got := rc.Wait(t, len(want))
			var ids []string
			for i, g := range got {
				ev, err := webhook.VerifyAt(g.Body, g.Header.Get(webhook.SignatureHeader), ep.Secret, 5*time.Minute, h.n.Clock.Now())
				if err != nil {
					t.Fatalf("delivery %d: %v", i, err)
				}
				independentHMAC(t, g, ep.Secret)
				if i >= len(want) || ev.Type != want[i] {
					t.Fatalf("delivery %d is %s; want the order %v", i, ev.Type, want)
				}
				if g.Header.Get("Latchkey-Event-Id") != ev.ID || g.Header.Get("Latchkey-Event-Type") != ev.Type ||
					!strings.HasPrefix(g.Header.Get("User-Agent"), "Latchkey-Webhooks/") {
					t.Fatalf("delivery %d headers %v", i, g.Header)
				}
				if !strings.HasPrefix(ev.ID, "evt_") || len(ev.ID) != 36 {
					t.Fatalf("event id %q", ev.ID)
				}
				ids = append(ids, ev.ID)
				var obj map[string]any
				if err := json.Unmarshal(ev.Data.Object, &obj); err != nil {
					t.Fatal(err)
				}
				if _, has := obj["uuid"]; has {
					t.Fatalf("%s carries the license key: %s", ev.Type, ev.Data.Object)
				}
				if _, has := obj["secret"]; has {
					t.Fatalf("%s carries a secret: %s", ev.Type, ev.Data.Object)
				}
				if ev.Type == "license.suspended" {
					var prev map[string]any
					_ = json.Unmarshal(ev.Data.Previous, &prev)
					if prev["status"] != "active" || obj["status"] != "suspended" {
						t.Fatalf("suspended: object %s previous %s", ev.Data.Object, ev.Data.Previous)
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d deliveries, want %d", len(got), len(want))
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] <= ids[i-1] {
					t.Fatalf("event ids do not sort by creation: %v", ids)
				}
			}

			// The events API lists them, newest first, filtered.
			var evs []struct {
				ID, Type     string
				ResourceID   int64  `json:"resource_id"`
				ResourceType string `json:"resource_type"`
			}
			h.do(t, "GET", "/api/v1/events?type=license.*", nil, 200).Decode(t, &struct{ Data any }{&evs})
			if len(evs) != 4 || evs[0].Type != "license.revoked" || evs[3].Type != "license.created" || evs[0].ResourceID != l.ID {
				t.Fatalf("license events: %+v", evs)
			}
			h.do(t, "GET", "/api/v1/events/"+ids[0], nil, 200)
			h.do(t, "GET", "/api/v1/events/evt_nope", nil, 404)

			// Every delivery succeeded at its first attempt.
			waitFor(t, func() int { return pendingDeliveries(t, h.n, ep.ID) }, func(n int) bool { return n == 0 })
			var ds []struct {
				Status   string
				Attempts int
				Log      []struct {
					StatusCode *int `json:"status_code"`
				} `json:"attempt_log"`
			}
			h.do(t, "GET", fmt.Sprintf("/api/v1/webhook-endpoints/%d/deliveries", ep.ID), nil, 200).Decode(t, &struct{ Data any }{&ds})
			if len(ds) != len(want) {
				t.Fatalf("%d deliveries listed", len(ds))
			}
			for _, d := range ds {
				if d.Status != "succeeded" || d.Attempts != 1 || len(d.Log) != 1 || d.Log[0].StatusCode == nil || *d.Log[0].StatusCode != 200 {
					t.Fatalf("delivery %+v", d)
				}
			}
		})
	}
}

// A receiver answering 500 three times and then 200 gets the event four
// times, each wait longer than the one before; the log shows all four.
func TestWebhookRetriesWithGrowingBackoff(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			rc := apptest.NewReceiver(t, 500, 500, 500)
			ep := h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"project.created"}})
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop"}, 201)
			rc.Wait(t, 1)
			path := fmt.Sprintf("/api/v1/webhook-endpoints/%d/deliveries", ep.ID)
			type delivery struct {
				ID            int64
				Status        string
				Attempts      int
				NextAttemptAt *string `json:"next_attempt_at"`
				Log           []struct {
					At         string
					StatusCode *int `json:"status_code"`
				} `json:"attempt_log"`
			}
			get := func() delivery {
				var ds []delivery
				h.do(t, "GET", path, nil, 200).Decode(t, &struct{ Data any }{&ds})
				if len(ds) != 1 {
					t.Fatalf("%d deliveries", len(ds))
				}
				return ds[0]
			}
			var waits []time.Duration
			for attempt := 2; attempt <= 4; attempt++ {
				d := waitFor(t, get, func(d delivery) bool { return d.Attempts == attempt-1 && d.NextAttemptAt != nil })
				next, _ := time.Parse(time.RFC3339, *d.NextAttemptAt)
				last, _ := time.Parse(time.RFC3339, d.Log[len(d.Log)-1].At)
				waits = append(waits, next.Sub(last))
				// Not due yet: a step before the time delivers nothing.
				if n, err := h.n.Service().DeliverDue(context.Background(), h.n.Stack.DeliveryConfig(), 10); err != nil || n != 0 {
					t.Fatalf("delivered %d before it was due (%v)", n, err)
				}
				h.n.Clock.Set(next)
				if _, err := h.n.Service().DeliverDue(context.Background(), h.n.Stack.DeliveryConfig(), 10); err != nil {
					t.Fatal(err)
				}
				rc.Wait(t, attempt)
			}
			d := waitFor(t, get, func(d delivery) bool { return d.Status == "succeeded" })
			if len(rc.Got()) != 4 || d.Attempts != 4 || len(d.Log) != 4 {
				t.Fatalf("received %d, delivery %+v", len(rc.Got()), d)
			}
			for i, want := range []int{500, 500, 500, 200} {
				if d.Log[i].StatusCode == nil || *d.Log[i].StatusCode != want {
					t.Fatalf("attempt %d: %+v", i, d.Log[i])
				}
			}
			for i := 1; i < len(waits); i++ {
				if waits[i] <= waits[i-1] {
					t.Fatalf("waits do not grow: %v", waits)
				}
			}
			if waits[0] < 20*time.Second {
				t.Fatalf("first wait %v", waits[0])
			}
			// Counted by outcome.
			metrics := string(h.n.Do(t, "GET", "/metrics", nil).Body)
			for _, line := range []string{`latchkey_webhook_attempts_total{outcome="retrying"} 3`, `latchkey_webhook_attempts_total{outcome="succeeded"} 1`} {
				if !strings.Contains(metrics, line) {
					t.Fatalf("metrics lack %s", line)
				}
			}
			// The same bytes every time.
			got := rc.Got()
			for i := 1; i < 4; i++ {
				if string(got[i].Body) != string(got[0].Body) {
					t.Fatalf("attempt %d sent other bytes", i)
				}
			}
		})
	}
}

// waitFor polls get until ok (deliveries finish asynchronously); a minute
// bounds a hang.
func waitFor[T any](t *testing.T, get func() T, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after a minute: %+v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without --allow-insecure-webhooks an endpoint can be neither http nor an
// address of the refused ranges, and a hostname that resolves to one is
// refused when it is delivered to, on every attempt.
func TestWebhookSSRFRules(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b)
			rc := apptest.NewReceiver(t)
			port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
			for _, url := range []string{
				rc.URL, // http://127.0.0.1:port
				"https://127.0.0.1:" + port + "/hook",
				"https://[::1]/hook",
				"https://10.0.0.8/hook",
				"https://192.168.1.1/hook",
				"https://169.254.169.254/latest/meta-data",
				"https://[::ffff:127.0.0.1]/hook",
				"https://0.0.0.0/hook",
				"https://224.0.0.1/hook",
				"ftp://example.com/hook",
				"https://user:pw@example.com/hook",
				"/relative",
			} {
				r := h.n.Do(t, "POST", "/api/v1/webhook-endpoints", map[string]any{"url": url, "events": []string{"*"}}, apptest.Key(h.key)...)
				wantStatus(t, r, 422)
				if len(r.Env.Errors["url"]) == 0 {
					t.Fatalf("%s: %s", url, r.Body)
				}
			}
			// A hostname is accepted, and refused where it resolves.
			ep := h.endpoint(t, map[string]any{"url": "https://localhost:" + port + "/hook", "events": []string{"project.created"}})
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop"}, 201)
			type delivery struct {
				Status   string
				Attempts int
				Log      []struct {
					Error *string
				} `json:"attempt_log"`
			}
			d := waitFor(t, func() delivery {
				var ds []delivery
				h.do(t, "GET", fmt.Sprintf("/api/v1/webhook-endpoints/%d/deliveries", ep.ID), nil, 200).Decode(t, &struct{ Data any }{&ds})
				if len(ds) == 0 {
					return delivery{}
				}
				return ds[0]
			}, func(d delivery) bool { return d.Attempts >= 1 })
			if d.Status != "pending" || d.Log[0].Error == nil || !strings.Contains(*d.Log[0].Error, "refused") ||
				!strings.Contains(*d.Log[0].Error, "loopback") {
				t.Fatalf("delivery %+v", d)
			}
			if n := len(rc.Got()); n != 0 {
				t.Fatalf("the receiver on loopback got %d requests", n)
			}
		})
	}
}

// license.expiring_soon and license.expired fire once each for a license
// that expires while the server runs, however often the scheduler ticks.
func TestWebhookExpiryEventsOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			rc := apptest.NewReceiver(t)
			ctx := context.Background()
			tick := func() {
				t.Helper()
				if err := h.n.Service().ScheduleTick(ctx, h.n.Stack.ScheduleConfig()); err != nil {
					t.Fatal(err)
				}
			}
			tick()
			ep := h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"license.expiring_soon", "license.expired"}, "expiring_days": 7})
			p, err := h.n.Service().CreateProject(ctx, h.owner.Actor(), service.ProjectInput{Name: service.Some("Shop")})
			if err != nil {
				t.Fatal(err)
			}
			exp := h.n.Clock.Now().Add(10 * 24 * time.Hour)
			l, err := h.n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID, service.LicenseInput{Title: service.Some("ten days"),
				ExpiresAt: service.Some(&exp)})
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				at   time.Duration // after creation
				want []string
			}{
				{time.Hour, nil},
				{2 * 24 * time.Hour, nil},
				{3*24*time.Hour + time.Minute, []string{"license.expiring_soon"}},
				{3*24*time.Hour + 2*time.Minute, []string{"license.expiring_soon"}},
				{9 * 24 * time.Hour, []string{"license.expiring_soon"}},
				{10*24*time.Hour + time.Minute, []string{"license.expiring_soon", "license.expired"}},
				{20 * 24 * time.Hour, []string{"license.expiring_soon", "license.expired"}},
			}
			start := h.n.Clock.Now()
			for _, s := range steps {
				h.n.Clock.Set(start.Add(s.at))
				tick()
				tick()
				got := rc.Wait(t, len(s.want))
				// Finished before the clock moves on: a lease judged by a
				// clock that jumps days would expire mid-attempt.
				waitFor(t, func() int { return pendingDeliveries(t, h.n, ep.ID) }, func(n int) bool { return n == 0 })
				var types []string
				for _, g := range got {
					var ev struct {
						Type string
						Data struct {
							Object struct{ ID int64 }
						}
					}
					_ = json.Unmarshal(g.Body, &ev)
					if ev.Data.Object.ID != l.ID {
						t.Fatalf("event about %d", ev.Data.Object.ID)
					}
					types = append(types, ev.Type)
				}
				if fmt.Sprint(types) != fmt.Sprint(s.want) {
					t.Fatalf("at +%v: %v, want %v", s.at, types, s.want)
				}
			}
		})
	}
}

// Two nodes on one PostgreSQL share the deliveries of 1,000 events to one
// receiver: none lost, none delivered twice.
func TestWebhookTwoNodesDeliverEachEventOnce(t *testing.T) {
	b := postgresOnly(t)
	h := newHooks(t, b, insecureWebhooks)
	peer := h.n.Peer(t, insecureWebhooks)
	rc := apptest.NewReceiver(t)
	ep := h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"license.created"}, "ordered": false})
	ctx := context.Background()
	p, err := h.n.Service().CreateProject(ctx, h.owner.Actor(), service.ProjectInput{Name: service.Some("Shop")})
	if err != nil {
		t.Fatal(err)
	}
	peer.Sync(t, h.n)
	const events = 1000
	nodes := []*apptest.Node{h.n, peer}
	errs := make(chan error, len(nodes))
	for i, n := range nodes {
		go func() {
			for j := i; j < events; j += len(nodes) {
				if _, err := n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID,
					service.LicenseInput{Title: service.Some("license " + strconv.Itoa(j))}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rc.Wait(t, events)
	// Once every delivery is marked succeeded, nothing more can come.
	waitFor(t, func() int { return pendingDeliveries(t, h.n, ep.ID) }, func(n int) bool { return n == 0 })
	seen := map[string]int{}
	for _, g := range rc.Got() {
		seen[g.Header.Get("Latchkey-Event-Id")]++
	}
	if got := len(rc.Got()); got != events || len(seen) != events {
		t.Fatalf("%d requests for %d distinct events, want %d each", got, len(seen), events)
	}
}

// Bad input names its field, answers 4xx and changes nothing; other
// organizations' and other projects' endpoints are invisible; a viewer
// reads but does not write.
func TestWebhookEndpointInput(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b)
			ctx := context.Background()
			p, err := h.n.Service().CreateProject(ctx, h.owner.Actor(), service.ProjectInput{Name: service.Some("Shop")})
			if err != nil {
				t.Fatal(err)
			}
			other := h.n.CreateUser(t, "Other", "owner@other.test", core.RoleOwner)
			_, otherKey := h.n.CreateKey(t, other, service.KeyInput{})
			op, err := h.n.Service().CreateProject(ctx, other.Actor(), service.ProjectInput{Name: service.Some("Theirs")})
			if err != nil {
				t.Fatal(err)
			}
			viewer := h.n.CreateUser(t, "Acme", "viewer@acme.test", core.RoleViewer)
			_, viewerKey := h.n.CreateKey(t, viewer, service.KeyInput{Scopes: []string{"webhooks:read"}})
			_, boundKey := h.n.CreateKey(t, h.owner, service.KeyInput{ProjectID: p.ID})
			ep := h.endpoint(t, map[string]any{"url": "https://hooks.example.com/a", "events": []string{"license.created"}})
			epPath := fmt.Sprintf("/api/v1/webhook-endpoints/%d", ep.ID)
			good := "https://hooks.example.com/b"
			for _, tc := range []struct {
				name, method, path string
				body               any
				key                string
				status             int
				field              string
			}{
				{"no url", "POST", "/api/v1/webhook-endpoints", map[string]any{"events": []string{"*"}}, "", 422, "url"},
				{"no events", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good}, "", 422, "events"},
				{"empty events", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{}}, "", 422, "events"},
				{"unknown event", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"license.eaten"}}, "", 422, "events"},
				{"events not strings", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []int{1}}, "", 422, "events"},
				{"url not a string", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": 7, "events": []string{"*"}}, "", 422, "url"},
				{"url with NUL", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": "https://a.example.com/\x00", "events": []string{"*"}}, "", 422, "url"},
				{"expiring days 0", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "expiring_days": 0}, "", 422, "expiring_days"},
				{"expiring days 91", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "expiring_days": 91}, "", 422, "expiring_days"},
				{"enabled not a boolean", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "enabled": "perhaps"}, "", 422, "enabled"},
				{"description too long", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "description": strings.Repeat("d", 501)}, "", 422, "description"},
				{"another org's project", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "project_id": op.ID}, "", 422, "project_id"},
				{"no such project", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "project_id": 99999}, "", 422, "project_id"},
				{"bound key, other project", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}, "project_id": p.ID + 1}, boundKey, 422, "project_id"},
				{"viewer creates", "POST", "/api/v1/webhook-endpoints", map[string]any{"url": good, "events": []string{"*"}}, viewerKey, 403, ""},
				{"viewer rotates", "POST", epPath + "/rotate-secret", nil, viewerKey, 403, ""},
				{"update nothing", "PATCH", epPath, map[string]any{}, "", 422, "url"},
				{"update bad url", "PATCH", epPath, map[string]any{"url": "http://hooks.example.com"}, "", 422, "url"},
				{"grace too long", "POST", epPath + "/rotate-secret", map[string]any{"grace_seconds": 604801}, "", 422, "grace_seconds"},
				{"grace negative", "POST", epPath + "/rotate-secret", map[string]any{"grace_seconds": -1}, "", 422, "grace_seconds"},
				{"other org reads", "GET", epPath, nil, otherKey, 404, ""},
				{"other org deletes", "DELETE", epPath, nil, otherKey, 404, ""},
				{"bound key reads an org-wide endpoint", "GET", epPath, nil, boundKey, 404, ""},
				{"bad endpoint id", "GET", "/api/v1/webhook-endpoints/abc", nil, "", 404, ""},
				{"no such delivery", "GET", epPath + "/deliveries/123456", nil, "", 404, ""},
				{"bad status filter", "GET", epPath + "/deliveries?status=lost", nil, "", 422, "status"},
				{"bad resource id", "GET", "/api/v1/events?resource_id=x", nil, "", 422, "resource_id"},
				{"other org's cursor", "GET", "/api/v1/webhook-endpoints?cursor=forged", nil, "", 422, "cursor"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					key := h.key
					if tc.key != "" {
						key = tc.key
					}
					r := h.n.Do(t, tc.method, tc.path, tc.body, apptest.Key(key)...)
					if r.Status != tc.status {
						t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
					}
					if tc.field != "" && len(r.Env.Errors[tc.field]) == 0 {
						t.Fatalf("no error for %s: %s", tc.field, r.Body)
					}
				})
			}
			// Nothing was created or changed by any of it.
			eps, err := h.n.Store.ListWebhookEndpoints(ctx, core.EndpointFilter{OrgID: h.owner.OrgID})
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != 1 || eps[0].URL != "https://hooks.example.com/a" || eps[0].PreviousSecretEnc != nil {
				t.Fatalf("endpoints %+v", eps)
			}
			// A viewer reads.
			wantStatus(t, h.n.Do(t, "GET", epPath, nil, apptest.Key(viewerKey)...), 200)
			// A project's webhook_url is an endpoint changed on the project.
			wantStatus(t, h.n.Do(t, "PUT", fmt.Sprintf("/api/v1/project/%d", p.ID), map[string]any{"webhook_url": "https://p.example.com/hook",
				"webhook_secret": "whsec_from_devpayr"}, apptest.Key(h.key)...), 200)
			var list []endpointOut
			h.do(t, "GET", "/api/v1/webhook-endpoints", nil, 200).Decode(t, &struct{ Data any }{&list})
			if len(list) != 2 || list[1].Source != "project" || list[1].URL != "https://p.example.com/hook" || list[1].Secret != "" {
				t.Fatalf("endpoints %+v", list)
			}
			pep := fmt.Sprintf("/api/v1/webhook-endpoints/%d", list[1].ID)
			wantStatus(t, h.n.Do(t, "PATCH", pep, map[string]any{"url": good}, apptest.Key(h.key)...), 409)
			wantStatus(t, h.n.Do(t, "DELETE", pep, nil, apptest.Key(h.key)...), 409)
			h.do(t, "PATCH", pep, map[string]any{"enabled": false}, 200)
			// A bound key sees its project's endpoint only.
			var bound []endpointOut
			wantStatus(t, h.n.Do(t, "GET", "/api/v1/webhook-endpoints", nil, apptest.Key(boundKey)...), 200)
			r := h.n.Do(t, "GET", "/api/v1/webhook-endpoints", nil, apptest.Key(boundKey)...)
			r.Decode(t, &struct{ Data any }{&bound})
			if len(bound) != 1 || bound[0].ID != list[1].ID {
				t.Fatalf("the bound key sees %+v", bound)
			}
			// Clearing the project's webhook_url removes its endpoint.
			h.do(t, "PUT", fmt.Sprintf("/api/v1/project/%d", p.ID), map[string]any{"webhook_url": nil}, 200)
			h.do(t, "GET", pep, nil, 404)
		})
	}
}

func pendingDeliveries(t *testing.T, n *apptest.Node, endpointID int64) int {
	t.Helper()
	ds, err := n.Store.ListWebhookDeliveries(context.Background(), core.DeliveryFilter{EndpointID: endpointID, Status: core.DeliveryPending, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// A refused create keeps its message when its transaction shared a SQLite
// commit that failed and was run again alone (the rules used to rewrite
// the input they refused, so the second run saw an empty list).
func TestWebhookRefusalSurvivesARerun(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b)
			const n = 40
			msgs := make(chan string, n)
			for i := range n {
				go func() {
					r := h.n.Do(t, "POST", "/api/v1/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/" + strconv.Itoa(i),
						"events": []string{"license.eaten"}}, apptest.Key(h.key)...)
					msgs <- strconv.Itoa(r.Status) + " " + strings.Join(r.Env.Errors["events"], "")
				}()
			}
			for range n {
				if m := <-msgs; m != `422 The events field has an unknown event type: "license.eaten".` {
					t.Fatal(m)
				}
			}
		})
	}
}

// The runtime outcomes that are events: a new activation once per
// identifier, a cap reached once per license and day, however many
// validations there are.
func TestWebhookRuntimeEvents(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			rc := apptest.NewReceiver(t)
			h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"activation.created", "license.usage_cap_reached"}})
			ctx := context.Background()
			p, err := h.n.Service().CreateProject(ctx, h.owner.Actor(), service.ProjectInput{Name: service.Some("Shop"), HasPaid: service.Some(true)})
			if err != nil {
				t.Fatal(err)
			}
			two := int64(2)
			capped, err := h.n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID, service.LicenseInput{Title: service.Some("two a day"),
				MaxUsagePerDay: service.Some(&two)})
			if err != nil {
				t.Fatal(err)
			}
			open, err := h.n.Service().CreateLicense(ctx, h.owner.Actor(), p.ID, service.LicenseInput{Title: service.Some("open")})
			if err != nil {
				t.Fatal(err)
			}
			validate := func(key, domain string) int {
				return h.n.Do(t, "POST", "/api/v1/project/has-paid", "{}", "X-LICENSE-KEY", key, "X-Devpayr-Domain", domain).Status
			}
			for range 6 {
				validate(capped.UUID, "shop.example.com")
				validate(open.UUID, "a.example.com")
				validate(open.UUID, "b.example.org")
			}
			count := func(got []apptest.Received) map[string]int {
				m := map[string]int{}
				for _, g := range got {
					var ev struct {
						Type string
						Data struct {
							Object struct {
								Identifier string `json:"identifier"`
								ID         int64  `json:"id"`
								LicenseID  int64  `json:"license_id"`
							}
						}
					}
					_ = json.Unmarshal(g.Body, &ev)
					m[ev.Type+" "+ev.Data.Object.Identifier]++
				}
				return m
			}
			got := count(rc.Wait(t, 4))
			want := map[string]int{"activation.created shop.example.com": 1, "activation.created a.example.com": 1,
				"activation.created b.example.org": 1, "license.usage_cap_reached ": 1}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			// The next day, the cap is reached again: one more.
			h.n.Clock.Advance(24 * time.Hour)
			for range 4 {
				validate(capped.UUID, "shop.example.com")
			}
			got = count(rc.Wait(t, 5))
			if got["license.usage_cap_reached "] != 2 || len(rc.Got()) != 5 {
				t.Fatalf("events the next day %v", got)
			}
		})
	}
}

// A project's DevPayr webhook_url receives its events signed with the
// project's webhook_secret; a secret rotated on the endpoint stays until the
// project's webhook_secret itself is set again.
func TestWebhookProjectURL(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			rc := apptest.NewReceiver(t)
			var p struct{ ID int64 }
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop", "webhook_url": rc.URL, "webhook_secret": "devpayr-secret"}, 201).Decode(t, &p)
			pp := "/api/v1/project/" + strconv.FormatInt(p.ID, 10)
			got := rc.Wait(t, 1) // project.created, to the project's URL
			if _, err := webhook.VerifyAt(got[0].Body, got[0].Header.Get(webhook.SignatureHeader), "devpayr-secret", time.Minute, h.n.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			var list []endpointOut
			h.do(t, "GET", "/api/v1/webhook-endpoints", nil, 200).Decode(t, &struct{ Data any }{&list})
			if len(list) != 1 || list[0].Source != "project" {
				t.Fatalf("endpoints %+v", list)
			}
			var rot endpointOut
			h.do(t, "POST", fmt.Sprintf("/api/v1/webhook-endpoints/%d/rotate-secret", list[0].ID), map[string]any{"grace_seconds": 0}, 201).Decode(t, &rot)
			h.do(t, "PUT", pp, map[string]any{"name": "Shop renamed"}, 200)
			got = rc.Wait(t, 2) // project.updated
			if _, err := webhook.VerifyAt(got[1].Body, got[1].Header.Get(webhook.SignatureHeader), rot.Secret, time.Minute, h.n.Clock.Now()); err != nil {
				t.Fatalf("the rotated secret was replaced by a project update: %v", err)
			}
			h.do(t, "PUT", pp, map[string]any{"webhook_secret": "set-again"}, 200)
			got = rc.Wait(t, 3)
			if _, err := webhook.VerifyAt(got[2].Body, got[2].Header.Get(webhook.SignatureHeader), "set-again", time.Minute, h.n.Clock.Now()); err != nil {
				t.Fatalf("the project's new webhook_secret does not sign: %v", err)
			}
		})
	}
}

// A delivery is retried for 3 days and then marked failed; an endpoint
// that has failed without a success for 3 days is disabled, and that is in
// the audit log.
func TestWebhookGivesUpAfterThreeDays(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			statuses := make([]int, 100)
			for i := range statuses {
				statuses[i] = 503
			}
			rc := apptest.NewReceiver(t, statuses...)
			ep := h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"project.created"}})
			start := h.n.Clock.Now()
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop"}, 201)
			ctx := context.Background()
			var d *core.WebhookDelivery
			for step := 0; ; step++ {
				d = waitFor(t, func() *core.WebhookDelivery {
					ds, err := h.n.Store.ListWebhookDeliveries(ctx, core.DeliveryFilter{EndpointID: ep.ID, Limit: 1})
					if err != nil || len(ds) != 1 {
						t.Fatalf("deliveries %v %v", ds, err)
					}
					return &ds[0]
				}, func(d *core.WebhookDelivery) bool { return d.Attempts > step || d.Status != core.DeliveryPending })
				if d.Status != core.DeliveryPending || step > 60 {
					break
				}
				h.n.Clock.Set(d.NextAttemptAt)
				if _, err := h.n.Service().DeliverDue(ctx, h.n.Stack.DeliveryConfig(), 10); err != nil {
					t.Fatal(err)
				}
			}
			last := d.Log[len(d.Log)-1].At
			if d.Status != core.DeliveryFailed || last.Sub(start) < 72*time.Hour || last.Sub(start) > 80*time.Hour || d.Attempts < 15 || d.Attempts > 25 {
				t.Fatalf("delivery %s after %d attempts, the last %v after the first", d.Status, d.Attempts, last.Sub(start))
			}
			var got endpointOut
			h.do(t, "GET", fmt.Sprintf("/api/v1/webhook-endpoints/%d", ep.ID), nil, 200).Decode(t, &got)
			if got.Enabled {
				t.Fatal("the endpoint failing for 3 days is still enabled")
			}
			audit, err := h.n.Store.ListAudit(ctx, core.AuditFilter{OrgID: h.owner.OrgID, Action: "webhook_endpoint.disabled"})
			if err != nil || len(audit) != 1 || audit[0].TargetID != ep.ID || audit[0].ActorType != core.ActorSystem {
				t.Fatalf("audit %+v %v", audit, err)
			}
			// A disabled endpoint gets no new events.
			h.do(t, "POST", "/api/v1/project", map[string]any{"name": "Shop 2"}, 201)
			ds, err := h.n.Store.ListWebhookDeliveries(ctx, core.DeliveryFilter{EndpointID: ep.ID, Limit: 10})
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries after disabling: %d %v", len(ds), err)
			}
		})
	}
}

// Removing a member revokes their keys, and each revocation is an event.
func TestWebhookMemberRemovalRevokesKeysWithEvents(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHooks(t, b, insecureWebhooks)
			dev := h.n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
			k1, _ := h.n.CreateKey(t, dev, service.KeyInput{Name: "one"})
			k2, _ := h.n.CreateKey(t, dev, service.KeyInput{Name: "two"})
			rc := apptest.NewReceiver(t)
			h.endpoint(t, map[string]any{"url": rc.URL, "events": []string{"api_key.revoked"}})
			if err := h.n.Service().RemoveMember(context.Background(), h.owner.Actor(), dev.UserID); err != nil {
				t.Fatal(err)
			}
			ids := map[int64]bool{}
			for _, g := range rc.Wait(t, 2) {
				var ev struct {
					Data struct {
						Object struct {
							ID     int64
							Status string
						}
						Previous map[string]any
					}
				}
				_ = json.Unmarshal(g.Body, &ev)
				if ev.Data.Object.Status != "revoked" || ev.Data.Previous["revoked_at"] != nil || ev.Data.Previous["status"] != "active" {
					t.Fatalf("event %s", g.Body)
				}
				ids[ev.Data.Object.ID] = true
			}
			if !ids[k1.ID] || !ids[k2.ID] {
				t.Fatalf("revoked %v, want %d and %d", ids, k1.ID, k2.ID)
			}
		})
	}
}
