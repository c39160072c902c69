package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPIDoc describes every route Register adds, in OpenAPI 3.1. The
// conformance test (openapi_test.go) fails when a registered route is
// missing from it or a real response does not match it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return openAPIDoc }

// handleOpenAPI serves the document as it is embedded: it needs no
// credential, so that tools can fetch it.
func handleOpenAPI() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
		h.Set("Cache-Control", "public, max-age=3600")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPIDoc)
		return nil
	}
}
