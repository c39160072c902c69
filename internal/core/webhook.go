package core

import (
	"context"
	"encoding/json"
	"time"
)

// Event is something that happened to a resource, written in the same
// transaction as the change itself (an outbox) and delivered to the
// webhook endpoints subscribed to it.
type Event struct {
	ID           int64
	PublicID     string // evt_ + UUIDv7 hex: sorts by creation
	OrgID        int64
	ProjectID    int64 // 0: not a project's
	Type         string
	ResourceType string
	ResourceID   int64
	Data         json.RawMessage // {"object": …, "previous": …}
	// DedupeKey, when set, makes the event unique: a second event with
	// the same key is not written (time-driven and once-a-day events).
	DedupeKey string
	CreatedAt time.Time
}

// EventFilter selects events of one organization, newest first.
type EventFilter struct {
	OrgID        int64
	ProjectID    int64
	Type         string // exact, or a prefix ending in "." ("license.")
	ResourceType string
	ResourceID   int64
	BeforeID     int64
	Limit        int
}

// Webhook endpoint sources.
const (
	EndpointSourceAPI     = "api"
	EndpointSourceProject = "project" // a project's DevPayr webhook_url
)

// WebhookEndpoint is where an organization's events are delivered.
type WebhookEndpoint struct {
	ID           int64
	OrgID        int64
	ProjectID    int64 // 0: every project of the organization
	Source       string
	URL          string
	Description  string
	Events       []string // types, or "*"
	Enabled      bool
	Ordered      bool
	ExpiringDays int
	SecretEnc    []byte
	// PreviousSecretEnc signs too until PreviousSecretUntil (rotation).
	PreviousSecretEnc   []byte
	PreviousSecretUntil *time.Time
	FailingSince        *time.Time
	DisabledReason      string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Wants reports whether the endpoint is subscribed to the event type.
func (e *WebhookEndpoint) Wants(typ string) bool {
	for _, t := range e.Events {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}

// WebhookEndpointUpdate changes the fields that are set.
type WebhookEndpointUpdate struct {
	URL                 *string
	Description         *string
	Events              []string // nil: unchanged
	ProjectID           *int64
	Enabled             *bool
	Ordered             *bool
	ExpiringDays        *int
	SecretEnc           []byte // nil: unchanged
	PreviousSecretEnc   *[]byte
	PreviousSecretUntil **time.Time
	FailingSince        **time.Time
	DisabledReason      *string
}

// EndpointFilter selects an organization's endpoints, oldest first.
type EndpointFilter struct {
	OrgID     int64
	ProjectID int64 // > 0: only that project's (not the organization-wide ones)
	AfterID   int64
	Limit     int
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID             int64
	EndpointID     int64
	EventID        int64
	EventPublicID  string
	EventType      string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	SeriesStarted  time.Time // retries give up 3 days after this
	LastStatusCode int
	CreatedAt      time.Time
	CompletedAt    *time.Time
	Log            []WebhookAttempt // oldest first, when asked for
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	ID         int64
	DeliveryID int64
	At         time.Time
	StatusCode int // 0: no response
	Duration   time.Duration
	Error      string
	Response   string // the first 4 KB of the body
}

// DeliveryFilter selects an endpoint's deliveries, newest first.
type DeliveryFilter struct {
	EndpointID int64
	Status     string
	BeforeID   int64
	Limit      int
}

// DeliveryJob is a claimed delivery with what sending it needs.
type DeliveryJob struct {
	Delivery WebhookDelivery
	Event    Event
	Endpoint WebhookEndpoint
}

// DeliveryResult is how an attempt ended.
type DeliveryResult struct {
	DeliveryID int64
	EndpointID int64
	Attempt    WebhookAttempt
	// Status is DeliveryPending (retry at NextAttemptAt), DeliverySucceeded
	// or DeliveryFailed (given up).
	Status        string
	NextAttemptAt time.Time
}

// WebhookStore holds events, endpoints and deliveries.
type WebhookStore interface {
	// CreateEvent writes e and a pending delivery of it to each endpoint
	// in endpointIDs. With a DedupeKey already used it writes nothing and
	// returns false.
	CreateEvent(ctx context.Context, e *Event, endpointIDs []int64) (bool, error)
	// Event returns an organization's event by public ID.
	Event(ctx context.Context, orgID int64, publicID string) (*Event, error)
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// PruneEvents deletes events created before t with their deliveries,
	// at most limit of them, and returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error)

	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	WebhookEndpoint(ctx context.Context, id int64) (*WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context, f EndpointFilter) ([]WebhookEndpoint, error)
	// EnabledWebhookEndpoints returns the enabled endpoints of an
	// organization (the fan-out of its events).
	EnabledWebhookEndpoints(ctx context.Context, orgID int64) ([]WebhookEndpoint, error)
	// ProjectWebhookEndpoint returns the endpoint standing for a project's
	// webhook_url, ENotFound when it has none.
	ProjectWebhookEndpoint(ctx context.Context, projectID int64) (*WebhookEndpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, id int64, upd WebhookEndpointUpdate) (*WebhookEndpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, id int64) error
	// ExpiringDays returns the distinct expiring_days of enabled endpoints.
	ExpiringDays(ctx context.Context) ([]int, error)

	// ClaimDeliveries leases up to limit due deliveries to owner until
	// leaseUntil: pending, due at now, not leased by a live owner, of an
	// enabled endpoint, and for an ordered endpoint only its oldest
	// pending one. Concurrent claimers (other nodes) never get the same
	// delivery while its lease runs.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]DeliveryJob, error)
	// FinishDelivery records the attempt, moves the delivery on, releases
	// its lease, and tracks the endpoint's failing_since (cleared by a
	// success, set by the first failure). It returns the endpoint as
	// stored afterwards.
	FinishDelivery(ctx context.Context, r DeliveryResult) (*WebhookEndpoint, error)
	WebhookDelivery(ctx context.Context, id int64) (*WebhookDelivery, error)
	// ListWebhookDeliveries returns deliveries with their attempts.
	ListWebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]WebhookDelivery, error)
	// RetryDelivery makes a delivery pending and due at now, starting a new
	// series of retries.
	RetryDelivery(ctx context.Context, id int64, now time.Time) (*WebhookDelivery, error)

	// TakeLease gives the named lease to owner until until when it is free,
	// expired or already owner's, and reports whether owner holds it; cursor
	// is the value the holder stored with SetLeaseCursor (zero if none).
	TakeLease(ctx context.Context, name, owner string, now, until time.Time) (held bool, cursor time.Time, err error)
	// SetLeaseCursor stores the holder's progress with the lease.
	SetLeaseCursor(ctx context.Context, name, owner string, cursor time.Time) error

	// LicensesExpiring returns licenses (active, of live projects) whose
	// expires_at is in (from, to], with their project's organization.
	LicensesExpiring(ctx context.Context, from, to time.Time, limit int) ([]ExpiringLicense, error)
	// APIKeysExpiring returns unrevoked keys whose expires_at is in
	// (from, to].
	APIKeysExpiring(ctx context.Context, from, to time.Time, limit int) ([]APIKey, error)
}

// ExpiringLicense is a license with the organization of its project.
type ExpiringLicense struct {
	License
	OrgID int64
}
