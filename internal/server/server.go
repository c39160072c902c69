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

	"go.opentelemetry.io/otel/trace"

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
	// AccessLog logs every request at info (5xx at warn); without it,
	// requests are logged at debug and 5xx at warn.
	AccessLog bool
	// Tracer, when set, traces every request but the operational routes
	// (otelhttp, W3C traceparent from the caller); nil: no tracing code
	// runs at all.
	Tracer trace.TracerProvider
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
	h = observe(h, cfg.Logger, newRouteMetrics(cfg.Metrics), cfg.AccessLog, cfg.Tracer != nil)
	h = describe(h, cfg.TrustedProxies)
	if cfg.Tracer != nil {
		h = traced(h, cfg.Tracer)
	}
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
		// The header names in canonical form ("X-Request-Id"): Get and Set
		// with "X-Request-ID" would canonicalise, allocating, every time.
		var id string
		if v := r.Header["X-Request-Id"]; len(v) > 0 {
			id = v[0]
		}
		if !plainID(id) {
			id = bootID + "-" + strconv.FormatUint(reqSeen.Add(1), 36)
		}
		w.Header()["X-Request-Id"] = []string{id}
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
