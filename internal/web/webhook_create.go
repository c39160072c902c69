package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// webhookInput reads the endpoint form. An endpoint that stands for a
// project's webhook_url takes its url, events and project from the
// project, so the form has none of them and none are sent.
func webhookInput(f *form, cur *core.WebhookEndpoint) service.EndpointInput {
	in := service.EndpointInput{
		Description: service.Some(f.str("description")),
		Ordered:     service.Some(f.bool("ordered")),
	}
	if cur == nil || cur.Source != core.EndpointSourceProject {
		events := f.Values["events"]
		if events == nil {
			events = []string{} // nothing ticked: refused, never "every event"
		}
		in.URL = service.Some(f.str("url"))
		in.Events = service.Some(events)
		in.ProjectID = service.Some(f.id("project_id"))
	}
	if cur != nil {
		in.Enabled = service.Some(f.bool("enabled"))
	}
	// Blank keeps the default on create and the current value on edit.
	if n := f.optInt("expiring_days"); n != nil {
		in.ExpiringDays = service.Some(*n)
	}
	in.Problems = f.problems
	return in
}

type webhookFormData struct {
	Endpoint   *webhookRow // nil when creating
	Projects   []core.Project
	EventTypes []string
}

func (d *dashboard) renderWebhookForm(w http.ResponseWriter, r *http.Request, status int, f *form, ep *core.WebhookEndpoint) error {
	actor := actorOf(r)
	data := webhookFormData{EventTypes: service.EventTypes}
	if actor.Can(core.ScopeProjectsRead) {
		var err error
		if data.Projects, err = d.svc.ListProjects(r.Context(), actor, 0, 1000); err != nil {
			return err
		}
	}
	title := "New webhook endpoint"
	if ep != nil {
		rows, err := d.webhookRows(r.Context(), actor, []core.WebhookEndpoint{*ep})
		if err != nil {
			return err
		}
		data.Endpoint, title = &rows[0], "Edit webhook endpoint"
	}
	return d.render(w, r, status, "webhook_form", &view{Title: title, Nav: "webhooks", Form: f, Data: data})
}

func (d *dashboard) webhookNew(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.setBool("ordered", true)
	f.set("expiring_days", "7")
	f.set(submissionField, newSubmissionToken())
	return d.renderWebhookForm(w, r, http.StatusOK, f, nil)
}

// webhookCreate adds an endpoint and redirects to the page that shows its
// signing secret once (reveal.go), once per form (submission.go).
func (d *dashboard) webhookCreate(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	in := webhookInput(f, nil)
	return d.createOnce(w, r, f.str(submissionField), func() (submitted, error) {
		ep, secret, err := d.svc.CreateWebhookEndpoint(r.Context(), actorOf(r), in)
		if err != nil {
			status, err := f.refused(err, r)
			if err != nil {
				return submitted{}, err
			}
			return submitted{}, d.renderWebhookForm(w, r, status, f, nil)
		}
		return d.sealReveal(r, reveal{Page: webhookSecretPath(ep.ID), Secret: secret})
	})
}

func webhookSecretPath(id int64) string { return webhookPath(id) + "/secret" }

type webhookSecretData struct {
	Endpoint webhookRow
	Secret   string
	Rotated  bool
	OldUntil *time.Time // rotation: until when the old secret signs too
}

// webhookSecret is the page that shows a new signing secret, once.
func (d *dashboard) webhookSecret(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	rv, ok := d.takeReveal(w, r, webhookSecretPath(ep.ID))
	if !ok {
		d.setFlash(w, r, "error", "An endpoint's signing secret is shown only once, right after the endpoint is created "+
			"or its secret rotated. If you did not copy it, rotate the secret to get a new one.")
		return redirect(w, r, webhookPath(ep.ID))
	}
	rows, err := d.webhookRows(r.Context(), actorOf(r), []core.WebhookEndpoint{*ep})
	if err != nil {
		return err
	}
	data := webhookSecretData{Endpoint: rows[0], Secret: rv.Secret, Rotated: rv.Rotated, OldUntil: rv.OldUntil}
	title := "Your new signing secret"
	if rv.Rotated {
		title = "Rotated signing secret"
	}
	return d.render(w, r, http.StatusOK, "webhook_secret", &view{Title: title, Nav: "webhooks", Data: data})
}

// webhookEdit shows the endpoint's settings, as stored.
func (d *dashboard) webhookEdit(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("url", ep.URL)
	f.Values["events"] = append([]string(nil), ep.Events...)
	if ep.ProjectID != 0 {
		f.set("project_id", strconv.FormatInt(ep.ProjectID, 10))
	}
	f.set("description", ep.Description)
	f.setBool("enabled", ep.Enabled)
	f.setBool("ordered", ep.Ordered)
	f.set("expiring_days", strconv.Itoa(ep.ExpiringDays))
	return d.renderWebhookForm(w, r, http.StatusOK, f, ep)
}

func (d *dashboard) webhookUpdate(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	if _, err := d.svc.UpdateWebhookEndpoint(r.Context(), actorOf(r), ep.ID, webhookInput(f, ep)); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderWebhookForm(w, r, status, f, ep)
	}
	d.setFlash(w, r, "ok", "Webhook endpoint saved.")
	return redirect(w, r, webhookPath(ep.ID))
}
