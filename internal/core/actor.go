package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
)

// Actor is whoever makes a request: a signed-in user, an API key acting for
// its owner, or the system (admin commands). Its rights are computed for the
// request at hand and never stored.
type Actor struct {
	Type      string // ActorUser, ActorAPIKey or ActorSystem
	UserID    int64
	OrgID     int64
	Role      Role     // the user's current role in OrgID
	KeyID     int64    // for API keys
	ProjectID int64    // for project-scoped keys; 0 otherwise
	Scopes    ScopeSet // effective: key scopes ∩ role scopes
	Label     string   // email or key public ID, for the audit log
	// TestMode: an sk_test_ key. It sees and changes only test licenses,
	// and only reads projects, domains and injectables (issue 15).
	TestMode  bool
	Addr      netip.Addr // client address
	UserAgent string
}

// Can reports whether the actor holds scope.
func (a *Actor) Can(scope Scope) bool { return a.Scopes.HasScope(scope) }

// Require returns a 403 naming scope when the actor lacks it.
func (a *Actor) Require(scope Scope) error {
	if err := a.testModeGuard(scope); err != nil {
		return err
	}
	if a.Can(scope) {
		return nil
	}
	return &Error{Code: EForbidden, Reason: ReasonMissingScope,
		Message: fmt.Sprintf("This API key is missing the required scope: %s.", scope)}
}

// Audit returns an event attributed to the actor.
func (a *Actor) Audit(action, targetType string, targetID, projectID int64, details any) *AuditEvent {
	e := &AuditEvent{
		OrgID: a.OrgID, ActorType: a.Type, ActorLabel: a.Label, Action: action,
		TargetType: targetType, TargetID: targetID, ProjectID: projectID,
		// The User-Agent is whatever the client's library sends: made
		// storable rather than refused, and bounded as sessions bound it.
		UserAgent: CleanText(a.UserAgent, 512),
	}
	if a.Addr.IsValid() {
		e.IP = a.Addr.String()
	}
	switch a.Type {
	case ActorAPIKey:
		e.ActorID = a.KeyID
	case ActorUser:
		e.ActorID = a.UserID
	}
	if details != nil {
		if b, err := json.Marshal(details); err == nil {
			e.Details = b
		}
	}
	return e
}

// SystemActor returns the actor for admin commands run on the server: all
// scopes in the organization, attributed to "system".
func SystemActor(orgID int64, label string) *Actor {
	return &Actor{Type: ActorSystem, OrgID: orgID, Role: RoleOwner, Scopes: allScopeSet, Label: label}
}

// Request describes the HTTP request a context belongs to: its ID, the
// client's address as decided by the trusted-proxy rules, and whether it
// came through a trusted proxy, whose headers (country, scheme) may be
// believed. One value rather than three keeps the request middleware to a
// single context and request copy.
type Request struct {
	ID       string
	ClientIP netip.Addr
	ViaProxy bool
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

func requestOf(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// WithClientIP returns ctx carrying the client's address, keeping the rest
// of the request's description.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	r := requestOf(ctx)
	r.ClientIP = ip
	return WithRequest(ctx, r)
}

// AccessLogMessage is the message of the access log's line per request
// (server): the log handler lets those lines wait in its buffer and writes
// every other line at once (telemetry.LogBuffer).
const AccessLogMessage = "request"

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string { return requestOf(ctx).ID }

// ClientIP returns the client address carried by ctx.
func ClientIP(ctx context.Context) netip.Addr { return requestOf(ctx).ClientIP }

// ViaTrustedProxy reports whether the request came through a trusted proxy.
func ViaTrustedProxy(ctx context.Context) bool { return requestOf(ctx).ViaProxy }
