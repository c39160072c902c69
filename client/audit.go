package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID int64 `json:"id"`
	// ActorType is "user", "api_key" or "system".
	ActorType string `json:"actor_type"`
	ActorID   int64  `json:"actor_id"`
	// Actor is the user's e-mail or the key's public ID.
	Actor string `json:"actor"`
	// Action is such as "license.revoke" or "api_key.rotate".
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   int64           `json:"target_id"`
	ProjectID  *int64          `json:"project_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Details    json.RawMessage `json:"details"`
	CreatedAt  time.Time       `json:"created_at"`
}

// AuditFilter narrows Audit.List; zero fields do not filter.
type AuditFilter struct {
	// Action is exact, or a prefix ending in "." ("license.").
	Action     string
	ActorType  string
	ActorID    int64
	TargetType string
	TargetID   int64
	ProjectID  int64
	Since      time.Time
	Until      time.Time
	// PerPage is the page size (default 50, at most 100).
	PerPage int
}

// AuditService reads the audit log (scope audit:read).
type AuditService struct{ c *Client }

// List iterates over audit events, newest first. A project-scoped key sees
// only its project's events. f may be nil.
func (s *AuditService) List(ctx context.Context, f *AuditFilter, opts ...CallOption) iter.Seq2[AuditEvent, error] {
	q := url.Values{}
	if f != nil {
		q = (&ListOptions{PerPage: f.PerPage}).query()
		for k, v := range map[string]string{"action": f.Action, "actor_type": f.ActorType, "target_type": f.TargetType} {
			if v != "" {
				q.Set(k, v)
			}
		}
		for k, v := range map[string]int64{"actor_id": f.ActorID, "target_id": f.TargetID, "project_id": f.ProjectID} {
			if v != 0 {
				q.Set(k, id(v))
			}
		}
		for k, v := range map[string]time.Time{"since": f.Since, "until": f.Until} {
			if !v.IsZero() {
				q.Set(k, v.UTC().Format(time.RFC3339Nano))
			}
		}
	}
	return list[AuditEvent](ctx, s.c, "audit", q, opts...)
}
