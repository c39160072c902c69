package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestNoStore checks that every API answer that may carry a license key
// or a secret, including errors and answers from the read cache, tells
// caches and browsers not to store it, and that only the public documents
// (the OpenAPI document, the signing public key) may be cached.
func TestNoStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		lid := licenseID(t, rt, "basic")
		p, l := fmt.Sprint(rt.paid), fmt.Sprint(lid)
		tests := []struct {
			name, method, path string
			body               any
			headers            []string
			want               string
		}{
			{"show license (miss)", "GET", "/api/v1/project/" + p + "/licenses/" + l, nil, apptest.Key(rt.key), "no-store"},
			{"show license (cache hit)", "GET", "/api/v1/project/" + p + "/licenses/" + l, nil, apptest.Key(rt.key), "no-store"},
			{"list licenses", "GET", "/api/v1/project/" + p + "/licenses", nil, apptest.Key(rt.key), "no-store"},
			{"list licenses (cache hit)", "GET", "/api/v1/project/" + p + "/licenses", nil, apptest.Key(rt.key), "no-store"},
			{"create license", "POST", "/api/v1/project/" + p + "/licenses", map[string]any{"title": "x"}, apptest.Key(rt.key), "no-store"},
			{"revoke license", "POST", "/api/v1/project/" + p + "/licenses/" + l + "/revoke", nil, apptest.Key(rt.key), "no-store"},
			{"create API key", "POST", "/api/v1/api-keys", map[string]any{"name": "k"}, apptest.Key(rt.key), "no-store"},
			{"list API keys", "GET", "/api/v1/api-keys", nil, apptest.Key(rt.key), "no-store"},
			{"project", "GET", "/api/v1/project/" + p, nil, apptest.Key(rt.key), "no-store"},
			{"audit", "GET", "/api/v1/audit", nil, apptest.Key(rt.key), "no-store"},
			{"management error", "GET", "/api/v1/project/999999/licenses", nil, apptest.Key(rt.key), "no-store"},
			{"unauthenticated", "GET", "/api/v1/projects", nil, nil, "no-store"},
			{"has-paid", "POST", "/api/v1/project/has-paid", "{}", []string{"X-LICENSE-KEY", rt.keys["pinned"], "X-Devpayr-Domain", "shop.example.com"}, "no-store"},
			{"has-paid refused", "POST", "/api/v1/project/has-paid", "{}", []string{"X-LICENSE-KEY", rt.keys["unknown"]}, "no-store"},
			{"native validate", "POST", "/api/v1/licenses/validate", map[string]any{"license": rt.keys["test"]}, nil, "no-store"},
			{"stream", "GET", "/api/v1/injectable/stream", nil, []string{"X-LICENSE-KEY", rt.keys["test"]}, "no-store"},
			{"unknown route", "GET", "/api/v1/nothing", nil, nil, "no-store"},
			{"openapi", "GET", "/api/v1/openapi.json", nil, nil, "public, max-age=3600"},
			{"signing key", "GET", "/api/v1/keys/license-signing", nil, nil, "public, max-age=300"},
		}
		for _, tt := range tests {
			r := rt.n.Do(t, tt.method, tt.path, tt.body, tt.headers...)
			if got := r.Header.Get("Cache-Control"); got != tt.want {
				t.Errorf("%s: %s %s: status %d, Cache-Control %q, want %q", tt.name, tt.method, tt.path, r.Status, got, tt.want)
			}
		}
	})
}
