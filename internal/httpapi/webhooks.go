package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// endpointJSON is a webhook endpoint as the API shows it; secret only in
// the answers to create and rotate-secret.
type endpointJSON struct {
	ID                  int64    `json:"id"`
	URL                 string   `json:"url"`
	Description         string   `json:"description"`
	Events              []string `json:"events"`
	ProjectID           *int64   `json:"project_id"`
	Enabled             bool     `json:"enabled"`
	Ordered             bool     `json:"ordered"`
	ExpiringDays        int      `json:"expiring_days"`
	Source              string   `json:"source"`
	DisabledReason      *string  `json:"disabled_reason"`
	FailingSince        *string  `json:"failing_since"`
	SecretRotatingUntil *string  `json:"secret_rotating_until"`
	CreatedAt           string   `json:"created_at"`
	UpdatedAt           string   `json:"updated_at"`
	Secret              string   `json:"secret,omitempty"`
}

func (h *api) endpointView(e *core.WebhookEndpoint) endpointJSON {
	v := endpointJSON{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, ProjectID: view.OptID(e.ProjectID),
		Enabled: e.Enabled, Ordered: e.Ordered, ExpiringDays: e.ExpiringDays, Source: e.Source,
		FailingSince: view.Time(e.FailingSince), CreatedAt: view.TimeV(e.CreatedAt), UpdatedAt: view.TimeV(e.UpdatedAt)}
	if e.DisabledReason != "" {
		r := e.DisabledReason
		v.DisabledReason = &r
	}
	if e.PreviousSecretUntil != nil && e.PreviousSecretUntil.After(h.now()) {
		v.SecretRotatingUntil = view.Time(e.PreviousSecretUntil)
	}
	return v
}

type attemptJSON struct {
	At         string  `json:"at"`
	StatusCode *int    `json:"status_code"`
	DurationMS int64   `json:"duration_ms"`
	Error      *string `json:"error"`
	Response   string  `json:"response"`
}

type webhookDeliveryJSON struct {
	ID             int64         `json:"id"`
	EndpointID     int64         `json:"endpoint_id"`
	EventID        string        `json:"event_id"`
	EventType      string        `json:"event_type"`
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	NextAttemptAt  *string       `json:"next_attempt_at"`
	LastStatusCode *int          `json:"last_status_code"`
	CreatedAt      string        `json:"created_at"`
	CompletedAt    *string       `json:"completed_at"`
	AttemptLog     []attemptJSON `json:"attempt_log"`
}

func webhookDeliveryView(d *core.WebhookDelivery) webhookDeliveryJSON {
	v := webhookDeliveryJSON{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventPublicID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, CreatedAt: view.TimeV(d.CreatedAt), CompletedAt: view.Time(d.CompletedAt), AttemptLog: []attemptJSON{}}
	if d.Status == core.DeliveryPending {
		v.NextAttemptAt = view.Time(&d.NextAttemptAt)
	}
	if d.LastStatusCode != 0 {
		c := d.LastStatusCode
		v.LastStatusCode = &c
	}
	for _, a := range d.Log {
		av := attemptJSON{At: view.TimeV(a.At), DurationMS: a.Duration.Milliseconds(), Response: a.Response}
		if a.StatusCode != 0 {
			c := a.StatusCode
			av.StatusCode = &c
		}
		if a.Error != "" {
			e := a.Error
			av.Error = &e
		}
		v.AttemptLog = append(v.AttemptLog, av)
	}
	return v
}

// eventJSON is an event as the events routes show it: the delivered body's
// fields and where it belongs.
type eventJSON struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	CreatedAt    string          `json:"created_at"`
	ProjectID    *int64          `json:"project_id"`
	ResourceType string          `json:"resource_type"`
	ResourceID   int64           `json:"resource_id"`
	Data         json.RawMessage `json:"data"`
}

func eventView(e *core.Event) eventJSON {
	return eventJSON{ID: e.PublicID, Type: e.Type, CreatedAt: view.TimeV(e.CreatedAt), ProjectID: view.OptID(e.ProjectID),
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, Data: e.Data}
}

// endpointInput reads the endpoint fields that were sent.
func endpointInput(b *body) service.EndpointInput {
	var in service.EndpointInput
	if b.has("url") {
		s, _ := b.str("url")
		in.URL = service.Some(s)
	}
	if b.has("description") {
		s, _ := b.str("description")
		in.Description = service.Some(s)
	}
	if b.has("events") {
		l, ok := b.strList("events")
		if ok {
			in.Events = service.Some(l)
		} else if b.isNull("events") {
			in.Events = service.Some([]string(nil))
		}
	}
	if b.has("project_id") {
		if b.isNull("project_id") {
			in.ProjectID = service.Some(int64(0))
		} else if n, ok := b.integer("project_id"); ok {
			if n <= 0 {
				b.problems().Add("project_id", "The selected project id is invalid.")
			}
			in.ProjectID = service.Some(n)
		}
	}
	for name, dst := range map[string]*service.Opt[bool]{"enabled": &in.Enabled, "ordered": &in.Ordered} {
		if b.has(name) {
			v, _ := b.boolean(name)
			*dst = service.Some(v)
		}
	}
	if b.has("expiring_days") {
		n, _ := b.integer("expiring_days")
		in.ExpiringDays = service.Some(n)
	}
	in.Problems = b.p
	return in
}

var endpointFields = []string{"url", "description", "events", "project_id", "enabled", "ordered", "expiring_days"}

// checkEndpointFields refuses a body with none of the endpoint's fields on
// update, which would otherwise succeed and change nothing silently.
func checkEndpointFields(b *body) error {
	for _, f := range endpointFields {
		if b.has(f) {
			return nil
		}
	}
	return core.Invalid("url", "The request must set at least one of: "+strings.Join(endpointFields, ", ")+".")
}

func (h *api) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	ep, secret, err := h.svc.CreateWebhookEndpoint(r.Context(), actorFrom(r), endpointInput(b))
	if err != nil {
		return err
	}
	v := h.endpointView(ep)
	v.Secret = secret
	return ok(w, http.StatusCreated, "Webhook endpoint created. Copy the secret now: it is not shown again.", v)
}

func (h *api) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	list := fmt.Sprintf("webhook-endpoints/%d/%d", a.OrgID, a.ProjectID)
	after, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	eps, err := h.svc.ListWebhookEndpoints(r.Context(), a, after, n+1)
	if err != nil {
		return err
	}
	return respondPage(h, w, r, list, eps, n, func(e *core.WebhookEndpoint) int64 { return e.ID }, h.endpointView)
}

func (h *api) showEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	ep, err := h.svc.WebhookEndpoint(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", h.endpointView(ep))
}

func (h *api) updateEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	if err := checkEndpointFields(b); err != nil {
		return err
	}
	ep, err := h.svc.UpdateWebhookEndpoint(r.Context(), actorFrom(r), id, endpointInput(b))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Webhook endpoint updated.", h.endpointView(ep))
}

func (h *api) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteWebhookEndpoint(r.Context(), actorFrom(r), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Webhook endpoint deleted.", map[string]any{"id": id, "deleted": true})
}

func (h *api) rotateEndpointSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	grace := int64(service.DefaultSecretGrace / time.Second)
	if b.has("grace_seconds") {
		grace, _ = b.integer("grace_seconds")
	}
	if err := b.err(); err != nil {
		return err
	}
	if grace < 0 || grace > service.MaxSecretGraceSeconds { // also keeps the Duration below from overflowing
		return core.Invalid("grace_seconds", "The grace seconds field must be between 0 and 604800.")
	}
	ep, secret, err := h.svc.RotateWebhookSecret(r.Context(), actorFrom(r), id, time.Duration(grace)*time.Second)
	if err != nil {
		return err
	}
	v := h.endpointView(ep)
	v.Secret = secret
	return ok(w, http.StatusCreated, "Webhook secret rotated. Copy the new secret now: it is not shown again.", v)
}

func (h *api) testEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	if _, err := readBody(w, r, h.maxBody); err != nil {
		return err
	}
	ev, err := h.svc.TestWebhookEndpoint(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, "Test event queued for delivery.", eventView(ev))
}

var deliveryStatuses = []string{core.DeliveryPending, core.DeliverySucceeded, core.DeliveryFailed}

func (h *api) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "Webhook endpoint")
	if err != nil {
		return err
	}
	a := actorFrom(r)
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !slices.Contains(deliveryStatuses, status) {
		return core.Invalid("status", "The status field must be pending, succeeded or failed.")
	}
	list := fmt.Sprintf("deliveries/%d/%d/%q", a.OrgID, id, status)
	before, err := h.cursors.decode(list, q.Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	ds, err := h.svc.ListDeliveries(r.Context(), a, id, core.DeliveryFilter{Status: status, BeforeID: before, Limit: n + 1})
	if err != nil {
		return err
	}
	return respondPage(h, w, r, list, ds, n, func(d *core.WebhookDelivery) int64 { return d.ID }, webhookDeliveryView)
}

func deliveryIDs(r *http.Request) (endpoint, delivery int64, err error) {
	if endpoint, err = pathID(r, "id", "Webhook endpoint"); err != nil {
		return 0, 0, err
	}
	delivery, err = pathID(r, "delivery", "Delivery")
	return endpoint, delivery, err
}

func (h *api) showDelivery(w http.ResponseWriter, r *http.Request) error {
	ep, id, err := deliveryIDs(r)
	if err != nil {
		return err
	}
	d, err := h.svc.Delivery(r.Context(), actorFrom(r), ep, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", webhookDeliveryView(d))
}

func (h *api) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	ep, id, err := deliveryIDs(r)
	if err != nil {
		return err
	}
	if _, err := readBody(w, r, h.maxBody); err != nil {
		return err
	}
	d, err := h.svc.RetryDelivery(r.Context(), actorFrom(r), ep, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, "Delivery queued.", webhookDeliveryView(d))
}

func (h *api) listEvents(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	q := r.URL.Query()
	f := core.EventFilter{Type: q.Get("type"), ResourceType: q.Get("resource_type")}
	if t, ok := strings.CutSuffix(f.Type, "*"); ok {
		f.Type = t // "license.*" and "license." both mean every license event
	}
	if len(f.Type) > 100 || len(f.ResourceType) > 100 {
		return core.Invalid("type", "The type field must not be longer than 100 characters.")
	}
	p := core.Problems{}
	for name, dst := range map[string]*int64{"resource_id": &f.ResourceID, "project_id": &f.ProjectID} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 1 {
				p.Add(name, "The "+label(name)+" field must be a positive integer.")
			}
			*dst = n
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	list := fmt.Sprintf("events/%d/%d/%q/%q/%d/%d", a.OrgID, a.ProjectID, f.Type, f.ResourceType, f.ResourceID, f.ProjectID)
	before, err := h.cursors.decode(list, q.Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 20, 100)
	f.BeforeID, f.Limit = before, n+1
	evs, err := h.svc.ListEvents(r.Context(), a, f)
	if err != nil {
		return err
	}
	return respondPage(h, w, r, list, evs, n, func(e *core.Event) int64 { return e.ID }, eventView)
}

func (h *api) showEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, "evt_") || len(id) > 64 {
		return core.NotFound("Event")
	}
	ev, err := h.svc.Event(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", eventView(ev))
}
