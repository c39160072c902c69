// Package client is the Go SDK for Latchkey's HTTP API.
//
// A Client talks to one server with one API key. Its services mirror the
// API's resources: Projects, Domains, Licenses, Injectables, Payments,
// APIKeys, Audit, WebhookEndpoints and Events manage data with the API
// key; Validate asks whether a license may run, with the license key
// alone, and verifies offline proofs without the network.
//
//	c, err := client.New("https://licenses.example.com", os.Getenv("LATCHKEY_API_KEY"))
//	if err != nil { … }
//	p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin"})
//
// Every call takes a context. Failures the server reports are *Error values,
// which match the sentinel errors with errors.Is:
//
//	if errors.Is(err, client.ErrNotFound) { … }
//
// Lists are iterators that fetch the next page when the loop reaches it:
//
//	for l, err := range c.Licenses.List(ctx, projectID, nil) {
//		if err != nil { … }
//		fmt.Println(l.Title)
//	}
//
// Every call also takes per-call options (CallOption) last: an
// Idempotency-Key of your own (WithIdempotencyKey), extra headers
// (WithHeader), and the answer's metadata — request ID, rate-limit state,
// whether the answer was replayed — on success as on error (WithResponse):
//
//	var meta client.Response
//	p, err := c.Projects.Create(ctx, in, client.WithIdempotencyKey(orderID), client.WithResponse(&meta))
//
// Every POST and PATCH carries an Idempotency-Key (random unless given),
// the same on each retry, so that the client retries them after a network
// error or a 5xx answer as it retries GETs (WithRetries).
//
// The package is a module of its own (github.com/latchkey/latchkey/client,
// Go 1.23): it imports only the standard library, and nothing of the
// server, so that it adds nothing to a user's build.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Version is the SDK's version, released as the tag client/vVersion of
// github.com/latchkey/latchkey (docs/releasing.md).
const Version = "0.1.0"

// DefaultUserAgent is the User-Agent the client sends unless WithUserAgent
// sets another: latchkey-go/Version.
const DefaultUserAgent = "latchkey-go/" + Version

// Client is a Latchkey API client. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix]/api/v1/
	apiKey    string
	hc        *http.Client
	userAgent string

	retries       int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
	sleep         func(ctx context.Context, d time.Duration) error
	// verifier, when set, verifies the signed answers of runtime calls
	// (WithSignedResponses; signature.go).
	verifier *Verifier

	// LicenseDefaults reads and changes the defaults of new licenses.
	LicenseDefaults *LicenseDefaultsService
	// Projects manages projects.
	Projects *ProjectService
	// Domains manages a project's domains.
	Domains *DomainService
	// Licenses manages a project's licenses.
	Licenses *LicenseService
	// Activations lists and removes a license's activations.
	Activations *ActivationService
	// Injectables manages a project's injectables and streams them to a
	// validated copy.
	Injectables *InjectableService
	// Payments reads payment status with the API key.
	Payments *PaymentService
	// APIKeys manages API keys.
	APIKeys *APIKeyService
	// Audit reads the audit log.
	Audit *AuditService
	// WebhookEndpoints manages webhook endpoints and their deliveries.
	WebhookEndpoints *WebhookEndpointService
	// Events reads the events webhooks deliver.
	Events *EventService
	// Organization reads the plan, policy and usage, and sets the policy.
	Organization *OrganizationService
	// Validate validates licenses (with the license key, not the API key)
	// and verifies offline proofs.
	Validate *ValidateService
	// keys is the server's JWK Set (KeySet; jwks.go).
	keys *RemoteKeySet
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (for timeouts,
// proxies, TLS settings or a test transport). The default is a client with
// a 30-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header, which the server records in
// the audit log.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithRetries sets how many times a request is retried after a 429, a 5xx
// answer or a network error (default 3; 0 disables retries). A 429 is
// retried for every method, since the server refused the request before
// handling it. 5xx answers and network errors are retried for GET, PUT
// and DELETE, which are safe to repeat, and for POST and PATCH because
// the client sends every one with an Idempotency-Key (the same on every
// retry, see WithIdempotencyKey): the server answers a repeat with the
// first answer instead of acting twice. The runtime POSTs that take a
// license key rather than the API key (Validate.License, HasPaid,
// Heartbeat, LicenseFile) are not retried after a 5xx or a network
// error, since the server keeps idempotency keys per API key.
func WithRetries(n int) Option {
	return func(c *Client) { c.retries = max(n, 0) }
}

// WithBackoff sets the delay before the first retry (default 200 ms) and
// the longest computed delay (default 5 s). The delay doubles on each
// retry, with random jitter. A Retry-After header from the server replaces
// the computed delay.
func WithBackoff(base, maximum time.Duration) Option {
	return func(c *Client) {
		if base > 0 {
			c.backoffBase = base
		}
		if maximum > 0 {
			c.backoffMax = maximum
		}
	}
}

// WithMaxRetryAfter sets the longest Retry-After the client waits for
// (default 60 s). A longer one, such as a license's daily cap that resets
// at midnight, is not waited for: the call returns the 429 as an *Error
// whose RetryAfter says how long to wait.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *Client) { c.maxRetryAfter = max(d, 0) }
}

// New returns a client for the server at baseURL (such as
// "https://licenses.example.com"; a URL that already ends in /api/v1 is
// used as it is) authenticating with apiKey. apiKey may be empty for a
// client that only validates licenses.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("latchkey: base URL %q is not an http(s) URL such as https://licenses.example.com", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	path := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(path, "/api/v1") {
		path += "/api/v1"
	}
	u.Path, u.RawPath = path+"/", ""
	c := &Client{
		base:          u.String(),
		apiKey:        strings.TrimSpace(apiKey),
		hc:            &http.Client{Timeout: 30 * time.Second},
		userAgent:     DefaultUserAgent,
		retries:       3,
		backoffBase:   200 * time.Millisecond,
		backoffMax:    5 * time.Second,
		maxRetryAfter: 60 * time.Second,
		sleep:         sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	c.Projects = &ProjectService{c}
	c.Domains = &DomainService{c}
	c.Licenses = &LicenseService{c}
	c.Activations = &ActivationService{c}
	c.Injectables = &InjectableService{c}
	c.Payments = &PaymentService{c}
	c.APIKeys = &APIKeyService{c}
	c.Audit = &AuditService{c}
	c.WebhookEndpoints = &WebhookEndpointService{c}
	c.Events = &EventService{c}
	c.Organization = &OrganizationService{c}
	c.Validate = &ValidateService{c: c}
	c.keys = &RemoteKeySet{URL: jwksURL(c.base), HTTPClient: c.hc, UserAgent: c.userAgent}
	c.LicenseDefaults = &LicenseDefaultsService{c}
	return c, nil
}

// BaseURL returns the API's base URL, ending in "/api/v1/".
func (c *Client) BaseURL() string { return c.base }

// Ping checks that baseURL answers as a Latchkey (or DevPayr) API. It
// needs no API key.
func (c *Client) Ping(ctx context.Context, opts ...CallOption) error {
	var out struct {
		Status string `json:"status"`
	}
	resp, err := c.send(ctx, &request{opts: opts, method: http.MethodGet, path: "", noAuth: true})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, &out); err != nil || out.Status != "ok" {
		return fmt.Errorf("latchkey: %s does not answer as a Latchkey API", c.base)
	}
	return nil
}

// request is one API call.
type request struct {
	method string
	path   string // relative to base, without a leading slash
	query  url.Values
	body   any // JSON-encoded unless raw is set
	raw    []byte
	ctype  string // of raw
	header http.Header
	noAuth bool // runtime routes take a license key, not the API key
	signed bool // a runtime license check, signed with WithSignedResponses
	opts   []CallOption
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
	env    envelope
}

// envelope is the shape of every API answer.
type envelope struct {
	Status    string              `json:"status"`
	Message   string              `json:"message"`
	Data      json.RawMessage     `json:"data"`
	Errors    map[string][]string `json:"errors"`
	Code      string              `json:"code"`
	RequestID string              `json:"request_id"`
	DocURL    string              `json:"doc_url"`
}

// do sends r and decodes the envelope's data into out (when not nil).
func (c *Client) do(ctx context.Context, r *request, out any) (*response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(resp.body, &resp.env); err != nil {
		return nil, fmt.Errorf("latchkey: %s %s: the answer is not JSON: %w", r.method, r.path, err)
	}
	if out != nil {
		if err := json.Unmarshal(resp.env.Data, out); err != nil {
			return nil, fmt.Errorf("latchkey: %s %s: decode data: %w", r.method, r.path, err)
		}
	}
	return resp, nil
}

// send performs r with retries and returns a 2xx answer, or the error.
// The call's options fill their Response on success and failure alike.
func (c *Client) send(ctx context.Context, r *request) (*response, error) {
	cfg := newCallConfig(r.opts)
	var meta *Response
	resp, err := c.attempts(ctx, r, &cfg, &meta)
	if cfg.response != nil && meta != nil {
		*cfg.response = *meta
	}
	return resp, err
}

func (c *Client) attempts(ctx context.Context, r *request, cfg *callConfig, meta **Response) (*response, error) {
	payload := r.raw
	ctype := r.ctype
	if payload == nil && r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("latchkey: encode request: %w", err)
		}
		payload, ctype = b, "application/json"
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	key := cfg.idempotencyKey
	if key == "" && (r.method == http.MethodPost || r.method == http.MethodPatch) {
		k, err := newIdempotencyKey()
		if err != nil {
			return nil, err
		}
		key = k
	}
	// A POST is safe to repeat when the server deduplicates it by its
	// key, which it does for the calls made with the API key.
	repeatable := r.method != http.MethodPost || (key != "" && !r.noAuth)
	for attempt := 0; ; attempt++ {
		// Until an answer comes, the metadata names the key and the
		// attempts, so that a caller can repeat a failed call with the
		// same key.
		*meta = &Response{IdempotencyKey: key, Attempts: attempt + 1}
		req, err := http.NewRequestWithContext(ctx, r.method, target, bytesReader(payload))
		if err != nil {
			return nil, fmt.Errorf("latchkey: %w", err)
		}
		for k, v := range cfg.header {
			req.Header[k] = append([]string(nil), v...)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		if payload != nil {
			req.Header.Set("Content-Type", ctype)
		}
		if !r.noAuth && c.apiKey != "" {
			req.Header.Set("X-API-KEY", c.apiKey)
		}
		if key != "" {
			req.Header.Set(IdempotencyKeyHeader, key)
		}
		nonce, err := c.signRequest(r, req)
		if err != nil {
			return nil, err
		}
		hr, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if repeatable && attempt < c.retries {
				if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("latchkey: %w", err) // a *url.Error: method, URL and cause
		}
		body, err := io.ReadAll(hr.Body)
		_ = hr.Body.Close() // read to the end: a close error loses nothing
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if repeatable && attempt < c.retries {
				if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("latchkey: %s %s: read answer: %w", r.method, c.base+r.path, err)
		}
		if nonce != "" {
			// Before the status is believed: a forged 4xx or 429 fails too.
			if err := c.verifier.Response(ctx, hr, body, nonce); err != nil {
				return nil, fmt.Errorf("latchkey: %s %s: %w", r.method, c.base+r.path, err)
			}
		}
		*meta = newResponse(hr, key, attempt+1)
		if hr.StatusCode < 300 {
			return &response{status: hr.StatusCode, header: hr.Header, body: body}, nil
		}
		apiErr := newError(hr, body)
		apiErr.Response = *meta
		if apiErr.RequestID == "" {
			apiErr.RequestID = (*meta).RequestID
		}
		retry := hr.StatusCode == http.StatusTooManyRequests || (hr.StatusCode >= 500 && repeatable)
		if !retry || attempt >= c.retries {
			return nil, apiErr
		}
		wait := c.backoff(attempt)
		if apiErr.RetryAfter > 0 {
			if apiErr.RetryAfter > c.maxRetryAfter {
				return nil, apiErr
			}
			wait = apiErr.RetryAfter
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func bytesReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

// backoff is the delay before retry attempt+1: base·2^attempt, capped,
// with the upper half jittered so that clients do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase << min(attempt, 20)
	if d <= 0 || d > c.backoffMax {
		d = c.backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// Ptr returns a pointer to v, for the optional fields of requests:
// client.LicenseUpdate{MaxDomains: client.Ptr[int64](5)}.
func Ptr[T any](v T) *T { return &v }

// withNulls encodes v as a JSON object and sets each of nulls to null, for
// update requests that clear a field.
func withNulls(v any, nulls ...string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(nulls) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, n := range nulls {
		m[n] = json.RawMessage("null")
	}
	return json.Marshal(m)
}

var errEmptyKey = errors.New("latchkey: the license key is empty")

func id(n int64) string { return strconv.FormatInt(n, 10) }
