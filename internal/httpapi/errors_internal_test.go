package httpapi

import (
	"errors"
	"net/http/httptest"
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
