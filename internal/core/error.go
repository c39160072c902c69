package core

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status in httpapi; the dashboard shows
// the message next to the form.
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
}

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
