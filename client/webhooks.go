package client

import (
	"context"
	"iter"
	"math"
	"net/http"
	"net/url"
	"time"
)

// Where a webhook endpoint comes from (WebhookEndpoint.Source).
const (
	// WebhookSourceAPI is an endpoint created through the API, the
	// dashboard or the CLI.
	WebhookSourceAPI = "api"
	// WebhookSourceProject is the endpoint that stands for a project's
	// DevPayr webhook_url: its URL, events and project change with the
	// project, not through Update.
	WebhookSourceProject = "project"
)

// AllEvents subscribes an endpoint to every event type:
// Events: []string{client.AllEvents}.
const AllEvents = "*"

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"
	WebhookSucceeded = "succeeded"
	WebhookFailed    = "failed"
)

// WebhookEndpoint is a URL events are delivered to. Secret is set only in
// the answers of Create and RotateSecret: it is shown once.
type WebhookEndpoint struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// Events are the subscribed types, or ["*"] for all.
	Events []string `json:"events"`
	// ProjectID limits the endpoint to one project; nil means every
	// project of the organization.
	ProjectID *int64 `json:"project_id"`
	Enabled   bool   `json:"enabled"`
	// Ordered endpoints receive events one at a time, in order.
	Ordered bool `json:"ordered"`
	// ExpiringDays is how long before an expiry *.expiring_soon is sent.
	ExpiringDays int `json:"expiring_days"`
	// Source is WebhookSourceAPI or WebhookSourceProject.
	Source string `json:"source"`
	// DisabledReason says why the server disabled the endpoint.
	DisabledReason *string `json:"disabled_reason"`
	// FailingSince is when deliveries started failing.
	FailingSince *time.Time `json:"failing_since"`
	// SecretRotatingUntil is when the previous secret stops signing.
	SecretRotatingUntil *time.Time `json:"secret_rotating_until"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	Secret              string     `json:"secret,omitempty"`
}

// WebhookEndpointCreate is the body of WebhookEndpoints.Create. URL and
// Events are required.
type WebhookEndpointCreate struct {
	// URL is an absolute https:// URL (http:// only on a server started
	// with --allow-insecure-webhooks).
	URL string `json:"url"`
	// Events are event types ("license.revoked"), or []string{AllEvents}.
	Events []string `json:"events"`
	// ProjectID limits the endpoint to one project; 0 means every project.
	ProjectID   int64  `json:"project_id,omitempty"`
	Description string `json:"description,omitempty"`
	// Enabled and Ordered default to true.
	Enabled *bool `json:"enabled,omitempty"`
	Ordered *bool `json:"ordered,omitempty"`
	// ExpiringDays is 1 to 90; 0 means the server's default, 7.
	ExpiringDays int `json:"expiring_days,omitempty"`
}

// WebhookEndpointUpdate is the body of WebhookEndpoints.Update: nil fields
// are left as they are. ClearProject makes the endpoint receive every
// project's events; an empty Description clears it.
type WebhookEndpointUpdate struct {
	URL          *string  `json:"url,omitempty"`
	Events       []string `json:"events,omitempty"`
	ProjectID    *int64   `json:"project_id,omitempty"`
	ClearProject bool     `json:"-"`
	Enabled      *bool    `json:"enabled,omitempty"`
	Description  *string  `json:"description,omitempty"`
	Ordered      *bool    `json:"ordered,omitempty"`
	ExpiringDays *int     `json:"expiring_days,omitempty"`
}

// MarshalJSON encodes the set fields, with null for the cleared ones.
func (u WebhookEndpointUpdate) MarshalJSON() ([]byte, error) {
	type plain WebhookEndpointUpdate
	var nulls []string
	if u.ClearProject {
		nulls = append(nulls, "project_id")
	}
	return withNulls(plain(u), nulls...)
}

// WebhookDelivery is one event's delivery to one endpoint, with every
// attempt made so far.
type WebhookDelivery struct {
	ID         int64  `json:"id"`
	EndpointID int64  `json:"endpoint_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	// Status is WebhookPending, WebhookSucceeded or WebhookFailed.
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// NextAttemptAt is when a pending delivery is tried again.
	NextAttemptAt  *time.Time       `json:"next_attempt_at"`
	LastStatusCode *int             `json:"last_status_code"`
	CreatedAt      time.Time        `json:"created_at"`
	CompletedAt    *time.Time       `json:"completed_at"`
	AttemptLog     []WebhookAttempt `json:"attempt_log"`
}

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	At time.Time `json:"at"`
	// StatusCode is the receiver's HTTP status; nil when no answer came
	// (Error says why).
	StatusCode *int    `json:"status_code"`
	DurationMS int64   `json:"duration_ms"`
	Error      *string `json:"error"`
	// Response is the start of the receiver's answer.
	Response string `json:"response"`
}

// WebhookDeliveryFilter narrows WebhookEndpoints.Deliveries.
type WebhookDeliveryFilter struct {
	// Status is WebhookPending, WebhookSucceeded or WebhookFailed.
	Status string
	// PerPage is the page size.
	PerPage int
}

// WebhookEndpointService manages webhook endpoints and their deliveries
// (scopes webhooks:read and webhooks:write). A project-scoped key sees and
// manages only its project's endpoints.
type WebhookEndpointService struct{ c *Client }

func endpointPath(endpointID int64) string { return "webhook-endpoints/" + id(endpointID) }

// List iterates over the endpoints the caller may see.
func (s *WebhookEndpointService) List(ctx context.Context, lo *ListOptions, opts ...CallOption) iter.Seq2[WebhookEndpoint, error] {
	return list[WebhookEndpoint](ctx, s.c, "webhook-endpoints", lo.query(), opts...)
}

// Get returns one endpoint (never its secret).
func (s *WebhookEndpointService) Get(ctx context.Context, endpointID int64, opts ...CallOption) (*WebhookEndpoint, error) {
	return s.call(ctx, http.MethodGet, endpointPath(endpointID), nil, opts...)
}

// Create creates an endpoint; the answer's Secret is shown only this once.
func (s *WebhookEndpointService) Create(ctx context.Context, in WebhookEndpointCreate, opts ...CallOption) (*WebhookEndpoint, error) {
	return s.call(ctx, http.MethodPost, "webhook-endpoints", in, opts...)
}

// Update changes the fields that are set.
func (s *WebhookEndpointService) Update(ctx context.Context, endpointID int64, in WebhookEndpointUpdate, opts ...CallOption) (*WebhookEndpoint, error) {
	return s.call(ctx, http.MethodPatch, endpointPath(endpointID), in, opts...)
}

// Delete deletes an endpoint; its pending deliveries are dropped.
func (s *WebhookEndpointService) Delete(ctx context.Context, endpointID int64, opts ...CallOption) error {
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: endpointPath(endpointID)}, nil)
	return err
}

// RotateSecret gives the endpoint a new secret and returns it, shown only
// this once. The previous secret also signs deliveries for grace (0 to 7
// days, in whole seconds, rounded up), so that the receiver can switch.
func (s *WebhookEndpointService) RotateSecret(ctx context.Context, endpointID int64, grace time.Duration, opts ...CallOption) (*WebhookEndpoint, error) {
	body := map[string]int64{"grace_seconds": int64(math.Ceil(max(grace, 0).Seconds()))}
	return s.call(ctx, http.MethodPost, endpointPath(endpointID)+"/rotate-secret", body, opts...)
}

// Test delivers a ping event to this endpoint only, and returns the event.
func (s *WebhookEndpointService) Test(ctx context.Context, endpointID int64, opts ...CallOption) (*Event, error) {
	var e Event
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: endpointPath(endpointID) + "/test"}, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Deliveries iterates over an endpoint's deliveries, newest first, each
// with its attempts. f may be nil.
func (s *WebhookEndpointService) Deliveries(ctx context.Context, endpointID int64, f *WebhookDeliveryFilter, opts ...CallOption) iter.Seq2[WebhookDelivery, error] {
	q := url.Values{}
	if f != nil {
		q = (&ListOptions{PerPage: f.PerPage}).query()
		if f.Status != "" {
			q.Set("status", f.Status)
		}
	}
	return list[WebhookDelivery](ctx, s.c, endpointPath(endpointID)+"/deliveries", q, opts...)
}

// Delivery returns one delivery of an endpoint.
func (s *WebhookEndpointService) Delivery(ctx context.Context, endpointID, deliveryID int64, opts ...CallOption) (*WebhookDelivery, error) {
	return s.delivery(ctx, http.MethodGet, endpointPath(endpointID)+"/deliveries/"+id(deliveryID), opts...)
}

// Retry delivers a delivery again now; a failed one starts a new series of
// retries.
func (s *WebhookEndpointService) Retry(ctx context.Context, endpointID, deliveryID int64, opts ...CallOption) (*WebhookDelivery, error) {
	return s.delivery(ctx, http.MethodPost, endpointPath(endpointID)+"/deliveries/"+id(deliveryID)+"/retry", opts...)
}

func (s *WebhookEndpointService) delivery(ctx context.Context, method, path string, opts ...CallOption) (*WebhookDelivery, error) {
	var d WebhookDelivery
	if _, err := s.c.do(ctx, &request{opts: opts, method: method, path: path}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *WebhookEndpointService) call(ctx context.Context, method, path string, body any, opts ...CallOption) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	if _, err := s.c.do(ctx, &request{opts: opts, method: method, path: path, body: body}, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
