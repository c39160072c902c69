package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/latchkey/latchkey/internal/metrics"
)

func TestCleanRoute(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"", "unmatched"},
		{"/{$}", "/"},
		{"GET /{$}", "/"},
		{"GET /api/v1/projects/{project}", "/api/v1/projects/{project}"},
		{"POST /api/v1/project/{project}/licenses/{license}/revoke", "/api/v1/project/{project}/licenses/{license}/revoke"},
		{"/api/v1/{$}", "/api/v1/"},
		{"GET /static/{path...}", "/static/{path}"},
		{"GET example.com/x", "/x"},
		{"/healthz", "/healthz"},
	}
	for _, tc := range tests {
		if got := CleanRoute(tc.pattern); got != tc.want {
			t.Errorf("CleanRoute(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// syncBuffer collects log lines written from the handler's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func testHandler(logs io.Writer, level slog.Level, accessLog bool, m *metrics.Metrics) http.Handler {
	return Handler(Config{
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
		Metrics:   m,
		Ready:     func(context.Context) error { return nil },
		AccessLog: accessLog,
		Register: []func(*http.ServeMux){func(mux *http.ServeMux) {
			mux.HandleFunc("GET /api/v1/projects/{project}", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"ok":true}`))
			})
			mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		}},
	})
}

// The access log is a line per request at info, with the clean route and
// no query string or credential header; switched off, requests log at
// debug, and a 5xx still logs at warn.
func TestAccessLog(t *testing.T) {
	const secret = "lk_live_SECRETSECRET"
	tests := []struct {
		name      string
		accessLog bool
		path      string
		method    string
		wantLine  bool
		level     string
		status    float64
	}{
		{"on", true, "/api/v1/projects/7?license_key=" + secret, "GET", true, "INFO", 200},
		{"off", false, "/api/v1/projects/7?license_key=" + secret, "GET", false, "", 0},
		{"off, 5xx", false, "/fail?token=" + secret, "POST", true, "WARN", 503},
		{"on, 5xx", true, "/fail", "POST", true, "WARN", 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			h := testHandler(&logs, slog.LevelInfo, tc.accessLog, metrics.New())
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set("X-API-KEY", secret)
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("X-Request-ID", "req-42")
			h.ServeHTTP(httptest.NewRecorder(), req)
			if strings.Contains(logs.b.String(), secret) {
				t.Fatalf("the log holds a credential:\n%s", logs.b.String())
			}
			lines := logs.lines(t)
			if !tc.wantLine {
				if len(lines) != 0 {
					t.Fatalf("access log off, yet: %v", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("want one line, got %v", lines)
			}
			l := lines[0]
			wantRoute := "/api/v1/projects/{project}"
			if tc.status == 503 {
				wantRoute = "/fail"
			}
			if l["msg"] != "request" || l["level"] != tc.level || l["method"] != tc.method || l["route"] != wantRoute ||
				l["status"] != tc.status || l["request_id"] != "req-42" {
				t.Fatalf("line %v", l)
			}
			if _, ok := l["duration_ms"].(float64); !ok {
				t.Fatalf("no duration_ms in %v", l)
			}
			if tc.status == 200 && l["bytes"] != float64(len(`{"ok":true}`)) {
				t.Fatalf("bytes = %v", l["bytes"])
			}
			if _, ok := l["path"]; ok {
				t.Fatalf("the raw path is logged: %v", l)
			}
		})
	}
}

// The HTTP metrics are labelled with the clean route, the method (a
// method of the client's invention is "other") and the status class.
func TestHTTPMetricLabels(t *testing.T) {
	m := metrics.New()
	h := testHandler(io.Discard, slog.LevelError, false, m)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/projects/3"}, {"GET", "/api/v1/projects/4"}, {"GET", "/"}, {"POST", "/fail"},
		{"BREW", "/"}, {"GET", "/nowhere"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`latchkey_http_request_duration_seconds_count{method="GET",route="/api/v1/projects/{project}",status_class="2xx"} 2`,
		`latchkey_http_request_duration_seconds_count{method="GET",route="/",status_class="2xx"} 1`,
		`latchkey_http_request_duration_seconds_count{method="POST",route="/fail",status_class="5xx"} 1`,
		`latchkey_http_request_duration_seconds_count{method="other",route="/",status_class="2xx"} 1`,
		`latchkey_http_request_duration_seconds_count{method="GET",route="unmatched",status_class="4xx"} 1`,
		`latchkey_http_requests_total{code="204",method="GET",route="/"} 1`,
		`latchkey_http_requests_total{code="503",method="POST",route="/fail"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "{$}") || strings.Contains(body, `route="GET `) || strings.Contains(body, "BREW") {
		t.Errorf("a route or method label leaks pattern syntax or a client's method:\n%s", body)
	}
}

// Tracing off costs nothing: the handler without a tracer allocates no
// more than it did before tracing existed (10 per request at the commit
// before it: the mux's match, the request's context value and copy, the
// generated request ID and its header, the statusWriter), far less than
// with a tracer. BenchmarkRootHandler shows the same in time.
func TestTracingOffAllocations(t *testing.T) {
	off := testHandler(io.Discard, slog.LevelError, false, metrics.New())
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	on := Handler(Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})), Metrics: metrics.New(),
		Ready: func(context.Context) error { return nil }, Tracer: tp,
		Register: []func(*http.ServeMux){func(mux *http.ServeMux) {
			mux.HandleFunc("GET /api/v1/projects/{project}", func(w http.ResponseWriter, r *http.Request) {})
		}},
	})
	req := httptest.NewRequest("GET", "/api/v1/projects/7", nil)
	w := &nopWriter{h: http.Header{}}
	allocs := func(h http.Handler) float64 {
		h.ServeHTTP(w, req) // resolve the metric children
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	}
	offAllocs, onAllocs := allocs(off), allocs(on)
	t.Logf("allocations per request: tracing off %.0f, on %.0f", offAllocs, onAllocs)
	if offAllocs > 10 {
		t.Errorf("tracing off: %.0f allocations per request, want at most 10", offAllocs)
	}
	if onAllocs <= offAllocs {
		t.Errorf("tracing on allocates %.0f, off %.0f: is the tracer wired at all?", onAllocs, offAllocs)
	}
	spans := exp.GetSpans()
	if len(spans) == 0 || spans[0].Name != "GET /api/v1/projects/{project}" {
		t.Fatalf("server span named %v", spans)
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkRootHandler is the middleware's cost per request (recovery,
// request ID, client IP, metrics, the access log's level check), with
// tracing off and on.
func BenchmarkRootHandler(b *testing.B) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for _, bc := range []struct {
		name   string
		tracer *sdktrace.TracerProvider
	}{{"tracing=off", nil}, {"tracing=on", tp}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{
				Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})), Metrics: metrics.New(),
				Ready: func(context.Context) error { return nil }, AccessLog: true,
				Register: []func(*http.ServeMux){func(mux *http.ServeMux) {
					mux.HandleFunc("GET /api/v1/projects/{project}", func(w http.ResponseWriter, r *http.Request) {})
				}},
			}
			if bc.tracer != nil {
				cfg.Tracer = bc.tracer
			}
			h := Handler(cfg)
			req := httptest.NewRequest("GET", "/api/v1/projects/7", nil)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
				exp.Reset()
			}
		})
	}
}
