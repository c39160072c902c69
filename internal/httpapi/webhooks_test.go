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
