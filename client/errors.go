package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Sentinel errors, one per kind of failure. An *Error matches the one of
// its HTTP status with errors.Is:
//
//	_, err := c.Projects.Get(ctx, 42)
//	if errors.Is(err, client.ErrNotFound) { … }
var (
	ErrBadRequest   = errors.New("latchkey: bad request")         // 400
	ErrUnauthorized = errors.New("latchkey: missing API key")     // 401
	ErrForbidden    = errors.New("latchkey: forbidden")           // 403
	ErrNotFound     = errors.New("latchkey: not found")           // 404
	ErrConflict     = errors.New("latchkey: conflict")            // 409
	ErrTooLarge     = errors.New("latchkey: request too large")   // 413
	ErrValidation   = errors.New("latchkey: validation failed")   // 422
	ErrRateLimited  = errors.New("latchkey: rate limited")        // 429
	ErrServer       = errors.New("latchkey: server error")        // 5xx
	ErrUnexpected   = errors.New("latchkey: unexpected response") // any other status
)

// Error is a failure the server reported.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's message, meant for people.
	Message string
	// Code is the machine-readable reason, one of the server's error
	// catalogue (docs/errors.md): the Error* constants of type Code, such
	// as ErrorValidationError, ErrorNotFound, ErrorInvalidAPIKey,
	// ErrorMissingScope, ErrorRateLimited, and for runtime validation
	// ErrorRevoked, ErrorSuspended, ErrorDomainNotAllowed…
	Code Code
	// Fields maps each invalid field to its messages (422 answers).
	Fields map[string][]string
	// RequestID names the request in the server's logs.
	RequestID string
	// RetryAfter is how long the server asked to wait (429 answers).
	RetryAfter time.Duration
	// DocURL points at the code's entry in the error catalogue.
	DocURL string
	// Response is the metadata of the answer (status, request ID,
	// rate-limit state, idempotency key): the value WithResponse fills.
	Response *Response
}

// Error returns the message on one line, with the status and code.
func (e *Error) Error() string {
	var b strings.Builder
	msg := e.Message
	if len(e.Fields) > 1 {
		// The message names only the first problem: list them all.
		msg = strings.Join(e.FieldMessages(), " ")
	}
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	b.WriteString(msg)
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + string(e.Code))
	}
	if e.RequestID != "" {
		b.WriteString(", request " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// FieldMessages returns every field message, ordered by field name.
func (e *Error) FieldMessages() []string {
	names := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []string
	for _, f := range names {
		out = append(out, e.Fields[f]...)
	}
	return out
}

// Is reports whether target is the sentinel error of e's status.
func (e *Error) Is(target error) bool {
	return target == sentinel(e.StatusCode)
}

func sentinel(status int) error {
	switch {
	case status == http.StatusBadRequest:
		return ErrBadRequest
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status == http.StatusUnprocessableEntity:
		return ErrValidation
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrServer
	}
	return ErrUnexpected
}

// newError builds the *Error of a non-2xx answer. A body that is not the
// envelope (a proxy's error page) keeps the status and a short excerpt.
func newError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var env envelope
	if err := json.Unmarshal(body, &env); err == nil && env.Message != "" {
		e.Message, e.Code, e.Fields, e.RequestID, e.DocURL = env.Message, Code(env.Code), env.Errors, env.RequestID, env.DocURL
		return e
	}
	e.RequestID = resp.Header.Get("X-Request-ID")
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	e.Message = text
	return e
}
