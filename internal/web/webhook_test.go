package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

// insecureWebhooks lets endpoints be http:// on loopback, where the test
// receivers are.
func insecureWebhooks(c *config.Config) { c.AllowInsecureWebhooks = true }

var webhookSecretRE = regexp.MustCompile(`<code id="secret">(whsec_[0-9A-Za-z_-]{43})</code>`)

// shownWebhookSecret returns the signing secret a page shows once.
func shownWebhookSecret(t testing.TB, p *page) string {
	t.Helper()
	m := webhookSecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no signing secret on the page (%d):\n%s", p.Status, p.text())
	}
	return m[1]
}

// endpoints lists the organization's webhook endpoints through the service.
func endpoints(t testing.TB, n *apptest.Node, acc apptest.Account) []core.WebhookEndpoint {
	t.Helper()
	eps, err := n.Service().ListWebhookEndpoints(context.Background(), acc.Actor(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// deliveries lists an endpoint's deliveries through the service.
func deliveries(t testing.TB, n *apptest.Node, acc apptest.Account, id int64) []core.WebhookDelivery {
	t.Helper()
	ds, err := n.Service().ListDeliveries(context.Background(), acc.Actor(), id, core.DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// reloadUntil reloads a page until its HTML holds every fragment of want:
// the delivery workers run in the background, so a delivery's outcome is
// on the page a moment after the receiver answered. A minute bounds a
// hang; it measures nothing.
func reloadUntil(t testing.TB, c *client, path string, want ...string) *page {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p := c.get(path)
		missing := ""
		for _, w := range want {
			if !strings.Contains(p.Body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q after a minute:\n%s", path, missing, p.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// badge is a delivery's status as its row shows it.
func badge(status string) string {
	return `<span class="badge badge-` + status + `">` + status + `</span>`
}

// attempts is a delivery's attempt count as its row shows it (the row,
// not the attempt log: both are read from the store, one after the other).
func attempts(n int) string { return `<td class="d-attempts">` + strconv.Itoa(n) + `</td>` }

// verifies checks a received delivery's signature with the SDK, as a
// vendor's receiver would.
func verifies(t testing.TB, n *apptest.Node, got apptest.Received, secret string) *webhook.Event {
	t.Helper()
	ev, err := webhook.VerifyAt(got.Body, got.Header.Get(webhook.SignatureHeader), secret, 5*time.Minute, n.Clock.Now())
	if err != nil {
		t.Fatalf("the delivery does not verify with the secret shown: %v", err)
	}
	return ev
}

func TestWebhookPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		rc := apptest.NewReceiver(t, http.StatusInternalServerError)

		list := c.get("/webhooks")
		wantText(t, list, "No webhook endpoints yet", "Add endpoint")
		if !strings.Contains(list.Body, `<a href="/webhooks" class="active" aria-current="page">Webhooks</a>`) {
			t.Error("the navigation has no current Webhooks item")
		}
		form := c.get("/webhooks/new")
		for _, typ := range append([]string{"*"}, service.EventTypes...) {
			if !strings.Contains(form.Body, `name="events" value="`+typ+`"`) {
				t.Errorf("the form offers no %s", typ)
			}
		}

		// Invalid: every field named, nothing written.
		before := auditCount(t, n, acc.OrgID)
		p := c.post("/webhooks", url.Values{"url": {""}, "project_id": {"999999"}, "expiring_days": {"0"},
			"description": {strings.Repeat("d", 501)}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for f, msg := range map[string]string{
			"url":           "The url field is required.",
			"events":        `The events field must list at least one event type, or "*".`,
			"project_id":    "The selected project id is invalid.",
			"expiring_days": "The expiring days field must be between 1 and 90.",
			"description":   "The description field must not be greater than 500 characters.",
		} {
			if got := fieldError(p, f); got != web.HumanMessage(msg) {
				t.Errorf("%s: %q, want %q", f, got, msg)
			}
		}
		p = c.post("/webhooks", url.Values{"url": {"ftp://example.com/x"}, "events": {"license.created", "no.such"},
			"expiring_days": {"soon"}, "project_id": {"abc"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for f, prefix := range map[string]string{"url": "The url field ", "events": "The events field has an unknown event type",
			"expiring_days": "The expiring days field must be an integer.", "project_id": "The selected project id is invalid."} {
			if got := fieldError(p, f); !strings.HasPrefix(got, web.HumanMessage(prefix)) {
				t.Errorf("%s: %q, want %q…", f, got, prefix)
			}
		}
		if !strings.Contains(p.Body, `value="ftp://example.com/x"`) || !strings.Contains(p.Body, `value="license.created" checked`) {
			t.Error("a refused form is not shown as it was typed")
		}
		if len(endpoints(t, n, acc)) != 0 || auditCount(t, n, acc.OrgID) != before {
			t.Fatal("an invalid form wrote")
		}

		// Create: the secret is shown once, after a redirect.
		p = c.post("/webhooks", url.Values{"url": {rc.URL}, "events": {"license.created", "license.revoked"},
			"project_id": {itoa(pid)}, "description": {"Billing sync"}, "ordered": {"1"}, "expiring_days": {"14"}})
		eps := endpoints(t, n, acc)
		if len(eps) != 1 {
			t.Fatalf("%d endpoints after a create", len(eps))
		}
		ep := eps[0]
		wpath := "/webhooks/" + itoa(ep.ID)
		wantRedirect(t, p, wpath+"/secret")
		if ep.URL != rc.URL || ep.ProjectID != pid || !ep.Ordered || ep.ExpiringDays != 14 || !ep.Enabled ||
			strings.Join(ep.Events, ",") != "license.created,license.revoked" || ep.Source != core.EndpointSourceAPI {
			t.Fatalf("created %+v", ep)
		}
		shown := c.follow(p)
		wantStatus(t, shown, http.StatusOK)
		if shown.Header.Get("Cache-Control") != "no-store" {
			t.Error("the secret page may be cached")
		}
		secret := shownWebhookSecret(t, shown)
		wantText(t, shown, "Copy this secret now.", "shown only once", rc.URL, "license.created, license.revoked", "Pro Plugin")
		again := c.get(wpath + "/secret")
		wantRedirect(t, again, wpath)
		wantText(t, c.follow(again), "shown only once")

		list = c.get("/webhooks")
		wantText(t, list, rc.URL, "Billing sync", "license.created, license.revoked", "Pro Plugin", "enabled", "Dashboard or API")
		show := c.get(wpath)
		wantText(t, show, "Billing sync", "Pro Plugin", "No deliveries yet.", "Send test event", "Rotate secret")
		for _, pg := range []*page{list, show, c.get(wpath + "/edit")} {
			wantNoText(t, pg, secret, secret[6:20])
		}

		// A test event: the receiver answers 500 the first time, so the
		// delivery waits for a retry, and the page shows the attempt.
		p = c.post(wpath+"/test", nil)
		wantRedirect(t, p, wpath)
		wantText(t, c.follow(p), "Test event evt_", "queued")
		ev := verifies(t, n, rc.Wait(t, 1)[0], secret)
		if ev.Type != "ping" {
			t.Fatalf("the test event is %s", ev.Type)
		}
		p = reloadUntil(t, c, wpath, badge("pending"), attempts(1), "<summary>1 attempt</summary>")
		wantText(t, p, "ping", ev.ID, "next ", " ms", "500", "Internal Server Error")
		ds := deliveries(t, n, acc, ep.ID)
		if len(ds) != 1 {
			t.Fatalf("%d deliveries", len(ds))
		}
		if cur, _ := n.Service().WebhookEndpoint(ctx, acc.Actor(), ep.ID); cur.FailingSince == nil {
			t.Error("a failed attempt did not mark the endpoint failing")
		} else {
			wantText(t, c.get("/webhooks"), "just now") // failing since, relative (relative_time.go)
		}

		// Retry it now: the second attempt succeeds.
		p = c.post(wpath+"/deliveries/"+itoa(ds[0].ID)+"/retry", nil)
		wantRedirect(t, p, wpath)
		wantText(t, c.follow(p), "Delivery "+itoa(ds[0].ID)+" queued again.")
		verifies(t, n, rc.Wait(t, 2)[1], secret)
		p = reloadUntil(t, c, wpath, badge("succeeded"), attempts(2), "<summary>2 attempts</summary>")
		wantText(t, p, "500", "200")
		if d := deliveries(t, n, acc, ep.ID)[0]; d.Status != core.DeliverySucceeded || d.Attempts != 2 || d.LastStatusCode != 200 {
			t.Fatalf("after the retry: %+v", d)
		}

		// Edit: invalid fields named and nothing changed; then saved.
		edit := c.get(wpath + "/edit")
		for _, want := range []string{`value="` + rc.URL + `"`, `value="license.revoked" checked`, `value="14"`, "Billing sync"} {
			if !strings.Contains(edit.Body, want) {
				t.Errorf("the edit form lacks %s", want)
			}
		}
		p = c.post(wpath+"/edit", url.Values{"url": {"not a url"}, "events": {"license.nope"}, "expiring_days": {"91"}, "enabled": {"1"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for _, f := range []string{"url", "events", "expiring_days"} {
			if fieldError(p, f) == "" {
				t.Errorf("%s: no message", f)
			}
		}
		if cur, _ := n.Service().WebhookEndpoint(ctx, acc.Actor(), ep.ID); cur.URL != rc.URL || len(cur.Events) != 2 {
			t.Fatalf("a refused edit changed the endpoint: %+v", cur)
		}
		p = c.post(wpath+"/edit", url.Values{"url": {rc.URL + "/v2"}, "events": {"*", "license.created"}, "project_id": {""},
			"description": {"Everything"}, "expiring_days": {"30"}})
		wantRedirect(t, p, wpath)
		wantText(t, c.follow(p), "Webhook endpoint saved.")
		cur, _ := n.Service().WebhookEndpoint(ctx, acc.Actor(), ep.ID)
		if cur.URL != rc.URL+"/v2" || strings.Join(cur.Events, ",") != "*" || cur.ProjectID != 0 || cur.Enabled || cur.Ordered ||
			cur.ExpiringDays != 30 || cur.Description != "Everything" {
			t.Fatalf("after the edit: %+v", cur)
		}
		show = c.get(wpath)
		wantText(t, show, "disabled", "Nothing is delivered to this endpoint while it is disabled", "Every project", "All events", "Enable")
		wantNoText(t, show, "Send test event")
		p = c.post(wpath+"/test", nil)
		wantRedirect(t, p, wpath)
		wantText(t, c.follow(p), "The endpoint is disabled: enable it to receive the test event.")

		// Enable and disable.
		wantRedirect(t, c.post(wpath+"/enable", nil), wpath)
		wantText(t, c.get(wpath), "Webhook endpoint enabled.", "Send test event")
		wantRedirect(t, c.post(wpath+"/disable", nil), wpath)
		if cur, _ := n.Service().WebhookEndpoint(ctx, acc.Actor(), ep.ID); cur.Enabled {
			t.Fatal("still enabled")
		}
		wantRedirect(t, c.post(wpath+"/enable", nil), wpath)
		wantRedirect(t, c.post(wpath+"/edit", url.Values{"url": {rc.URL}, "events": {"*"}, "enabled": {"1"}, "ordered": {"1"}}), wpath)

		// Rotate: a new secret, once; both sign through the grace.
		for _, bad := range []string{"lots", "-1", "604801"} {
			p = c.post(wpath+"/rotate", url.Values{"grace_seconds": {bad}})
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantText(t, p, web.HumanMessage("The grace seconds field must be between 0 and 604800."))
		}
		p = c.post(wpath+"/rotate", url.Values{"grace_seconds": {"3600"}})
		wantRedirect(t, p, wpath+"/secret")
		shown = c.follow(p)
		rotated := shownWebhookSecret(t, shown)
		if rotated == secret {
			t.Fatal("the rotation showed the old secret")
		}
		until := n.Clock.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04 UTC")
		// Relative on the page, the absolute time on hover (relative_time.go).
		wantText(t, shown, "Rotated signing secret", "The old secret stops signing in 1 hour")
		wantText(t, c.get(wpath), "The previous secret signs too; it stops in 1 hour")
		if !strings.Contains(shown.Body, `title="`+until+`"`) {
			t.Errorf("the rotation's end lacks its absolute time %q", until)
		}
		wantRedirect(t, c.post(wpath+"/test", nil), wpath)
		got := rc.Wait(t, 3)[2]
		verifies(t, n, got, rotated)
		verifies(t, n, got, secret)
		reloadUntil(t, c, wpath, badge("succeeded"), attempts(1))

		// Delete, through its confirmation page.
		wantText(t, c.get(wpath+"/delete"), "Delete the webhook endpoint "+rc.URL+"?")
		p = c.post(wpath+"/delete", nil)
		wantRedirect(t, p, "/webhooks")
		wantText(t, c.follow(p), "Webhook endpoint "+rc.URL+" deleted.", "No webhook endpoints yet")
		wantStatus(t, c.get(wpath), http.StatusNotFound)

		events, err := n.Service().ListAudit(ctx, acc.Actor(), core.AuditFilter{Action: "webhook_endpoint.", ActorType: core.ActorUser})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range events {
			actions[e.Action]++
			for _, s := range []string{secret, rotated} {
				if strings.Contains(string(e.Details), s[6:]) {
					t.Fatal("a secret reached the audit log")
				}
			}
		}
		for action, want := range map[string]int{"webhook_endpoint.create": 1, "webhook_endpoint.test": 2, "webhook_endpoint.retry": 1,
			"webhook_endpoint.update": 5, "webhook_endpoint.rotate_secret": 1, "webhook_endpoint.delete": 1} {
			if actions[action] != want {
				t.Errorf("%d %s events, want %d (%v)", actions[action], action, want, actions)
			}
		}
	}, insecureWebhooks)
}

// The endpoint that stands for a project's webhook URL is listed and can
// be tested, disabled and described, but its url and events belong to the
// project, and so does removing it.
func TestWebhookOfProject(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		// Loopback: the projects' events are delivered to it.
		hook := apptest.NewReceiver(t).URL
		newProject := func(name string, secret *string) int64 {
			p, err := n.Service().CreateProject(ctx, acc.Actor(), service.ProjectInput{Name: service.Some(name),
				WebhookURL: service.Some(&hook), WebhookSecret: service.Some(secret)})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		own := "whsec_the-project-chose-this"
		pid := newProject("Pro Plugin", &own)
		generated := newProject("Free Plugin", nil)
		eps := endpoints(t, n, acc)
		if len(eps) != 2 {
			t.Fatalf("%d endpoints for two projects with a webhook URL", len(eps))
		}
		byProject := map[int64]core.WebhookEndpoint{}
		for _, ep := range eps {
			byProject[ep.ProjectID] = ep
		}
		ep := byProject[pid]
		wpath := "/webhooks/" + itoa(ep.ID)

		wantText(t, c.get("/webhooks"), hook, "Project webhook URL", "Pro Plugin", "all events")
		show := c.get(wpath)
		wantText(t, show, "This endpoint is the webhook URL of the project Pro Plugin", "The project's webhook URL",
			"It is the project's own webhook secret")
		wantNoText(t, show, "Delete…", "Rotate secret")
		if !strings.Contains(show.Body, `href="/projects/`+itoa(pid)+`/edit"`) {
			t.Error("the page does not link to the project's settings")
		}
		// Without a secret of its own, the generated one can be rotated.
		wantText(t, c.get("/webhooks/"+itoa(byProject[generated].ID)), "Rotate secret")

		edit := c.get(wpath + "/edit")
		wantText(t, edit, "are changed in the project's settings, not here")
		wantNoText(t, edit, `name="url"`, `name="events"`, `name="project_id"`)
		// A forged url or events on this form is not sent on.
		p := c.post(wpath+"/edit", url.Values{"url": {"https://evil.example/"}, "events": {"license.created"}, "project_id": {"0"},
			"description": {"Billing"}, "ordered": {"1"}, "expiring_days": {"3"}})
		wantRedirect(t, p, wpath)
		cur, _ := n.Service().WebhookEndpoint(ctx, acc.Actor(), ep.ID)
		if cur.URL != hook || !cur.Wants("license.revoked") || cur.ProjectID != pid || cur.Enabled || cur.Description != "Billing" ||
			cur.ExpiringDays != 3 {
			t.Fatalf("after the edit: %+v", cur)
		}

		for _, pg := range []*page{c.get(wpath + "/delete"), c.post(wpath+"/delete", nil)} {
			wantStatus(t, pg, http.StatusConflict)
			wantText(t, pg, "clear the webhook URL in the project's settings")
		}
		if len(endpoints(t, n, acc)) != 2 {
			t.Fatal("the project's endpoint was deleted")
		}
	}, insecureWebhooks)
}

// Viewers hold webhooks:read: they see every page, no control that writes,
// and every post is refused with 403, writing nothing.
func TestWebhookViewer(t *testing.T) {
	n := apptest.New(t, backends(t)[0], insecureWebhooks)
	_, acc := owner(t, n, "Acme", "ada@acme.test")
	n.CreateUser(t, "Acme", "vic@acme.test", core.RoleViewer)
	ctx := context.Background()
	rc := apptest.NewReceiver(t)
	ep, _, err := n.Service().CreateWebhookEndpoint(ctx, acc.Actor(), service.EndpointInput{URL: service.Some(rc.URL),
		Events: service.Some([]string{"*"}), Description: service.Some("Billing sync")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Service().TestWebhookEndpoint(ctx, acc.Actor(), ep.ID); err != nil {
		t.Fatal(err)
	}
	rc.Wait(t, 1)
	wpath := "/webhooks/" + itoa(ep.ID)

	viewer := signIn(t, n, "vic@acme.test")
	wantText(t, viewer.get("/webhooks"), rc.URL, "Billing sync")
	wantNoText(t, viewer.get("/webhooks"), "Add endpoint")
	show := reloadUntil(t, viewer, wpath, badge("succeeded"), "<code>ping</code>")
	wantNoText(t, show, `id="send-test"`, `id="disable-webhook"`, `id="rotate-secret"`, `id="delete-webhook"`, `id="edit-webhook"`, `id="retry-`)
	ds := deliveries(t, n, acc, ep.ID)
	before := auditCount(t, n, acc.OrgID)
	for path, form := range map[string]url.Values{
		"/webhooks":       {"url": {rc.URL}, "events": {"*"}},
		wpath + "/edit":   {"url": {rc.URL}, "events": {"*"}, "enabled": {"1"}},
		wpath + "/enable": nil, wpath + "/disable": nil, wpath + "/test": nil,
		wpath + "/rotate": {"grace_seconds": {"0"}},
		wpath + "/deliveries/" + itoa(ds[0].ID) + "/retry": nil,
		wpath + "/delete": nil,
	} {
		t.Run(path, func(t *testing.T) {
			p := viewer.post(path, form)
			wantStatus(t, p, http.StatusForbidden)
			wantText(t, p, "You cannot do this: your role (viewer) does not allow it.")
		})
	}
	if after := auditCount(t, n, acc.OrgID); after != before {
		t.Fatalf("a viewer's posts wrote %d audit events", after-before)
	}
	if len(endpoints(t, n, acc)) != 1 || len(rc.Got()) != 1 {
		t.Fatal("a viewer's posts changed something")
	}
}

// TestWebhookBadInput: unknown and foreign IDs are 404, bad filters 422,
// a post without the form's token 403; never a 500.
func TestWebhookBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		_, other := owner(t, n, "Beta", "bea@beta.test")
		ctx := context.Background()
		hook := apptest.NewReceiver(t).URL
		mk := func(acc apptest.Account) string {
			ep, _, err := n.Service().CreateWebhookEndpoint(ctx, acc.Actor(), service.EndpointInput{URL: service.Some(hook),
				Events: service.Some([]string{"*"})})
			if err != nil {
				t.Fatal(err)
			}
			return "/webhooks/" + itoa(ep.ID)
		}
		mine, theirs := mk(acc), mk(other)
		for _, tc := range []struct {
			method, path string
			form         url.Values
			status       int
		}{
			{"GET", "/webhooks/abc", nil, 404},
			{"GET", "/webhooks/0", nil, 404},
			{"GET", "/webhooks/99999999999999999999", nil, 404},
			{"GET", "/webhooks/424242", nil, 404},
			{"GET", theirs, nil, 404},
			{"GET", theirs + "/edit", nil, 404},
			{"GET", theirs + "/secret", nil, 404},
			{"GET", theirs + "/delete", nil, 404},
			{"GET", "/webhooks?after=zz", nil, 200},
			{"GET", mine + "?before=xyz", nil, 200},
			{"GET", mine + "?status=bogus", nil, 422},
			{"GET", mine + "/secret", nil, 303},
			{"POST", theirs + "/edit", url.Values{"description": {"x"}}, 404},
			{"POST", theirs + "/test", nil, 404},
			{"POST", theirs + "/rotate", url.Values{"grace_seconds": {"0"}}, 404},
			{"POST", theirs + "/enable", nil, 404},
			{"POST", theirs + "/delete", nil, 404},
			{"POST", mine + "/deliveries/424242/retry", nil, 404},
			{"POST", mine + "/deliveries/abc/retry", nil, 404},
			{"POST", "/webhooks/424242/test", nil, 404},
			{"POST", mine + "/edit", url.Values{"url": {hook}, "events": {"*"}, "expiring_days": {"99999999999999999999"}}, 422},
			{"POST", mine + "/edit", url.Values{"url": {hook}, "events": {"*"}, "project_id": {"-4"}}, 422},
			{"POST", mine, nil, 404},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				var p *page
				if tc.method == "POST" {
					p = c.post(tc.path, tc.form)
				} else {
					p = c.do(tc.method, tc.path, nil, "")
				}
				if p.Status != tc.status {
					t.Fatalf("status %d, want %d\n%s", p.Status, tc.status, p.text())
				}
			})
		}
		wantText(t, c.get(mine+"?status=bogus"), web.HumanMessage("The status field must be pending, succeeded or failed."))

		// Every form needs the session's token.
		before := auditCount(t, n, acc.OrgID)
		for _, path := range []string{"/webhooks", mine + "/edit", mine + "/test", mine + "/rotate", mine + "/disable", mine + "/delete"} {
			p := c.post(path, url.Values{"_csrf": {"forged"}, "url": {hook}, "events": {"*"}})
			wantStatus(t, p, http.StatusForbidden)
			wantText(t, p, "This form has expired or was not sent from this dashboard.")
		}
		if auditCount(t, n, acc.OrgID) != before || len(endpoints(t, n, acc)) != 1 {
			t.Fatal("a post without the token wrote")
		}
	}, insecureWebhooks)
}

// The create form sent twice makes one endpoint; reloading its secret page
// shows the secret no second time, and another session given the cookie
// is not shown it.
func TestWebhookCreateOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		m := submissionRE.FindStringSubmatch(c.get("/webhooks/new").Body)
		if m == nil {
			t.Fatal("the webhook form carries no submission token")
		}
		form := url.Values{"url": {apptest.NewReceiver(t).URL}, "events": {"*"}, "submission": {m[1]}}
		first := c.post("/webhooks", form)
		second := c.post("/webhooks", form)
		if first.Location == "" || second.Location != first.Location {
			t.Fatalf("the repeat went to %q, the first post to %q", second.Location, first.Location)
		}
		if got := len(endpoints(t, n, acc)); got != 1 {
			t.Fatalf("%d endpoints after a form sent twice", got)
		}
		var sealed string
		for _, ck := range (&http.Response{Header: second.Header}).Cookies() {
			if ck.Name == "latchkey_reveal" {
				sealed = ck.Value
			}
		}
		other := signIn(t, n, "ada@acme.test")
		refused := other.get(first.Location, "Cookie", "latchkey_reveal="+sealed)
		wantStatus(t, refused, http.StatusSeeOther)
		wantNoText(t, other.follow(refused), "Copy this secret now.")

		secret := shownWebhookSecret(t, c.follow(first))
		again := c.get(first.Location)
		wantRedirect(t, again, strings.TrimSuffix(first.Location, "/secret"))
		wantNoText(t, c.follow(again), secret)
		if got := len(endpoints(t, n, acc)); got != 1 {
			t.Fatalf("%d endpoints after a reload of the secret page", got)
		}
	}, insecureWebhooks)
}
