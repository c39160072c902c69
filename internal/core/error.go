package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status (HTTPStatus), the same for the
// API and the dashboard; the dashboard shows the message next to the form.
const (
	EInvalid      = "invalid"      // 422: a field failed validation
	EBadRequest   = "bad_request"  // 400: the request cannot be understood (malformed JSON, missing runtime domain)
	EUnauthorized = "unauthorized" // 401: no credential was sent
	EForbidden    = "forbidden"    // 403: the credential may not do this
	ENotFound     = "not_found"    // 404
	EConflict     = "conflict"     // 409: the state forbids the change
	ETooLarge     = "too_large"    // 413
	ERateLimited  = "rate_limited" // 429
	EUnavailable  = "unavailable"  // 503
	EInternal     = "internal"     // 500: never shown in detail to a client
)

// transport is what every transport answers for an error code: its HTTP
// status, and the machine-readable code the API sends when the error has
// no Reason. One table, so that the API and the dashboard cannot disagree.
var transport = map[string]struct {
	status int
	reason string
}{
	EInvalid:      {http.StatusUnprocessableEntity, "VALIDATION_ERROR"},
	EBadRequest:   {http.StatusBadRequest, "BAD_REQUEST"},
	EUnauthorized: {http.StatusUnauthorized, "UNAUTHENTICATED"},
	EForbidden:    {http.StatusForbidden, "FORBIDDEN"},
	ENotFound:     {http.StatusNotFound, "NOT_FOUND"},
	EConflict:     {http.StatusConflict, "CONFLICT"},
	ETooLarge:     {http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	ERateLimited:  {http.StatusTooManyRequests, "RATE_LIMITED"},
	EUnavailable:  {http.StatusServiceUnavailable, "UNAVAILABLE"},
	EInternal:     {http.StatusInternalServerError, "INTERNAL"},
}

// HTTPStatus returns the HTTP status of an error code; an unknown code is
// 500, as an internal error.
func HTTPStatus(code string) int {
	if t, ok := transport[code]; ok {
		return t.status
	}
	return http.StatusInternalServerError
}

// DefaultReason returns the machine-readable code the API sends for an
// error of this code without a Reason ("VALIDATION_ERROR", …).
func DefaultReason(code string) string {
	if t, ok := transport[code]; ok {
		return t.reason
	}
	return transport[EInternal].reason
}

// Reasons (Error.Reason) that code outside the package that sets them
// decides on: the dashboard masks some as 404 and rewords others, so they
// are constants, and a renamed reason fails to compile instead of changing
// what a page answers. The API sends them as the envelope's "code".
const (
	// The record exists but belongs to another organization, or to
	// another project than the one in the path.
	ReasonProjectMismatch     = "PROJECT_MISMATCH"
	ReasonDomainNotInProject  = "DOMAIN_NOT_IN_PROJECT"
	ReasonLicenseNotInProject = "LICENSE_NOT_IN_PROJECT"
	// The actor lacks a scope (API key) or its role does not allow it.
	ReasonMissingScope      = "MISSING_SCOPE"
	ReasonBeyondOwnRights   = "BEYOND_OWN_RIGHTS"
	ReasonScopeNotGrantable = "SCOPE_NOT_GRANTABLE"
	ReasonOwnerRequired     = "OWNER_REQUIRED"
	ReasonGlobalKeyRequired = "GLOBAL_KEY_REQUIRED"
	ReasonInvalidState      = "INVALID_STATE"
	// A license's external ID is taken in its project (409).
	ReasonExternalIDTaken = "EXTERNAL_ID_TAKEN"
	// API-key authentication.
	ReasonMissingAPIKey = "MISSING_API_KEY"
	ReasonInvalidAPIKey = "INVALID_API_KEY"
	ReasonIPNotAllowed  = "IP_NOT_ALLOWED"
	ReasonRateLimited   = "RATE_LIMITED"
	// Dashboard sessions.
	ReasonNoSession          = "NO_SESSION"
	ReasonInvalidCredentials = "INVALID_CREDENTIALS"
	ReasonAlreadySetUp       = "ALREADY_SET_UP"
	ReasonUserDisabled       = "USER_DISABLED"
	ReasonNoOrganization     = "NO_ORGANIZATION"
	ReasonCSRF               = "CSRF"
)

// Error is a failure that carries a public message safe to show to the
// caller. Any error that is not an *Error is internal: clients see only
// "Internal server error." and the request ID, and the cause is logged.
type Error struct {
	Code    string
	Message string
	// Fields holds per-field validation messages (for EInvalid).
	Fields map[string][]string
	// Reason is an optional machine-readable detail, e.g. a validation
	// result code such as "REVOKED".
	Reason string
	// Err is the cause, for the server's log (a lost connection behind an
	// EUnavailable); never shown to a client.
	Err error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Message + " " + fmt.Sprint(e.Fields)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	return err != nil && ErrorCode(err) == code
}

// StatusClientClosed is the status logged and counted for a request whose
// client went away before its answer (nginx's 499): nothing is sent, and it
// is not a server error.
const StatusClientClosed = 499

// ClientGone reports whether err is only the cancellation of ctx, the
// request's context, because its client disconnected: a statement cut
// short by it is not a failure of the server.
func ClientGone(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, context.Canceled)
}

// NotFound returns an ENotFound error naming the resource.
func NotFound(resource string) *Error {
	return &Error{Code: ENotFound, Message: resource + " not found."}
}

// Problems collects field validation messages and turns them into one
// EInvalid error whose message names the first field, Laravel style
// ("The title field is required. (and 1 more error)").
type Problems map[string][]string

// Add records msg against field.
func (p Problems) Add(field, msg string) {
	p[field] = append(p[field], msg)
}

// Has reports whether field already has a problem.
func (p Problems) Has(field string) bool { return len(p[field]) > 0 }

// Merge adds other's problems to p.
func (p Problems) Merge(other Problems) {
	for f, msgs := range other {
		p[f] = append(p[f], msgs...)
	}
}

// Err returns nil when there are no problems, else an EInvalid *Error.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	fields := make([]string, 0, len(p))
	n := 0
	for f, msgs := range p {
		fields = append(fields, f)
		n += len(msgs)
	}
	sort.Strings(fields)
	first := p[fields[0]][0]
	msg := first
	if n > 1 {
		more := "error"
		if n > 2 {
			more = "errors"
		}
		msg = fmt.Sprintf("%s (and %d more %s)", strings.TrimSpace(first), n-1, more)
	}
	return &Error{Code: EInvalid, Message: msg, Fields: map[string][]string(p)}
}

// Invalid returns an EInvalid error for one field.
func Invalid(field, msg string) *Error {
	return &Error{Code: EInvalid, Message: msg, Fields: map[string][]string{field: {msg}}}
}
