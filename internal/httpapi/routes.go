// Package httpapi serves the REST API under /api/v1: DevPayr's routes,
// wire-compatible, and Latchkey's native ones, with the same envelope and
// conventions.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
)

// Deps holds what the API needs.
type Deps struct {
	Logger       *slog.Logger
	Service      *service.Service
	Keys         *keys.Authenticator
	Usage        *keys.Usage
	Limiter      *ratelimit.Limiter
	Metrics      *metrics.Metrics
	KeyRateLimit int
	IPRateLimit  int
	MaxBodyBytes int64
	CursorKey    []byte
	Now          func() time.Time
}

// api holds the handlers' shared dependencies.
type api struct {
	svc     *service.Service
	auth    *authenticator
	cursors cursors
	maxBody int64
	now     func() time.Time
}

// Register adds every API route to mux. This function is the map of the
// API surface.
func Register(mux *http.ServeMux, d Deps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	a := adapter{log: d.Logger}
	h := &api{
		svc:     d.Service,
		cursors: cursors{key: d.CursorKey},
		maxBody: d.MaxBodyBytes,
		now:     d.Now,
		auth: &authenticator{
			keys: d.Keys, usage: d.Usage, limiter: d.Limiter,
			keyLimit: d.KeyRateLimit, ipLimit: d.IPRateLimit, now: d.Now,
		},
	}
	if d.Metrics != nil {
		h.auth.onResult = func(r string) { d.Metrics.AuthResults.WithLabelValues(r).Inc() }
	}
	key := func(f handlerFunc) http.Handler { return a.wrap(h.auth.requireKey(f)) }

	mux.Handle("GET /api/v1/{$}", a.wrap(handleRoot()))

	// API keys (native).
	mux.Handle("POST /api/v1/api-keys", key(h.createKey))
	mux.Handle("GET /api/v1/api-keys", key(h.listKeys))
	mux.Handle("GET /api/v1/api-keys/{id}", key(h.showKey))
	mux.Handle("PATCH /api/v1/api-keys/{id}", key(h.updateKey))
	mux.Handle("DELETE /api/v1/api-keys/{id}", key(h.revokeKey))
	mux.Handle("POST /api/v1/api-keys/{id}/revoke", key(h.revokeKey))
	mux.Handle("POST /api/v1/api-keys/{id}/rotate", key(h.rotateKey))
	mux.Handle("GET /api/v1/api-keys/{id}/usage", key(h.keyUsage))

	// Audit log (native).
	mux.Handle("GET /api/v1/audit", key(h.listAudit))

	mux.Handle("/api/", a.wrap(handleUnknownRoute()))
}
