package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

// codeJSON is one entry of the error catalogue as GET /api/v1/errors
// lists it.
type codeJSON struct {
	Code    string `json:"code"`
	Status  int    `json:"status"`
	Meaning string `json:"meaning"`
	Action  string `json:"action"`
	Runtime bool   `json:"runtime"`
	DocURL  string `json:"doc_url"`
}

// handleErrorCatalogue lists every code an error body can carry, so that
// a client can build its own table or check one it received. It needs no
// credential: the catalogue is public documentation.
func handleErrorCatalogue(a adapter) handlerFunc {
	codes := core.Codes()
	out := make([]codeJSON, len(codes))
	for i, c := range codes {
		out[i] = codeJSON{Code: c.Code, Status: c.Status, Meaning: c.Meaning, Action: c.Action, Runtime: c.Runtime,
			DocURL: a.docURL(c.Code)}
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		return ok(w, http.StatusOK, "", out)
	}
}
