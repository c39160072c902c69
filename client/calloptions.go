package client

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CallOption configures one call: every method of the services takes
// them last, as in
//
//	var meta client.Response
//	p, err := c.Projects.Create(ctx, in,
//		client.WithIdempotencyKey("order-1234"),
//		client.WithHeader("X-Correlation-ID", "job-77"),
//		client.WithResponse(&meta))
type CallOption func(*callConfig)

type callConfig struct {
	idempotencyKey string
	header         http.Header
	response       *Response
}

func newCallConfig(opts []CallOption) callConfig {
	var cfg callConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// IdempotencyKeyHeader is the header that makes a POST or PATCH safe to
// repeat: the server stores the first answer for a key (per API key, for
// 24 hours) and replays it to every repeat (docs/idempotency.md).
const IdempotencyKeyHeader = "Idempotency-Key"

// WithIdempotencyKey sends key as the call's Idempotency-Key instead of
// the random one the client generates for every POST and PATCH. Use a key
// derived from your own record (an order ID, a job ID) to make a create
// safe to repeat across processes, not only across the client's retries.
// The server refuses the same key with a different body
// (ErrorIdempotencyKeyReused). On GET, PUT and DELETE the key is sent as
// well, though those need none.
func WithIdempotencyKey(key string) CallOption {
	return func(cfg *callConfig) { cfg.idempotencyKey = strings.TrimSpace(key) }
}

// WithHeader adds a header to the call's request (to every attempt of
// it). It cannot replace the headers the client manages: X-API-KEY,
// User-Agent, Content-Type, Accept, and the signature headers of signed
// runtime calls; an Idempotency-Key given here counts as
// WithIdempotencyKey.
func WithHeader(name, value string) CallOption {
	return func(cfg *callConfig) {
		if http.CanonicalHeaderKey(name) == IdempotencyKeyHeader {
			cfg.idempotencyKey = strings.TrimSpace(value)
			return
		}
		if cfg.header == nil {
			cfg.header = http.Header{}
		}
		cfg.header.Add(name, value)
	}
}

// WithResponse makes the call fill dst with the metadata of the server's
// answer, on success as on an *Error (whose Response is the same
// value). A listing fills it at every page, so after the loop it
// describes the last page.
func WithResponse(dst *Response) CallOption {
	return func(cfg *callConfig) { cfg.response = dst }
}

// Response is the metadata of an API answer, beside its data.
type Response struct {
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Header is the answer's HTTP header.
	Header http.Header
	// RequestID names the request in the server's logs (X-Request-ID).
	RequestID string
	// RateLimit is the caller's budget after this request, when the
	// server sent the X-RateLimit-* headers.
	RateLimit RateLimit
	// IdempotencyKey is the key the request was sent with; empty when
	// none was sent (GET, PUT and DELETE without WithIdempotencyKey).
	IdempotencyKey string
	// Replayed reports an answer the server replayed from an earlier
	// request with the same key (Idempotent-Replayed: true): the call
	// created or changed nothing this time.
	Replayed bool
	// Attempts counts the HTTP requests made, retries included.
	Attempts int
}

// RateLimit is a rate-limit window as the X-RateLimit-* headers state
// it. The zero value means the server sent none.
type RateLimit struct {
	// Limit is the number of requests allowed in the window.
	Limit int
	// Remaining is how many are left in it.
	Remaining int
	// Reset is when the window resets.
	Reset time.Time
}

func newResponse(hr *http.Response, key string, attempts int) *Response {
	r := &Response{
		StatusCode:     hr.StatusCode,
		Header:         hr.Header,
		RequestID:      hr.Header.Get("X-Request-ID"),
		IdempotencyKey: key,
		Replayed:       strings.EqualFold(hr.Header.Get("Idempotent-Replayed"), "true"),
		Attempts:       attempts,
	}
	r.RateLimit.Limit, _ = strconv.Atoi(hr.Header.Get("X-RateLimit-Limit"))
	r.RateLimit.Remaining, _ = strconv.Atoi(hr.Header.Get("X-RateLimit-Remaining"))
	if s, err := strconv.ParseInt(hr.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && s > 0 {
		r.RateLimit.Reset = time.Unix(s, 0)
	}
	return r
}

// newIdempotencyKey returns a random UUID (version 4), the form most
// servers and job queues expect of an Idempotency-Key.
func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("latchkey: idempotency key: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
