package client

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// droppingServer closes the connection of the first `drop` requests
// without answering (as a crashed node or a reset does), then answers
// with reply; it records every request's method, key and body.
type droppingServer struct {
	mu    sync.Mutex
	drop  int
	reply func(w http.ResponseWriter)
	seen  []seenRequest
}

type seenRequest struct {
	method, key, body string
	header            http.Header
}

func (d *droppingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.seen = append(d.seen, seenRequest{r.Method, r.Header.Get("Idempotency-Key"), string(b), r.Header.Clone()})
	n := len(d.seen)
	d.mu.Unlock()
	if n <= d.drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err) // httptest's HTTP/1.1 server supports hijacking
		}
		_ = conn.Close() // the point: the client sees the connection end
		return
	}
	d.reply(w)
}

func (d *droppingServer) requests() []seenRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]seenRequest(nil), d.seen...)
}

// newDropping returns a client of a droppingServer. Keep-alives are off so
// that every attempt dials afresh and the transport never replays a
// request on its own: each request the server sees is one of the
// client's attempts.
func newDropping(t *testing.T, drop int, reply func(w http.ResponseWriter)) (*Client, *droppingServer, *[]time.Duration) {
	t.Helper()
	d := &droppingServer{drop: drop, reply: reply}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	c, err := New(srv.URL, "sk_test_key", WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	return c, d, &slept
}

// TestMutationsRetryWithOneKey: a POST or PATCH whose connection drops is
// retried with the key of its first attempt and the same body, so the
// server can answer the repeat with the first answer.
func TestMutationsRetryWithOneKey(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		method string
		drop   int
		call   func(c *Client, opts ...CallOption) error
		body   string
	}{
		{"create", http.MethodPost, 1, func(c *Client, opts ...CallOption) error {
			_, err := c.Projects.Create(ctx, ProjectCreate{Name: "P"}, opts...)
			return err
		}, `{"name":"P"}`},
		{"update", http.MethodPatch, 2, func(c *Client, opts ...CallOption) error {
			_, err := c.Projects.Update(ctx, 7, ProjectUpdate{Name: Ptr("Q")}, opts...)
			return err
		}, `{"name":"Q"}`},
		{"action without body", http.MethodPost, 3, func(c *Client, opts ...CallOption) error {
			_, err := c.Licenses.Suspend(ctx, 7, 9, opts...)
			return err
		}, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, d, slept := newDropping(t, tc.drop, reply(200, okProject))
			var meta Response
			if err := tc.call(c, WithResponse(&meta)); err != nil {
				t.Fatalf("after %d dropped connections: %v", tc.drop, err)
			}
			seen := d.requests()
			if len(seen) != tc.drop+1 || len(*slept) != tc.drop || meta.Attempts != tc.drop+1 {
				t.Fatalf("%d requests, %d sleeps, %d attempts; want %d", len(seen), len(*slept), meta.Attempts, tc.drop+1)
			}
			key := seen[0].key
			if !uuidV4.MatchString(key) || meta.IdempotencyKey != key {
				t.Fatalf("key %q (reported %q), want a UUIDv4", key, meta.IdempotencyKey)
			}
			for i, r := range seen {
				if r.method != tc.method || r.key != key || r.body != tc.body {
					t.Errorf("attempt %d: %s key %q body %q; want %s key %q body %q", i, r.method, r.key, r.body, tc.method, key, tc.body)
				}
			}

			// The next call is another operation: another key.
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			if next := d.requests()[len(seen)].key; next == key || !uuidV4.MatchString(next) {
				t.Fatalf("second call's key %q, first %q", next, key)
			}
		})
	}
}

func TestIdempotencyKeyOptions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		opts []CallOption
		call func(c *Client, opts ...CallOption) error
		want string // "" none, "uuid" a generated one, else that key
	}{
		{"given key", []CallOption{WithIdempotencyKey("order-1234")}, func(c *Client, o ...CallOption) error {
			_, err := c.Projects.Create(ctx, ProjectCreate{Name: "P"}, o...)
			return err
		}, "order-1234"},
		{"key as a header", []CallOption{WithHeader("idempotency-key", "job-77")}, func(c *Client, o ...CallOption) error {
			_, err := c.Licenses.Create(ctx, 7, LicenseCreate{Title: "T"}, o...)
			return err
		}, "job-77"},
		{"blank key means generated", []CallOption{WithIdempotencyKey("  ")}, func(c *Client, o ...CallOption) error {
			_, err := c.APIKeys.Create(ctx, APIKeyCreate{Name: "k"}, o...)
			return err
		}, "uuid"},
		{"GET sends none", nil, func(c *Client, o ...CallOption) error {
			_, err := c.Projects.Get(ctx, 7, o...)
			return err
		}, ""},
		{"DELETE sends none", nil, func(c *Client, o ...CallOption) error {
			return c.Projects.Delete(ctx, 7, o...)
		}, ""},
		{"DELETE with a given key", []CallOption{WithIdempotencyKey("del-1")}, func(c *Client, o ...CallOption) error {
			return c.Projects.Delete(ctx, 7, o...)
		}, "del-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := newFake(t, reply(200, okProject))
			if err := tc.call(c, tc.opts...); err != nil {
				t.Fatal(err)
			}
			got := f.requests[0].Header.Values("Idempotency-Key")
			switch {
			case tc.want == "" && len(got) != 0,
				tc.want == "uuid" && (len(got) != 1 || !uuidV4.MatchString(got[0])),
				tc.want != "" && tc.want != "uuid" && (len(got) != 1 || got[0] != tc.want):
				t.Fatalf("Idempotency-Key %q, want %s", got, tc.want)
			}
		})
	}
}

// TestRetryPolicy: which failures are retried, per kind of call.
func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	unavailable := reply(503, `{"status":"error","message":"Unavailable.","data":null,"errors":null,"code":"UNAVAILABLE","request_id":"r2"}`)
	valid := reply(200, `{"status":"success","message":"ok","data":{"valid":true,"code":"VALID","message":"ok","has_paid":true,"license":null},"errors":null}`)
	cases := []struct {
		name     string
		call     func(c *Client) error
		replies  []func(w http.ResponseWriter)
		requests int
		ok       bool
	}{
		{"POST with the API key after 503", func(c *Client) error {
			_, err := c.Projects.Create(ctx, ProjectCreate{Name: "P"})
			return err
		}, []func(http.ResponseWriter){unavailable, reply(201, okProject)}, 2, true},
		{"PATCH after 503", func(c *Client) error {
			_, err := c.Projects.Update(ctx, 7, ProjectUpdate{Name: Ptr("Q")})
			return err
		}, []func(http.ResponseWriter){unavailable, unavailable, reply(200, okProject)}, 3, true},
		{"POST exhausts its retries", func(c *Client) error {
			_, err := c.Projects.Create(ctx, ProjectCreate{Name: "P"})
			return err
		}, []func(http.ResponseWriter){unavailable}, 4, false},
		// Runtime checks take the license key, and the server keeps
		// idempotency keys per API key: a repeat would count twice.
		{"runtime POST after 503", func(c *Client) error {
			_, err := c.Validate.License(ctx, ValidateRequest{License: "019ae9f4"})
			return err
		}, []func(http.ResponseWriter){unavailable, valid}, 1, false},
		{"runtime POST after 429", func(c *Client) error {
			_, err := c.Validate.License(ctx, ValidateRequest{License: "019ae9f4"})
			return err
		}, []func(http.ResponseWriter){rateLimited("1"), valid}, 2, true},
		{"POST after 422 is not retried", func(c *Client) error {
			_, err := c.Projects.Create(ctx, ProjectCreate{})
			return err
		}, []func(http.ResponseWriter){reply(422, `{"status":"error","message":"The name field is required.","data":null,"errors":{"name":["The name field is required."]},"code":"VALIDATION_ERROR"}`)}, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, f, _ := newFake(t, tc.replies...)
			err := tc.call(c)
			if (err == nil) != tc.ok || len(f.requests) != tc.requests {
				t.Fatalf("err %v after %d requests; want ok=%v after %d", err, len(f.requests), tc.ok, tc.requests)
			}
			key := f.requests[0].Header.Get("Idempotency-Key")
			for i, r := range f.requests {
				if r.Header.Get("Idempotency-Key") != key {
					t.Fatalf("attempt %d key %q, first %q", i, r.Header.Get("Idempotency-Key"), key)
				}
			}
		})
	}
}

// TestFailedCallReportsItsKey: when every attempt fails, WithResponse
// still names the key, so that the caller can repeat the operation later
// without creating it twice.
func TestFailedCallReportsItsKey(t *testing.T) {
	c, d, _ := newDropping(t, 100, reply(200, okProject))
	WithRetries(1)(c)
	var meta Response
	_, err := c.Projects.Create(context.Background(), ProjectCreate{Name: "P"}, WithResponse(&meta))
	if err == nil {
		t.Fatal("no error after every connection dropped")
	}
	seen := d.requests()
	if len(seen) != 2 || meta.Attempts != 2 || meta.StatusCode != 0 || meta.IdempotencyKey != seen[0].key || seen[1].key != seen[0].key {
		t.Fatalf("meta %+v, requests %+v", meta, seen)
	}
}

func TestResponseMetadata(t *testing.T) {
	ctx := context.Background()
	reset := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	limits := []string{"X-Request-ID", "req-42", "X-RateLimit-Limit", "120", "X-RateLimit-Remaining", "119",
		"X-RateLimit-Reset", "1796410800", "Idempotent-Replayed", "true"}
	c, _, _ := newFake(t, reply(201, okProject, limits...),
		reply(404, `{"status":"error","message":"Project not found.","data":null,"errors":null,"code":"NOT_FOUND","request_id":"req-43","doc_url":"/docs/errors#not_found"}`,
			"X-Request-ID", "req-43", "X-RateLimit-Limit", "120", "X-RateLimit-Remaining", "118", "X-RateLimit-Reset", "1796410800"))

	var meta Response
	if _, err := c.Projects.Create(ctx, ProjectCreate{Name: "P"}, WithIdempotencyKey("k-1"), WithResponse(&meta)); err != nil {
		t.Fatal(err)
	}
	want := RateLimit{Limit: 120, Remaining: 119, Reset: reset}
	if meta.StatusCode != 201 || meta.RequestID != "req-42" || !meta.Replayed || meta.IdempotencyKey != "k-1" ||
		meta.Attempts != 1 || meta.RateLimit.Limit != want.Limit || meta.RateLimit.Remaining != want.Remaining || !meta.RateLimit.Reset.Equal(reset) {
		t.Fatalf("success metadata %+v", meta)
	}

	_, err := c.Projects.Get(ctx, 8, WithResponse(&meta))
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != ErrorNotFound || apiErr.DocURL != "/docs/errors#not_found" || apiErr.Response == nil {
		t.Fatalf("%#v", err)
	}
	if !reflect.DeepEqual(*apiErr.Response, meta) || meta.StatusCode != 404 || meta.RequestID != "req-43" || meta.Replayed ||
		meta.RateLimit.Remaining != 118 || meta.IdempotencyKey != "" {
		t.Fatalf("error metadata %+v, WithResponse %+v", *apiErr.Response, meta)
	}
}

func TestWithHeader(t *testing.T) {
	c, f, _ := newFake(t, rateLimited("1"), reply(200, okProject))
	_, err := c.Projects.Get(context.Background(), 7,
		WithHeader("X-Correlation-ID", "job-1"), WithHeader("X-Correlation-ID", "job-2"),
		WithHeader("X-API-KEY", "sk_live_other"), WithHeader("User-Agent", "spoof"))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range f.requests { // on every attempt
		h := r.Header
		if got := h.Values("X-Correlation-ID"); len(got) != 2 || got[0] != "job-1" || got[1] != "job-2" {
			t.Errorf("attempt %d: X-Correlation-ID %q", i, got)
		}
		// The headers the client manages are its own.
		if h.Get("X-API-KEY") != "sk_test_key" || h.Get("User-Agent") != DefaultUserAgent {
			t.Errorf("attempt %d: X-API-KEY %q, User-Agent %q", i, h.Get("X-API-KEY"), h.Get("User-Agent"))
		}
	}
}

func TestDefaultUserAgentHasTheVersion(t *testing.T) {
	if !regexp.MustCompile(`^latchkey-go/\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(DefaultUserAgent) {
		t.Fatalf("DefaultUserAgent %q is not latchkey-go/<semver>", DefaultUserAgent)
	}
	c, f, _ := newFake(t, reply(200, okProject))
	if _, err := c.Projects.Get(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if ua := f.requests[0].Header.Get("User-Agent"); ua != "latchkey-go/"+Version {
		t.Fatalf("User-Agent %q", ua)
	}
}

// TestHKDF checks the SDK's HKDF-SHA256 (license file keys) against RFC
// 5869's test cases 1 and 3.
func TestHKDF(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ikm := unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
	cases := []struct {
		salt, info []byte
		want       string
	}{
		{unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"),
			"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
		{nil, nil, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
	}
	for _, tc := range cases {
		if got := hex.EncodeToString(hkdfSHA256(ikm, tc.salt, tc.info, 42)); got != tc.want {
			t.Errorf("HKDF = %s, want %s", got, tc.want)
		}
	}
}
