// Package server builds the root HTTP handler: the middleware every request
// passes through (panic recovery, request ID, client IP, metrics, access
// log), the operational routes (/healthz, /readyz, /metrics), and one mux on
// which the API and the dashboard register their routes.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/metrics"
)

// Config holds the root handler's dependencies.
type Config struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	Ready   func(ctx context.Context) error // /readyz: nil error means ready
	// Redis, when set, reports the shared rate limits' Redis ("up" or
	// "down") in /readyz. It never makes the node unready: while Redis is
	// down, each node enforces its share of the limits.
	Redis func() string
	// Listener, when set (PostgreSQL), reports the change listener ("up"
	// or "down") in /readyz. It never makes the node unready either:
	// while it is down the node serves nothing from its caches, so its
	// answers stay correct.
	Listener       func() string
	TrustedProxies []netip.Prefix
	// Register adds the application's routes to the mux.
	Register []func(mux *http.ServeMux)
}

// Handler returns the root handler.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writePlainJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		st := readiness{Status: "ok", Database: "up"}
		if cfg.Listener != nil {
			st.Listener = cfg.Listener()
		}
		if cfg.Redis != nil {
			st.Redis = cfg.Redis()
		}
		status := http.StatusOK
		if err := cfg.Ready(ctx); err != nil {
			cfg.Logger.WarnContext(ctx, "not ready", "err", err)
			st.Status, st.Message, st.Database = "unavailable", "The store does not answer.", "down"
			status = http.StatusServiceUnavailable
		}
		b, _ := json.Marshal(st) // strings only: it cannot fail
		writePlainJSON(w, status, string(b))
	})
	mux.Handle("GET /metrics", cfg.Metrics.Handler())
	for _, reg := range cfg.Register {
		reg(mux)
	}
	// Innermost first: a panic becomes a 500 that observe still counts and
	// logs with the request's ID and client address.
	var h http.Handler = mux
	h = recoverPanics(h, cfg.Logger)
	h = observe(h, cfg.Logger, cfg.Metrics)
	h = describe(h, cfg.TrustedProxies)
	return h
}

// readiness is the body of /readyz.
type readiness struct {
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Database string `json:"database"`
	Listener string `json:"listener,omitempty"`
	Redis    string `json:"redis,omitempty"`
}

func writePlainJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

// recoverPanics turns a panic into a logged 500, except
// http.ErrAbortHandler, which net/http uses to abort a response on purpose.
func recoverPanics(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v), "request_id", core.RequestID(r.Context()),
				"stack", string(debug.Stack()))
			writePlainJSON(w, http.StatusInternalServerError,
				`{"status":"error","message":"Internal server error.","data":null,"errors":null}`)
		}()
		next.ServeHTTP(w, r)
	})
}

var (
	bootID  = newBootID()
	reqSeen atomic.Uint64
)

func newBootID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// describe gives every request an ID and decides the client's address,
// in one context value (see core.Request).
//
// The ID is the caller's X-Request-ID when it is short and plain, else this
// process's boot ID and a counter (cheaper than random bytes on every
// request, and still unique across nodes).
//
// The address is the socket peer, unless the peer is a trusted proxy, in
// which case the right-most X-Forwarded-For entry that is not itself a
// trusted proxy. Headers from anyone else are ignored, so a client cannot
// choose its own address.
func describe(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !plainID(id) {
			id = bootID + "-" + strconv.FormatUint(reqSeen.Add(1), 36)
		}
		w.Header().Set("X-Request-ID", id)
		info := core.Request{ID: id, ClientIP: peerAddr(r.RemoteAddr)}
		if len(trusted) > 0 && isTrusted(info.ClientIP, trusted) {
			info.ViaProxy = true
			if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				info.ClientIP = fromForwarded(xff, trusted, info.ClientIP)
			}
		}
		next.ServeHTTP(w, r.WithContext(core.WithRequest(r.Context(), info)))
	})
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func fromForwarded(values []string, trusted []netip.Prefix, peer netip.Addr) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed hop: trust nothing beyond the proxy
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
	}
	return peer
}

// statusWriter records the status code.
type statusWriter struct {
	http.ResponseWriter
	status int
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
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe counts and times requests by route pattern, and logs them: at
// debug level normally (an access log costs on the hot path), at warn for
// 5xx. Headers are never logged: they carry credentials.
func observe(next http.Handler, log *slog.Logger, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.HTTPRequests.WithLabelValues(route, r.Method, statusText(sw.status)).Inc()
		m.HTTPDuration.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		if log.Enabled(r.Context(), level) {
			log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Duration("duration", d),
				slog.String("ip", core.ClientIP(r.Context()).String()),
				slog.String("request_id", core.RequestID(r.Context())))
		}
	})
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
