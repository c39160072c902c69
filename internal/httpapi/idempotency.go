package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The headers of the idempotency contract (docs/idempotency.md).
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	// IdempotentReplayedHeader marks an answer replayed from the store.
	IdempotentReplayedHeader = "Idempotent-Replayed"
	// maxIdempotencyKey is the longest key accepted, as Stripe's.
	maxIdempotencyKey = 255
	// maxStoredAnswer bounds the answer kept for replay (status line aside:
	// headers and body). Every answer of the API fits: the largest, an
	// injectable with the most content a 6 MiB request can carry,
	// encrypted and base64-encoded, is about 8.1 MiB. An answer above it
	// is sent but not stored, and the key is released (logged).
	maxStoredAnswer = 10 << 20
	// settleTimeout bounds storing an answer once the request is done,
	// also when the client has gone: the write it describes happened.
	settleTimeout = 5 * time.Second
)

// errIdempotencyKeyFormat is the answer to a malformed Idempotency-Key: a
// 422 naming the header, as every input error names its field.
var errIdempotencyKeyFormat = core.Invalid(IdempotencyKeyHeader, "The "+IdempotencyKeyHeader+
	" header must be sent once, with 1 to "+strconv.Itoa(maxIdempotencyKey)+" printable ASCII characters (0x20 to 0x7E).")

// validIdempotencyKey reports whether k is 1 to 255 printable ASCII
// characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7E {
			return false
		}
	}
	return true
}

// idempotencyFingerprint identifies a request: SHA-256 over its method,
// its path and query as sent, and its body byte for byte. Neither the
// method nor the path can hold a newline, so the fields cannot run into
// each other.
func idempotencyFingerprint(method, path, query string, body []byte) []byte {
	h := sha256.New()
	_, _ = io.WriteString(h, method+"\n"+path+"?"+query+"\n")
	_, _ = h.Write(body)
	return h.Sum(nil)
}

// idempotent gives a POST or PATCH that carries an Idempotency-Key the
// contract of docs/idempotency.md: the first request with a key runs and
// its answer is stored; a retry with the same key and request gets that
// answer again without running; the same key with another request is a
// 422, and while the first is running a 409. It runs after requireKey
// (keys are scoped to the API key) and costs nothing to a request without
// the header. maxBody bounds the body read to fingerprint it: the route's
// own limit, so that the handler's answer to a larger one stays the same.
func (h *api) idempotent(a adapter, maxBody int64, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodPost && r.Method != http.MethodPatch {
			return next(w, r)
		}
		vals, sent := r.Header[IdempotencyKeyHeader]
		if !sent {
			return next(w, r)
		}
		if len(vals) != 1 || !validIdempotencyKey(vals[0]) {
			return errIdempotencyKeyFormat
		}
		key := vals[0]
		body, err := readRawBody(w, r, maxBody)
		if err != nil {
			return err
		}
		fp := idempotencyFingerprint(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body)
		res, claim, err := h.svc.ClaimIdempotencyKey(r.Context(), actorFrom(r), key, fp)
		if err != nil {
			return err
		}
		switch res.Outcome {
		case core.IdempotencyReplay:
			replay(w, res.Response)
			return nil
		case core.IdempotencyInUse:
			w.Header().Set("Retry-After", "1")
			return &core.Error{Code: core.EConflict, Reason: core.ReasonIdempotencyKeyInUse,
				Message: "A request with this " + IdempotencyKeyHeader + " is still being handled; retry it shortly."}
		case core.IdempotencyMismatch:
			msg := "This " + IdempotencyKeyHeader + " was already used with a different request (method, path or body)."
			return &core.Error{Code: core.EInvalid, Reason: core.ReasonIdempotencyKeyReused, Message: msg,
				Fields: map[string][]string{IdempotencyKeyHeader: {msg}}}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &answerRecorder{header: http.Header{}}
		done := false
		defer func() {
			if !done { // the handler panicked: the next request with the key runs
				h.releaseIdempotency(a.log, r, claim)
			}
		}()
		if err := next(rec, r); err != nil {
			a.writeError(rec, r, err)
		}
		done = true
		h.settleIdempotency(a.log, r, claim, rec)
		rec.sendTo(w)
		return nil
	}
}

// readRawBody reads the whole body, bounded as the handler would bound it.
func readRawBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, bodyError(err, max)
	}
	return b, nil
}

// settleIdempotency stores the answer rec holds, or releases the key when
// it must not be replayed: a 5xx or a 429 says nothing was done (or may be
// retried), and an answer too large to store is sent but not kept.
func (h *api) settleIdempotency(log *slog.Logger, r *http.Request, claim *service.IdempotencyClaim, rec *answerRecorder) {
	status := rec.statusCode()
	if status >= 500 || status == http.StatusTooManyRequests {
		h.releaseIdempotency(log, r, claim)
		return
	}
	stored := &core.StoredResponse{Status: status, Header: replayHeaders(rec.header), Body: rec.body.Bytes()}
	size := len(stored.Body)
	for k, vs := range stored.Header {
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	if size > maxStoredAnswer {
		log.WarnContext(r.Context(), "answer too large to store for its Idempotency-Key; the key is released",
			"bytes", size, "limit", maxStoredAnswer, "route", r.Pattern, "request_id", core.RequestID(r.Context()))
		h.releaseIdempotency(log, r, claim)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), settleTimeout)
	defer cancel()
	if err := h.svc.CompleteIdempotencyKey(ctx, claim, stored); err != nil {
		// The answer still goes out. The key stays in flight until its
		// lease runs out; then a retry runs the request again.
		log.WarnContext(r.Context(), "store the answer of an Idempotency-Key", "err", err,
			"route", r.Pattern, "request_id", core.RequestID(r.Context()))
	}
}

func (h *api) releaseIdempotency(log *slog.Logger, r *http.Request, claim *service.IdempotencyClaim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), settleTimeout)
	defer cancel()
	if err := h.svc.ReleaseIdempotencyKey(ctx, claim); err != nil {
		log.WarnContext(r.Context(), "release an Idempotency-Key", "err", err,
			"route", r.Pattern, "request_id", core.RequestID(r.Context()))
	}
}

// notReplayed are the headers that describe the request rather than the
// answer: this request's rate-limit state and ID (set again on a replay),
// the framing, and the replay mark itself. Compared case-insensitively:
// the rate-limit headers are written under their documented spelling.
var notReplayed = []string{
	"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
	"X-Request-Id", "Date", "Content-Length", "Set-Cookie", IdempotentReplayedHeader,
}

// replayHeaders returns the headers of h worth replaying.
func replayHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
next:
	for k, v := range h {
		for _, skip := range notReplayed {
			if strings.EqualFold(k, skip) {
				continue next
			}
		}
		out[k] = v
	}
	return out
}

// replay writes a stored answer: its status, headers and body exactly,
// marked as replayed. The headers of this request (request ID, rate
// limits, Cache-Control) are already on w.
func replay(w http.ResponseWriter, resp *core.StoredResponse) {
	hdr := w.Header()
	for k, v := range resp.Header {
		hdr[k] = v
	}
	hdr.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	hdr.Set(IdempotentReplayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// answerRecorder holds a handler's answer until it is stored: headers of its
// own (so that what the handler set can be told from what the middleware
// before it set), status and body.
type answerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rc *answerRecorder) Header() http.Header { return rc.header }

func (rc *answerRecorder) WriteHeader(code int) {
	if rc.status == 0 {
		rc.status = code
	}
}

func (rc *answerRecorder) Write(p []byte) (int, error) {
	rc.WriteHeader(http.StatusOK)
	return rc.body.Write(p)
}

// statusCode is the answer's status; a handler that wrote nothing
// answered 200, as net/http would.
func (rc *answerRecorder) statusCode() int {
	if rc.status == 0 {
		return http.StatusOK
	}
	return rc.status
}

// sendTo writes the recorded answer to w.
func (rc *answerRecorder) sendTo(w http.ResponseWriter) {
	hdr := w.Header()
	for k, v := range rc.header {
		hdr[k] = v
	}
	w.WriteHeader(rc.statusCode())
	_, _ = w.Write(rc.body.Bytes())
}
