// Package httpapi serves the REST API under /api/v1: DevPayr's routes,
// wire-compatible, and Latchkey's native ones, with the same envelope and
// conventions.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/latchkey/latchkey/internal/service"
)

// Deps holds what the API needs.
type Deps struct {
	Logger       *slog.Logger
	Service      *service.Service
	MaxBodyBytes int64
}

// Register adds every API route to mux. This function is the map of the
// API surface.
func Register(mux *http.ServeMux, d Deps) {
	a := adapter{log: d.Logger}
	mux.Handle("GET /api/v1/{$}", a.wrap(handleRoot()))
	mux.Handle("/api/", a.wrap(handleUnknownRoute()))
}
