package client

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Event is a change the server recorded and delivers to webhook
// endpoints. ID, Type, CreatedAt and Data are what an endpoint receives,
// the shape of client/webhook.Event; the listing adds what the event is
// about: its project and resource.
type Event struct {
	// ID is "evt_" and 32 hex characters (a UUIDv7: ids sort by time).
	ID string `json:"id"`
	// Type is such as "license.revoked" (docs/webhooks.md lists them).
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
	// ProjectID is the project the resource belongs to; nil for an
	// organization's own resources (a global API key).
	ProjectID *int64 `json:"project_id"`
	// ResourceType and ResourceID name the resource: "license" and 42.
	ResourceType string `json:"resource_type"`
	ResourceID   int64  `json:"resource_id"`
}

// EventData is what an event is about: the resource as the API shows it
// after the change (before it, for deletions) and the previous values of
// the fields that changed.
type EventData struct {
	Object   json.RawMessage `json:"object"`
	Previous json.RawMessage `json:"previous,omitempty"`
}

// EventFilter narrows Events.List; zero fields do not filter.
type EventFilter struct {
	// Type is exact ("license.revoked") or a family ("license.*").
	Type string
	// ResourceType and ResourceID name one resource ("license", 42).
	ResourceType string
	ResourceID   int64
	ProjectID    int64
	// PerPage is the page size.
	PerPage int
}

// EventService reads the events webhooks deliver (scope webhooks:read).
type EventService struct{ c *Client }

// List iterates over events, newest first. A project-scoped key sees only
// its project's events. f may be nil.
func (s *EventService) List(ctx context.Context, f *EventFilter, opts ...CallOption) iter.Seq2[Event, error] {
	q := url.Values{}
	if f != nil {
		q = (&ListOptions{PerPage: f.PerPage}).query()
		for k, v := range map[string]string{"type": f.Type, "resource_type": f.ResourceType} {
			if v != "" {
				q.Set(k, v)
			}
		}
		for k, v := range map[string]int64{"resource_id": f.ResourceID, "project_id": f.ProjectID} {
			if v != 0 {
				q.Set(k, id(v))
			}
		}
	}
	return list[Event](ctx, s.c, "events", q, opts...)
}

// Get returns one event by its ID (evt_…).
func (s *EventService) Get(ctx context.Context, eventID string, opts ...CallOption) (*Event, error) {
	if eventID == "" {
		return nil, errEmptyEventID
	}
	var e Event
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "events/" + url.PathEscape(eventID)}, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// An empty ID would read the listing instead of one event.
var errEmptyEventID = errors.New("latchkey: the event ID is empty")
