package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// webhookDone goes back to the endpoint with the outcome. An action the
// endpoint's state refuses (a test event to a disabled endpoint) is a
// message on its page; anything else refused (a viewer's post, a missing
// delivery) is an error page with its status.
func (d *dashboard) webhookDone(w http.ResponseWriter, r *http.Request, id int64, err error, done string) error {
	if err != nil {
		if !core.IsCode(err, core.EConflict) {
			return err
		}
		e, _ := publicError(err, r)
		d.setFlash(w, r, "error", e.Message)
	} else {
		d.setFlash(w, r, "ok", done)
	}
	return redirect(w, r, webhookPath(id))
}

// webhookEnable turns an endpoint on or off; turning on one the server
// disabled clears its failure record.
func (d *dashboard) webhookEnable(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ep, err := d.webhook(r)
		if err != nil {
			return err
		}
		_, err = d.svc.UpdateWebhookEndpoint(r.Context(), actorOf(r), ep.ID, service.EndpointInput{Enabled: service.Some(on)})
		done := "Webhook endpoint disabled: nothing is delivered to it until it is enabled again."
		if on {
			done = "Webhook endpoint enabled."
		}
		return d.webhookDone(w, r, ep.ID, err, done)
	}
}

// webhookTest sends the endpoint a ping event.
func (d *dashboard) webhookTest(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	ev, err := d.svc.TestWebhookEndpoint(r.Context(), actorOf(r), ep.ID)
	done := ""
	if err == nil {
		done = "Test event " + ev.PublicID + " queued: it is listed under Deliveries once sent."
	}
	return d.webhookDone(w, r, ep.ID, err, done)
}

// webhookRetry makes a delivery due now, as a new series of attempts.
func (d *dashboard) webhookRetry(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "dl")
	if err != nil {
		return err
	}
	_, err = d.svc.RetryDelivery(r.Context(), actorOf(r), ep.ID, id)
	done := "Delivery " + strconv.FormatInt(id, 10) + " queued again."
	if !ep.Enabled {
		done += " It is sent once the endpoint is enabled."
	}
	return d.webhookDone(w, r, ep.ID, err, done)
}

// webhookRotate gives the endpoint a new signing secret and redirects to
// the page that shows it once; the old one signs too for the grace chosen.
func (d *dashboard) webhookRotate(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	secs := int64(service.DefaultSecretGrace / time.Second)
	if s := r.PostFormValue("grace_seconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > service.MaxSecretGraceSeconds {
			return core.Invalid("grace_seconds", "The grace seconds field must be between 0 and 604800.")
		}
		secs = n
	}
	out, secret, err := d.svc.RotateWebhookSecret(r.Context(), actorOf(r), ep.ID, time.Duration(secs)*time.Second)
	if err != nil {
		return err
	}
	return d.setReveal(w, r, reveal{Page: webhookSecretPath(out.ID), Secret: secret, Rotated: true, OldUntil: out.PreviousSecretUntil})
}

// errProjectWebhook refuses what only the project can do to its endpoint.
var errProjectWebhook = &core.Error{Code: core.EConflict,
	Message: "This endpoint is the project's webhook URL: to remove it, clear the webhook URL in the project's settings."}

func (d *dashboard) webhookDeletePage(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	if ep.Source == core.EndpointSourceProject {
		return errProjectWebhook
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Delete webhook endpoint", Nav: "webhooks", Data: confirmData{
		Heading: "Delete the webhook endpoint " + ep.URL + "?",
		Body: "Nothing more is delivered to it, and its pending deliveries are dropped. Its secret stops signing; " +
			"a new endpoint at the same URL gets a new one.",
		Action: r.URL.Path, Button: "Delete endpoint", Cancel: webhookPath(ep.ID),
	}})
}

func (d *dashboard) webhookDelete(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	// The service refuses a project's endpoint (after the scope, so a
	// viewer is told that first), in the API's words.
	if err := d.svc.DeleteWebhookEndpoint(r.Context(), actorOf(r), ep.ID); core.IsCode(err, core.EConflict) {
		return errProjectWebhook
	} else if err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Webhook endpoint "+ep.URL+" deleted.")
	return redirect(w, r, "/webhooks")
}
