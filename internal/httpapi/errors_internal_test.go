package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
)

// TestRuntimeStatusesMatchCatalogue: each refusal of runtime validation
// is answered with the status the catalogue gives its code.
func TestRuntimeStatusesMatchCatalogue(t *testing.T) {
	h := &api{now: func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) }}
	for code := range licensing.Messages {
		err := h.runtimeError(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), &service.ValidateResult{Code: code})
		if code == licensing.CodeValid || code == licensing.CodeUnpaid {
			if err != nil {
				t.Errorf("%s: %v, want an answer", code, err)
			}
			continue
		}
		var ce *core.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: %v", code, err)
		}
		info, ok := core.LookupCode(ce.Reason)
		if !ok || ce.Reason != code {
			t.Fatalf("%s: reason %q is not catalogued", code, ce.Reason)
		}
		if got := core.HTTPStatus(ce.Code); got != info.Status {
			t.Errorf("%s: answered %d, catalogue says %d", code, got, info.Status)
		}
	}
}

// TestClientGoneIsNotAServerError: an error that is only the cancellation
// of a request whose client disconnected (a statement cut short, wrapped
// by the store) is answered 499 and not logged as an internal error; the
// same error while the client is still there is a 500, logged.
func TestClientGoneIsNotAServerError(t *testing.T) {
	cut := fmt.Errorf("sqlite: record validation: %w", context.Canceled)
	for _, tc := range []struct {
		name     string
		gone     bool
		err      error
		status   int
		loggedAs string
	}{
		{"client gone", true, cut, core.StatusClientClosed, ""},
		{"client gone, other failure", true, errors.New("disk I/O error"), http.StatusInternalServerError, "internal error"},
		{"canceled on the server's side", false, cut, http.StatusInternalServerError, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := adapter{log: slog.New(slog.NewTextHandler(&logs, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.gone {
				cancel()
			}
			w := httptest.NewRecorder()
			a.writeError(w, httptest.NewRequest("POST", "/api/v1/project/has-paid", nil).WithContext(ctx), tc.err)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if got := strings.Contains(logs.String(), "internal error"); got != (tc.loggedAs != "") {
				t.Errorf("logged %q", logs.String())
			}
		})
	}
}
