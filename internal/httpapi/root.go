package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

// handleRoot answers the API root as DevPayr does, so a client can check it
// reaches an API.
func handleRoot() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "message": "Welcome to the Latchkey API endpoint (DevPayr-compatible)"})
		return nil
	}
}

// handleUnknownRoute answers every path under /api/ that no route matches
// with a JSON 404, so that clients never see an HTML error page.
func handleUnknownRoute() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return core.Errorf(core.ENotFound, "No route for %s %s.", r.Method, r.URL.Path)
	}
}
