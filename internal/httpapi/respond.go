package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/latchkey/latchkey/internal/core"
)

// envelope is DevPayr's response shape, used by every route.
type envelope struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	Data      any    `json:"data"`
	Errors    any    `json:"errors"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// DocURL links an error's code to its entry in the catalogue
	// (docs/errors.md, served at core.DocPath).
	DocURL string `json:"doc_url,omitempty"`
}

// handlerFunc is an HTTP handler that returns its failure instead of
// writing it, so that every error reaches the client through one function.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapter turns handlerFuncs into http.Handlers.
type adapter struct {
	log *slog.Logger
	// docs is where the error catalogue is served: --public-url plus
	// core.DocPath, or the path alone when no public URL is set.
	docs string
}

// docURL returns the link to code's entry in the error catalogue.
func (a adapter) docURL(code string) string {
	return a.docs + "#" + core.DocAnchor(code)
}

// wrap makes a handlerFunc an http.Handler that writes its error.
// Every answer is marked no-store first: most carry license keys, secrets
// or data only their caller may see, and a shared proxy or a browser's disk
// cache must keep none of them. The two public documents (the OpenAPI
// document, the signing public key) override it.
func (a adapter) wrap(h handlerFunc) http.Handler {
	if h == nil { // a route that only answers CORS preflights
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header()["Cache-Control"] = hdrNoStore })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Cache-Control"] = hdrNoStore
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// writeError answers with the envelope for err. Internal errors are logged
// with the request ID and shown to the client only as that ID.
func (a adapter) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if core.ClientGone(r.Context(), err) {
		w.WriteHeader(core.StatusClientClosed) // for the access log and metrics: nobody reads it
		return
	}
	var ce *core.Error
	if !errors.As(err, &ce) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ce = &core.Error{Code: core.ETooLarge, Message: "The request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes."}
		}
	}
	env := envelope{Status: "error", RequestID: core.RequestID(r.Context())}
	status := http.StatusInternalServerError
	if ce == nil {
		a.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "route", r.Pattern,
			"request_id", env.RequestID)
		env.Message = "Internal server error."
		env.Code = "INTERNAL"
	} else {
		status = core.HTTPStatus(ce.Code)
		if ce.Code == core.EUnavailable {
			a.log.WarnContext(r.Context(), "database unavailable", "err", ce.Err, "method", r.Method, "route", r.Pattern,
				"request_id", env.RequestID)
			if w.Header().Get("Retry-After") == "" {
				w.Header().Set("Retry-After", "1") // the database is away: a restart or failover takes seconds
			}
		}
		env.Message = ce.Message
		env.Code = ce.Reason
		if env.Code == "" {
			env.Code = core.DefaultReason(ce.Code)
		}
		if len(ce.Fields) > 0 {
			env.Errors = ce.Fields
		}
	}
	env.DocURL = a.docURL(env.Code)
	writeJSON(w, status, env)
}

// ok writes a success envelope.
func ok(w http.ResponseWriter, status int, message string, data any) error {
	if message == "" {
		message = "Success"
	}
	writeJSON(w, status, envelope{Status: "success", Message: message, Data: data})
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON encodes v into a pooled buffer first, so that an encoding
// failure becomes a clean 500 rather than half a body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"status":"error","message":"Internal server error.","data":null,"errors":null}`, http.StatusInternalServerError)
		return
	}
	setJSONHeaders(w.Header(), buf.Len())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
