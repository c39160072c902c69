package sdktest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// hookNode is a real node (apptest: full stack over loopback, the test's
// clock) that may deliver to loopback receivers, with an owner's SDK
// client.
type hookNode struct {
	n *apptest.Node
	c *client.Client
}

func newHookNode(t *testing.T, b storetest.Backend) *hookNode {
	t.Helper()
	n := apptest.New(t, b, func(c *config.Config) { c.AllowInsecureWebhooks = true })
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, secret := n.CreateKey(t, owner, service.KeyInput{})
	return &hookNode{n: n, c: must(client.New(n.URL, secret, client.WithRetries(0)))(t)}
}

// verify checks a received delivery's signature with secret, at the
// node's clock (which signed it), and returns the event.
func (h *hookNode) verify(t *testing.T, got apptest.Received, secret string) *webhook.Event {
	t.Helper()
	ev, err := webhook.VerifyAt(got.Body, got.Header.Get(webhook.SignatureHeader), secret, time.Minute, h.n.Clock.Now())
	if err != nil {
		t.Fatalf("delivery %s: %v", got.Body, err)
	}
	return ev
}

// waitDelivery polls an endpoint's delivery until ok: the record of an
// attempt is written after the receiver answered. A minute bounds a hang.
func waitDelivery(t *testing.T, c *client.Client, endpointID, deliveryID int64, ok func(*client.WebhookDelivery) bool) *client.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := must(c.WebhookEndpoints.Delivery(context.Background(), endpointID, deliveryID))(t)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d not as expected after a minute: %+v", deliveryID, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids[T any](items []T, id func(T) int64) []int64 {
	out := make([]int64, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

// TestWebhookEndpointsThroughTheSDK drives every WebhookEndpoints and
// Events method against a real node and receiver: create (secret once),
// get, list with pages, a delivery signed with the secret, the events
// listing with each filter, deliveries and their attempts, a failing
// receiver retried, partial updates, a ping, a rotation signing with both
// secrets, delete, and the errors of bad input and of other projects.
func TestWebhookEndpointsThroughTheSDK(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			h := newHookNode(t, b)
			c := h.c
			p := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Shop"}))(t)
			other := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Other"}))(t)
			rc := apptest.NewReceiver(t)

			// Create: the secret once, the defaults, the fields given.
			ep := must(c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL, Events: []string{"license.created", "license.revoked"},
				ProjectID: p.ID, Description: "Billing sync"}))(t)
			if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) != 49 || ep.URL != rc.URL || ep.Description != "Billing sync" ||
				!slices.Equal(ep.Events, []string{"license.created", "license.revoked"}) || ep.ProjectID == nil || *ep.ProjectID != p.ID ||
				!ep.Enabled || !ep.Ordered || ep.ExpiringDays != 7 || ep.Source != client.WebhookSourceAPI || ep.DisabledReason != nil ||
				ep.FailingSince != nil || ep.SecretRotatingUntil != nil || ep.CreatedAt.IsZero() || !ep.UpdatedAt.Equal(ep.CreatedAt) {
				t.Fatalf("created %+v", ep)
			}
			all := must(c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL + "/all", Events: []string{client.AllEvents},
				Enabled: client.Ptr(false), Ordered: client.Ptr(false), ExpiringDays: 30}))(t)
			if all.Enabled || all.Ordered || all.ExpiringDays != 30 || all.ProjectID != nil || all.Description != "" || all.Secret == ep.Secret {
				t.Fatalf("created %+v", all)
			}

			// Get and List never show the secret.
			got := must(c.WebhookEndpoints.Get(ctx, ep.ID))(t)
			want := *ep
			want.Secret = ""
			if got.Secret != "" || got.ID != want.ID || got.URL != want.URL || !slices.Equal(got.Events, want.Events) || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Fatalf("get %+v, want %+v", got, want)
			}
			listed := must(client.Collect(c.WebhookEndpoints.List(ctx, &client.ListOptions{PerPage: 1})))(t)
			if !slices.Equal(ids(listed, func(e client.WebhookEndpoint) int64 { return e.ID }), []int64{ep.ID, all.ID}) {
				t.Fatalf("listed %+v", listed)
			}
			for _, e := range listed {
				if e.Secret != "" {
					t.Fatalf("list shows a secret: %+v", e)
				}
			}

			// A license of the project is delivered, signed with the secret;
			// one of the other project is not (the endpoint is the project's,
			// and the one for all projects is disabled).
			l := must(c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A"}))(t)
			must(c.Licenses.Create(ctx, other.ID, client.LicenseCreate{Title: "Elsewhere"}))(t)
			first := h.verify(t, rc.Wait(t, 1)[0], ep.Secret)
			if first.Type != "license.created" {
				t.Fatalf("delivered %+v", first)
			}

			// The events API lists it, and each filter narrows the listing.
			ev := must(c.Events.Get(ctx, first.ID))(t)
			if ev.ID != first.ID || ev.Type != first.Type || !ev.CreatedAt.Equal(first.CreatedAt) || string(ev.Data.Object) != string(first.Data.Object) ||
				ev.ProjectID == nil || *ev.ProjectID != p.ID || ev.ResourceType != "license" || ev.ResourceID != l.ID {
				t.Fatalf("event %+v, delivered %+v", ev, first)
			}
			types := func(f *client.EventFilter) []string {
				t.Helper()
				var out []string
				for e, err := range c.Events.List(ctx, f) {
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, e.Type+" "+e.ResourceType)
				}
				return out
			}
			for _, tc := range []struct {
				f    *client.EventFilter
				want []string
			}{
				{&client.EventFilter{Type: "license.created"}, []string{"license.created license", "license.created license"}},
				{&client.EventFilter{Type: "license.*", ProjectID: p.ID}, []string{"license.created license"}},
				{&client.EventFilter{ResourceType: "license", ResourceID: l.ID}, []string{"license.created license"}},
				{&client.EventFilter{ResourceType: "project"}, []string{"project.created project", "project.created project"}},
				{&client.EventFilter{ProjectID: other.ID, PerPage: 1}, []string{"license.created license", "project.created project"}},
				{&client.EventFilter{Type: "license.revoked"}, nil},
			} {
				if got := types(tc.f); !slices.Equal(got, tc.want) {
					t.Errorf("events %+v: %q, want %q", *tc.f, got, tc.want)
				}
			}
			// Every event, newest first, from the owner's key on.
			if got, want := types(nil), []string{"license.created license", "license.created license", "project.created project",
				"project.created project", "api_key.created api_key"}; !slices.Equal(got, want) {
				t.Fatalf("every event: %q, want %q", got, want)
			}

			// The delivery, with its one attempt.
			ds := must(client.Collect(c.WebhookEndpoints.Deliveries(ctx, ep.ID, nil)))(t)
			if len(ds) != 1 || ds[0].EventID != first.ID || ds[0].EventType != "license.created" || ds[0].EndpointID != ep.ID {
				t.Fatalf("deliveries %+v", ds)
			}
			d := waitDelivery(t, c, ep.ID, ds[0].ID, func(d *client.WebhookDelivery) bool { return d.Status == client.WebhookSucceeded })
			if d.Attempts != 1 || len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode == nil || *d.AttemptLog[0].StatusCode != 200 ||
				d.AttemptLog[0].Error != nil || d.CompletedAt == nil || d.NextAttemptAt != nil || d.LastStatusCode == nil || *d.LastStatusCode != 200 {
				t.Fatalf("delivery %+v", d)
			}
			if got := must(client.Collect(c.WebhookEndpoints.Deliveries(ctx, ep.ID, &client.WebhookDeliveryFilter{Status: client.WebhookFailed})))(t); len(got) != 0 {
				t.Fatalf("failed deliveries %+v", got)
			}

			// A receiver that fails: the delivery stays pending with the
			// attempt logged; Retry delivers it again now.
			failing := apptest.NewReceiver(t, 500)
			bad := must(c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: failing.URL, Events: []string{"license.revoked"}, ProjectID: p.ID}))(t)
			must(c.Licenses.Revoke(ctx, p.ID, l.ID))(t)
			h.verify(t, failing.Wait(t, 1)[0], bad.Secret)
			pending := must(client.Collect(c.WebhookEndpoints.Deliveries(ctx, bad.ID, &client.WebhookDeliveryFilter{Status: client.WebhookPending})))(t)
			if len(pending) != 1 {
				t.Fatalf("pending deliveries %+v", pending)
			}
			d = waitDelivery(t, c, bad.ID, pending[0].ID, func(d *client.WebhookDelivery) bool { return d.Attempts == 1 })
			if d.Status != client.WebhookPending || d.NextAttemptAt == nil || !d.NextAttemptAt.After(h.n.Clock.Now()) || d.LastStatusCode == nil ||
				*d.LastStatusCode != 500 || len(d.AttemptLog) != 1 || *d.AttemptLog[0].StatusCode != 500 || d.AttemptLog[0].Response != "Internal Server Error" {
				t.Fatalf("failed attempt %+v", d)
			}
			rd := must(c.WebhookEndpoints.Retry(ctx, bad.ID, d.ID))(t)
			if rd.ID != d.ID || rd.Status != client.WebhookPending || rd.NextAttemptAt == nil || rd.NextAttemptAt.After(h.n.Clock.Now()) {
				t.Fatalf("retried %+v", rd)
			}
			failing.Wait(t, 2)
			d = waitDelivery(t, c, bad.ID, d.ID, func(d *client.WebhookDelivery) bool { return d.Status == client.WebhookSucceeded })
			if d.Attempts != 2 || len(d.AttemptLog) != 2 || *d.AttemptLog[1].StatusCode != 200 {
				t.Fatalf("after the retry %+v", d)
			}
			h.verify(t, rc.Wait(t, 2)[1], ep.Secret) // the revocation, to the first endpoint too

			// Update changes only what is set.
			up := must(c.WebhookEndpoints.Update(ctx, all.ID, client.WebhookEndpointUpdate{Enabled: client.Ptr(true), Description: client.Ptr("everything")}))(t)
			if !up.Enabled || up.Ordered || up.ExpiringDays != 30 || up.Description != "everything" || !slices.Equal(up.Events, []string{"*"}) || up.URL != all.URL {
				t.Fatalf("updated %+v", up)
			}
			up = must(c.WebhookEndpoints.Update(ctx, ep.ID, client.WebhookEndpointUpdate{ClearProject: true, Ordered: client.Ptr(false),
				ExpiringDays: client.Ptr(14), Events: []string{"license.revoked"}, URL: client.Ptr(rc.URL + "/v2")}))(t)
			if up.ProjectID != nil || up.Ordered || up.ExpiringDays != 14 || !slices.Equal(up.Events, []string{"license.revoked"}) ||
				up.URL != rc.URL+"/v2" || up.Description != "Billing sync" || !up.Enabled || up.Secret != "" {
				t.Fatalf("updated %+v", up)
			}
			up = must(c.WebhookEndpoints.Update(ctx, ep.ID, client.WebhookEndpointUpdate{ProjectID: &p.ID, Description: client.Ptr("")}))(t)
			if up.ProjectID == nil || *up.ProjectID != p.ID || up.Description != "" || up.ExpiringDays != 14 {
				t.Fatalf("updated %+v", up)
			}

			// Rotation: a new secret, shown once; during the grace a
			// delivery carries a signature of each, and either verifies.
			before := len(rc.Got())
			rot := must(c.WebhookEndpoints.RotateSecret(ctx, ep.ID, time.Hour))(t)
			if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == ep.Secret || rot.SecretRotatingUntil == nil ||
				!rot.SecretRotatingUntil.Equal(h.n.Clock.Now().Add(time.Hour)) {
				t.Fatalf("rotated %+v (now %v)", rot, h.n.Clock.Now())
			}
			if g := must(c.WebhookEndpoints.Get(ctx, ep.ID))(t); g.Secret != "" || g.SecretRotatingUntil == nil {
				t.Fatalf("after rotation %+v", g)
			}
			ping := must(c.WebhookEndpoints.Test(ctx, ep.ID))(t)
			if ping.Type != "ping" || !strings.HasPrefix(ping.ID, "evt_") || ping.ResourceType != "webhook_endpoint" || ping.ResourceID != ep.ID {
				t.Fatalf("ping %+v", ping)
			}
			delivered := rc.Wait(t, before+1)[before]
			if n := strings.Count(delivered.Header.Get(webhook.SignatureHeader), "v1="); n != 2 {
				t.Fatalf("%d signatures during the grace: %s", n, delivered.Header.Get(webhook.SignatureHeader))
			}
			for _, s := range []string{rot.Secret, ep.Secret} {
				if got := h.verify(t, delivered, s); got.ID != ping.ID || got.Type != "ping" {
					t.Fatalf("delivered %+v, want the ping %s", got, ping.ID)
				}
			}
			if g := must(c.Events.Get(ctx, ping.ID))(t); g.Type != "ping" {
				t.Fatalf("ping event %+v", g)
			}
			// Grace 0: the old secret stops at once.
			rot2 := must(c.WebhookEndpoints.RotateSecret(ctx, ep.ID, 0))(t)
			if rot2.SecretRotatingUntil != nil || rot2.Secret == rot.Secret {
				t.Fatalf("rotated without grace %+v", rot2)
			}

			// Delete: gone, and deleting again is not found.
			if err := c.WebhookEndpoints.Delete(ctx, all.ID); err != nil {
				t.Fatal(err)
			}
			if err := c.WebhookEndpoints.Delete(ctx, all.ID); err == nil {
				t.Fatal("deleted twice")
			}
			_, err := c.WebhookEndpoints.Get(ctx, all.ID)
			wantAPIError(t, err, client.ErrNotFound, "NOT_FOUND")

			// Bad input: a clear error naming the field, and nothing created.
			count := len(must(client.Collect(c.WebhookEndpoints.List(ctx, nil)))(t))
			for _, tc := range []struct {
				name  string
				call  func() error
				field string
				msg   string
			}{
				{"no url", func() error {
					_, err := c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{Events: []string{"*"}})
					return err
				}, "url", "The url field is required."},
				{"no events", func() error {
					_, err := c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL})
					return err
				}, "events", "at least one event type"},
				{"unknown event", func() error {
					_, err := c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL, Events: []string{"license.frobbed"}})
					return err
				}, "events", "The events field"}, // not the message: see internal/app's TestWebhookCommandsAgainstANode
				{"not a url", func() error {
					_, err := c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: "billing.example.com", Events: []string{"*"}})
					return err
				}, "url", "The url field"},
				{"another organization's project", func() error {
					_, err := c.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL, Events: []string{"*"}, ProjectID: 9999})
					return err
				}, "project_id", "The selected project id is invalid."},
				{"expiring days", func() error {
					_, err := c.WebhookEndpoints.Update(ctx, ep.ID, client.WebhookEndpointUpdate{ExpiringDays: client.Ptr(91)})
					return err
				}, "expiring_days", "between 1 and 90"},
				{"empty update", func() error {
					_, err := c.WebhookEndpoints.Update(ctx, ep.ID, client.WebhookEndpointUpdate{})
					return err
				}, "url", "at least one of"},
				{"grace", func() error {
					_, err := c.WebhookEndpoints.RotateSecret(ctx, ep.ID, 8*24*time.Hour)
					return err
				}, "grace_seconds", "between 0 and 604800"},
				{"delivery status", func() error {
					_, err := client.Collect(c.WebhookEndpoints.Deliveries(ctx, ep.ID, &client.WebhookDeliveryFilter{Status: "lost"}))
					return err
				}, "status", "pending, succeeded or failed"},
				{"event resource id", func() error {
					_, err := client.Collect(c.Events.List(ctx, &client.EventFilter{ResourceType: "license", ResourceID: -1}))
					return err
				}, "resource_id", "positive integer"},
			} {
				err := tc.call()
				var apiErr *client.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || !strings.Contains(strings.Join(apiErr.Fields[tc.field], " "), tc.msg) {
					t.Errorf("%s: %v (fields %v), want 422 on %s with %q", tc.name, err, apiErr, tc.field, tc.msg)
				}
			}
			if n := len(must(client.Collect(c.WebhookEndpoints.List(ctx, nil)))(t)); n != count {
				t.Fatalf("%d endpoints after bad input, want %d", n, count)
			}
			for name, call := range map[string]func() error{
				"get":      func() error { _, err := c.WebhookEndpoints.Get(ctx, 9999); return err },
				"delivery": func() error { _, err := c.WebhookEndpoints.Delivery(ctx, ep.ID, 9999); return err },
				"another endpoint's delivery": func() error {
					_, err := c.WebhookEndpoints.Delivery(ctx, ep.ID, pending[0].ID)
					return err
				},
				"retry": func() error { _, err := c.WebhookEndpoints.Retry(ctx, ep.ID, 9999); return err },
				"test":  func() error { _, err := c.WebhookEndpoints.Test(ctx, 9999); return err },
				"event": func() error { _, err := c.Events.Get(ctx, "evt_nope"); return err },
			} {
				if err := call(); !errors.Is(err, client.ErrNotFound) {
					t.Errorf("%s: %v, want not found", name, err)
				}
			}
			must(c.WebhookEndpoints.Update(ctx, bad.ID, client.WebhookEndpointUpdate{Enabled: client.Ptr(false)}))(t)
			_, err = c.WebhookEndpoints.Test(ctx, bad.ID)
			wantAPIError(t, err, client.ErrConflict, "CONFLICT")

			// A key of the other project sees none of these endpoints nor
			// this project's events; its endpoints are its project's.
			k := must(c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "other", ProjectID: other.ID}))(t)
			scoped := must(client.New(h.n.URL, k.Secret, client.WithRetries(0)))(t)
			if eps := must(client.Collect(scoped.WebhookEndpoints.List(ctx, nil)))(t); len(eps) != 0 {
				t.Fatalf("the other project's key lists %+v", eps)
			}
			_, err = scoped.WebhookEndpoints.Get(ctx, ep.ID)
			wantAPIError(t, err, client.ErrNotFound, "NOT_FOUND")
			_, err = scoped.Events.Get(ctx, first.ID)
			wantAPIError(t, err, client.ErrNotFound, "NOT_FOUND")
			for e, err := range scoped.Events.List(ctx, nil) {
				if err != nil {
					t.Fatal(err)
				}
				if e.ProjectID == nil || *e.ProjectID != other.ID {
					t.Fatalf("the other project's key sees %+v", e)
				}
			}
			own := must(scoped.WebhookEndpoints.Create(ctx, client.WebhookEndpointCreate{URL: rc.URL, Events: []string{"*"}}))(t)
			if own.ProjectID == nil || *own.ProjectID != other.ID {
				t.Fatalf("a project key's endpoint %+v", own)
			}
			// A read-only key reads, and may not write.
			ro := must(c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "reader", Scopes: []string{"webhooks:read"}}))(t)
			reader := must(client.New(h.n.URL, ro.Secret, client.WithRetries(0)))(t)
			must(reader.WebhookEndpoints.Get(ctx, ep.ID))(t)
			must(client.Collect(reader.Events.List(ctx, nil)))(t)
			_, err = reader.WebhookEndpoints.RotateSecret(ctx, ep.ID, time.Hour)
			if !errors.Is(err, client.ErrForbidden) {
				t.Fatalf("a read-only key rotated: %v", err)
			}
		})
	}
}
