package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/metrics"
)

// statusWriter records the status code and the bytes of the body.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe counts and times requests by route, method and status, and
// logs them: with the access log at info (a line per request), else at
// debug; 5xx always at warn. Neither the query string nor any header is
// logged: they carry credentials. Inside a traced request it names the
// server span after the route, which only the mux knows.
func observe(next http.Handler, log *slog.Logger, rm *routeMetrics, accessLog, tracing bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		ro := rm.of(r.Pattern)
		mi := methodIndex(r.Method)
		ro.observe(mi, sw.status, d)
		if tracing {
			if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
				span.SetName(methodNames[mi] + " " + ro.route)
				span.SetAttributes(attribute.String("http.route", ro.route),
					attribute.String("latchkey.request_id", core.RequestID(r.Context())))
			}
		}
		level := slog.LevelDebug
		if accessLog {
			level = slog.LevelInfo
		}
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		if log.Enabled(r.Context(), level) {
			log.LogAttrs(r.Context(), level, core.AccessLogMessage,
				slog.String("method", methodNames[mi]), slog.String("route", ro.route),
				slog.Int("status", sw.status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.Int64("bytes", sw.bytes),
				slog.String("ip", core.ClientIP(r.Context()).String()),
				slog.String("request_id", core.RequestID(r.Context())))
		}
	})
}

// methodNames are the methods metrics and logs name; any other (the
// method is the client's to choose) is "other", so that labels stay few.
var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}

func methodIndex(m string) int {
	for i, n := range methodNames[:len(methodNames)-1] {
		if m == n {
			return i
		}
	}
	return len(methodNames) - 1
}

// statusClasses label the duration histogram: 1xx to 5xx.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

func classIndex(code int) int {
	if code >= 100 && code < 600 {
		return code/100 - 1
	}
	return len(statusClasses) - 1
}

// routeMetrics resolves each (route, method, status) to its metric
// children once; a request after that costs two read-locked map lookups
// with integer or string keys: no label hashing, no allocation.
type routeMetrics struct {
	m      *metrics.Metrics
	mu     sync.RWMutex
	routes map[string]*routeObs // by mux pattern
}

type routeObs struct {
	route string // the clean route label
	rm    *routeMetrics
	mu    sync.RWMutex
	// dur is by method and status class; reqs by method<<16 | status.
	dur  [len(methodNames)][len(statusClasses)]prometheus.Observer
	reqs map[uint32]prometheus.Counter
}

func newRouteMetrics(m *metrics.Metrics) *routeMetrics {
	return &routeMetrics{m: m, routes: map[string]*routeObs{}}
}

// of returns the children of a mux pattern; the patterns are the ones
// registered (or "" for none), so the map is bounded.
func (rm *routeMetrics) of(pattern string) *routeObs {
	rm.mu.RLock()
	ro := rm.routes[pattern]
	rm.mu.RUnlock()
	if ro != nil {
		return ro
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if ro = rm.routes[pattern]; ro == nil {
		ro = &routeObs{route: CleanRoute(pattern), rm: rm, reqs: map[uint32]prometheus.Counter{}}
		rm.routes[pattern] = ro
	}
	return ro
}

func (ro *routeObs) observe(method, status int, d time.Duration) {
	ci := classIndex(status)
	key := uint32(method)<<16 | uint32(status&0xffff)
	ro.mu.RLock()
	obs, c := ro.dur[method][ci], ro.reqs[key]
	ro.mu.RUnlock()
	if obs == nil || c == nil {
		ro.mu.Lock()
		if obs = ro.dur[method][ci]; obs == nil {
			obs = ro.rm.m.HTTPDuration.WithLabelValues(ro.route, methodNames[method], statusClasses[ci])
			ro.dur[method][ci] = obs
		}
		if c = ro.reqs[key]; c == nil {
			c = ro.rm.m.HTTPRequests.WithLabelValues(ro.route, methodNames[method], statusText(status))
			ro.reqs[key] = c
		}
		ro.mu.Unlock()
	}
	obs.Observe(d.Seconds())
	c.Inc()
}

// CleanRoute turns a mux pattern into the route label of metrics, logs and
// spans: without the method ("GET /x" is "/x"; the method is a label of
// its own), the host, the exact-match marker ("/{$}" is "/") or the
// wildcard's dots ("/static/{path...}" is "/static/{path}"). No pattern
// (nothing matched) is "unmatched".
func CleanRoute(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	p := pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = strings.TrimLeft(p[i+1:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i > 0 {
		p = p[i:] // a host before the path
	}
	p = strings.ReplaceAll(p, "{$}", "")
	p = strings.ReplaceAll(p, "...}", "}")
	if p == "" {
		p = "/"
	}
	return p
}

// statusTexts holds the decimal form of every status code, so that
// counting a request does not format one.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
