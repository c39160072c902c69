package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAPIKeySetEnabled: SetEnabled sends PATCH api-keys/{id} with only
// "enabled", both ways (false is sent, not omitted), and reads the
// answer's enabled and disabled_at.
func TestAPIKeySetEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		var method, path, body string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			method, path, body = r.Method, r.URL.Path, string(b)
			disabledAt := `"2026-12-07T10:00:00Z"`
			if enabled {
				disabledAt = "null"
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"success","message":"API key updated.","data":{"id":7,"enabled":`+
				map[bool]string{true: "true", false: "false"}[enabled]+`,"disabled_at":`+disabledAt+`}}`)
		}))
		c, err := New(srv.URL, "sk_test_key")
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.APIKeys.SetEnabled(context.Background(), 7, enabled)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		var sent map[string]any
		if err := json.Unmarshal([]byte(body), &sent); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if method != http.MethodPatch || path != "/api/v1/api-keys/7" || len(sent) != 1 || sent["enabled"] != enabled {
			t.Errorf("enabled=%v: sent %s %s %s", enabled, method, path, body)
		}
		if k.Enabled != enabled || (k.DisabledAt == nil) != enabled {
			t.Errorf("enabled=%v: read enabled %v, disabled_at %v", enabled, k.Enabled, k.DisabledAt)
		}
	}
}
