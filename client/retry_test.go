package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer answers with the scripted responses in turn and records the
// requests.
type fakeServer struct {
	mu       sync.Mutex
	replies  []func(w http.ResponseWriter)
	requests []*http.Request
	bodies   []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, r)
	f.bodies = append(f.bodies, string(b))
	n := len(f.requests) - 1
	if n >= len(f.replies) {
		n = len(f.replies) - 1
	}
	f.replies[n](w)
}

func reply(status int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body) // the client under test reports a short body
	}
}

const okProject = `{"status":"success","message":"Success","data":{"id":7,"name":"P","slug":"p","created_at":"2026-11-23T10:00:00.000000Z","updated_at":"2026-11-23T10:00:00.000000Z"},"errors":null}`

func rateLimited(retryAfter string) func(w http.ResponseWriter) {
	return reply(429, `{"status":"error","message":"Too Many Attempts.","data":null,"errors":null,"code":"RATE_LIMITED","request_id":"r1"}`,
		"Retry-After", retryAfter)
}

// newFake returns a client of a fake server whose sleeps are recorded
// instead of slept.
func newFake(t *testing.T, replies ...func(w http.ResponseWriter)) (*Client, *fakeServer, *[]time.Duration) {
	t.Helper()
	f := &fakeServer{replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "sk_test_key", WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	return c, f, &slept
}

func TestRetryAfterIsHonoured(t *testing.T) {
	c, f, slept := newFake(t, rateLimited("2"), rateLimited("1"), reply(201, okProject))
	p, err := c.Projects.Create(context.Background(), ProjectCreate{Name: "P"})
	if err != nil || p.ID != 7 {
		t.Fatalf("%v %+v", err, p)
	}
	// A 429 is retried even for POST: the server refused before handling.
	if len(f.requests) != 3 || (*slept)[0] != 2*time.Second || (*slept)[1] != time.Second {
		t.Fatalf("%d requests, slept %v", len(f.requests), *slept)
	}
	for i, b := range f.bodies {
		if b != `{"name":"P"}` {
			t.Fatalf("attempt %d sent %q", i, b)
		}
	}
}

func TestServerErrorsRetriedOnlyWhenSafe(t *testing.T) {
	unavailable := reply(503, `{"status":"error","message":"Unavailable.","data":null,"errors":null,"code":"UNAVAILABLE","request_id":"r2"}`)

	c, f, slept := newFake(t, unavailable, unavailable, reply(200, okProject))
	if _, err := c.Projects.Get(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if len(f.requests) != 3 || len(*slept) != 2 {
		t.Fatalf("GET: %d requests, slept %v", len(f.requests), *slept)
	}
	// Exponential with jitter: [base/2, base], then [base, 2·base].
	if d := (*slept)[0]; d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("first backoff %v", d)
	}
	if d := (*slept)[1]; d < 100*time.Millisecond || d > 200*time.Millisecond {
		t.Fatalf("second backoff %v", d)
	}

	// A runtime POST (license key, no idempotency on the server) is not
	// repeated; TestRetryPolicy has the POSTs that are.
	c, f, _ = newFake(t, unavailable, reply(201, okProject))
	_, err := c.Validate.License(context.Background(), ValidateRequest{License: "019ae9f4"})
	if !errors.Is(err, ErrServer) || len(f.requests) != 1 {
		t.Fatalf("runtime POST after 503: %v, %d requests", err, len(f.requests))
	}

	c, f, _ = newFake(t, unavailable)
	_, err = c.Projects.Get(context.Background(), 7)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "UNAVAILABLE" || len(f.requests) != 4 {
		t.Fatalf("exhausted: %v, %d requests", err, len(f.requests))
	}
}

func TestLongRetryAfterIsReturned(t *testing.T) {
	c, f, slept := newFake(t, rateLimited("3600"))
	_, err := c.Projects.Get(context.Background(), 7)
	var apiErr *Error
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) || apiErr.RetryAfter != time.Hour || len(f.requests) != 1 || len(*slept) != 0 {
		t.Fatalf("%v (%d requests, slept %v)", err, len(f.requests), *slept)
	}
	c, f, _ = newFake(t, rateLimited("1"))
	WithRetries(0)(c)
	if _, err := c.Projects.Get(context.Background(), 7); !errors.Is(err, ErrRateLimited) || len(f.requests) != 1 {
		t.Fatalf("retries disabled: %v, %d requests", err, len(f.requests))
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	c, _, _ := newFake(t, rateLimited("1"))
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}
	if _, err := c.Projects.Get(ctx, 7); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
}

func TestHeadersAndErrors(t *testing.T) {
	c, f, _ := newFake(t, reply(200, okProject),
		reply(200, `{"status":"success","message":"The license is valid.","data":{"valid":true,"code":"VALID","message":"The license is valid.","has_paid":true,"license":null},"errors":null}`),
		reply(502, "<html>Bad gateway</html>", "X-Request-ID", "edge-1"))
	WithUserAgent("tests/1.0")(c)
	ctx := context.Background()
	if _, err := c.Projects.Get(ctx, 7); err != nil {
		t.Fatal(err)
	}
	r := f.requests[0]
	if r.Header.Get("X-API-KEY") != "sk_test_key" || r.Header.Get("User-Agent") != "tests/1.0" || r.URL.Path != "/api/v1/project/7" {
		t.Fatalf("request %s %v", r.URL, r.Header)
	}
	// Runtime routes carry the license key and never the API key.
	if _, err := c.Validate.License(ctx, ValidateRequest{License: "019ae9f4", Domain: "shop.example.com"}); err != nil {
		t.Fatal(err)
	}
	r = f.requests[1]
	if r.Header.Get("X-API-KEY") != "" || r.Header.Get("X-License-Key") != "019ae9f4" || r.Header.Get("X-Devpayr-Domain") != "shop.example.com" {
		t.Fatalf("validate headers %v", r.Header)
	}
	WithRetries(0)(c)
	_, err := c.Projects.Get(ctx, 7)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.RequestID != "edge-1" || !strings.Contains(apiErr.Message, "Bad gateway") {
		t.Fatalf("%#v", err)
	}
	if _, err := c.Validate.License(ctx, ValidateRequest{}); err == nil {
		t.Fatal("empty license key accepted")
	}
}

func TestErrorLine(t *testing.T) {
	e := &Error{StatusCode: 422, Code: "VALIDATION_ERROR", Message: "The title field is required.", RequestID: "abc",
		Fields: map[string][]string{"title": {"The title field is required."}, "max_domains": {"The max domains field must be an integer."}}}
	want := "The max domains field must be an integer. The title field is required. (HTTP 422 VALIDATION_ERROR, request abc)"
	if e.Error() != want {
		t.Fatalf("%q", e.Error())
	}
	if !errors.Is(e, ErrValidation) || errors.Is(e, ErrNotFound) {
		t.Fatal("Is")
	}
}

func TestNewBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":                "http://127.0.0.1:8080/api/v1/",
		"https://lic.example.com/":             "https://lic.example.com/api/v1/",
		"https://lic.example.com/api/v1":       "https://lic.example.com/api/v1/",
		"https://example.com/latchkey/api/v1/": "https://example.com/latchkey/api/v1/",
		"https://example.com/latchkey":         "https://example.com/latchkey/api/v1/",
	} {
		c, err := New(in, "")
		if err != nil || c.BaseURL() != want {
			t.Errorf("%s: %v %v", in, c, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
