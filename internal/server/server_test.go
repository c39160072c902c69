package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/metrics"
)

func TestFromForwarded(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	peer := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		xff  []string
		want string
	}{
		{[]string{"203.0.113.9"}, "203.0.113.9"},
		{[]string{"203.0.113.9, 10.1.1.1"}, "203.0.113.9"},     // our own proxy chain is skipped
		{[]string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"}, // the client cannot prepend a hop
		{[]string{"198.51.100.1", "203.0.113.9, 10.0.0.2"}, "203.0.113.9"},
		{[]string{"garbage, 10.0.0.2"}, "127.0.0.1"}, // a malformed hop: trust the peer
		{[]string{"10.0.0.3"}, "127.0.0.1"},          // only proxies: the peer
		{[]string{"::ffff:203.0.113.9"}, "203.0.113.9"},
	}
	for _, tc := range tests {
		if got := fromForwarded(tc.xff, trusted, peer).String(); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.xff, got, tc.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	var seen struct {
		ip    netip.Addr
		id    string
		proxy bool
	}
	h := Handler(Config{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:        metrics.New(),
		Ready:          func(context.Context) error { return nil },
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")},
		Register: []func(*http.ServeMux){func(mux *http.ServeMux) {
			mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
				seen.ip, seen.id, seen.proxy = core.ClientIP(r.Context()), core.RequestID(r.Context()), core.ViaTrustedProxy(r.Context())
			})
			mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
		}},
	})
	do := func(path, remote string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	do("/echo", "198.51.100.7:1234", "X-Forwarded-For", "203.0.113.1")
	if seen.ip.String() != "198.51.100.7" || seen.proxy {
		t.Fatalf("untrusted peer: ip %s, proxy %v", seen.ip, seen.proxy)
	}
	rec := do("/echo", "192.0.2.1:1234", "X-Forwarded-For", "203.0.113.1", "X-Request-ID", "abc-123")
	if seen.ip.String() != "203.0.113.1" || !seen.proxy || seen.id != "abc-123" || rec.Header().Get("X-Request-ID") != "abc-123" {
		t.Fatalf("trusted proxy: %+v, header %q", seen, rec.Header().Get("X-Request-ID"))
	}
	do("/echo", "198.51.100.7:1", "X-Request-ID", "bad id with spaces")
	if seen.id == "" || strings.Contains(seen.id, " ") {
		t.Fatalf("a messy request ID was kept: %q", seen.id)
	}
	rec = do("/panic", "198.51.100.7:1")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"message":"Internal server error."`) {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	if rec := do("/healthz", "198.51.100.7:1"); rec.Code != 200 {
		t.Fatalf("healthz = %d", rec.Code)
	}
	rec = do("/metrics", "198.51.100.7:1")
	if !strings.Contains(rec.Body.String(), `latchkey_http_requests_total{code="500",method="GET",route="/panic"} 1`) {
		t.Fatalf("metrics lack the panic's request:\n%s", rec.Body)
	}
}

func TestReadyz(t *testing.T) {
	h := Handler(Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
		Ready: func(context.Context) error { return context.DeadlineExceeded },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Fatalf("readyz with a dead store = %d", rec.Code)
	}
}

// /readyz says where the database, the change listener (PostgreSQL) and
// Redis (--redis-url) stand. Only the database makes the node unready: with
// the listener down the node serves nothing from its caches, with Redis
// down each node enforces its share of the limits.
func TestReadyzReportsDependencies(t *testing.T) {
	tests := []struct {
		store    error
		listener string
		redis    string
		code     int
		body     string
	}{
		{nil, "", "", 200, `{"status":"ok","database":"up"}`},
		{nil, "", "up", 200, `{"status":"ok","database":"up","redis":"up"}`},
		{nil, "", "down", 200, `{"status":"ok","database":"up","redis":"down"}`},
		{nil, "up", "", 200, `{"status":"ok","database":"up","listener":"up"}`},
		{nil, "down", "", 200, `{"status":"ok","database":"up","listener":"down"}`},
		{nil, "down", "down", 200, `{"status":"ok","database":"up","listener":"down","redis":"down"}`},
		{context.DeadlineExceeded, "", "up", 503, `{"status":"unavailable","message":"The store does not answer.","database":"down","redis":"up"}`},
		{context.DeadlineExceeded, "down", "up", 503, `{"status":"unavailable","message":"The store does not answer.","database":"down","listener":"down","redis":"up"}`},
	}
	for _, tc := range tests {
		cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
			Ready: func(context.Context) error { return tc.store }}
		if tc.listener != "" {
			cfg.Listener = func() string { return tc.listener }
		}
		if tc.redis != "" {
			cfg.Redis = func() string { return tc.redis }
		}
		rec := httptest.NewRecorder()
		Handler(cfg).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != tc.code || strings.TrimSpace(rec.Body.String()) != tc.body {
			t.Errorf("store %v, listener %q, redis %q: %d %s, want %d %s", tc.store, tc.listener, tc.redis, rec.Code, rec.Body, tc.code, tc.body)
		}
	}
}
