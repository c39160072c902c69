package core

import (
	"encoding/json"
	"time"
)

// Actor types recorded in audit events.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
	// ActorLicense is the holder of a license key, on the runtime routes
	// that record what they did (a license file checkout).
	ActorLicense = "license"
)

// AuditEvent records who did what to which resource, when and from where.
type AuditEvent struct {
	ID         int64
	OrgID      int64
	ActorType  string
	ActorID    int64
	ActorLabel string // email or key public ID, kept so the event survives deletions
	Action     string // e.g. "api_key.create", "license.revoke"
	TargetType string
	TargetID   int64
	ProjectID  int64
	IP         string
	UserAgent  string
	Details    json.RawMessage // JSON object; never holds a secret
	CreatedAt  time.Time
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	OrgID      int64
	Action     string // exact action or a prefix ending in "." ("license.")
	ActorType  string
	ActorID    int64
	TargetType string
	TargetID   int64
	ProjectID  int64
	Since      *time.Time
	Until      *time.Time
	BeforeID   int64
	Limit      int
}
