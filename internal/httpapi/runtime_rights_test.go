package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// addInjectable gives the runtime fixture's paid project one active
// injectable.
func (rt *runtime) addInjectable(t *testing.T) {
	t.Helper()
	_, err := rt.n.Service().CreateInjectable(context.Background(), rt.owner.Actor(), rt.paid, service.InjectableInput{
		Title: service.Some("Checkout"), Slug: service.Some("checkout-js"), Type: service.Some("script"), Mode: service.Some("inject"),
		TargetPath: service.Some("public/checkout.js"), Secret: service.Some("0123456789abcdef0123456789abcdef"),
		Content: service.Some("console.log('licensed')"), OnlyIfPaid: service.Some(true), IsActive: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeyHasPaidInjectablesNeedScope: the API-key payment check hands out
// injectables only to a key that may read them, as /injectables does.
func TestKeyHasPaidInjectablesNeedScope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		rt.addInjectable(t)
		n := rt.n
		_, payOnly := n.CreateKey(t, rt.owner, service.KeyInput{Scopes: []string{"payments:read"}})
		_, both := n.CreateKey(t, rt.owner, service.KeyInput{Scopes: []string{"payments:read", "injectables:read"}})
		p := fmt.Sprintf("/api/v1/project/%d/has-paid", rt.paid)
		unpaid := fmt.Sprintf("/api/v1/project/%d/has-paid", rt.unpaid)
		// The list itself refuses the payments-only key.
		wantStatus(t, n.Do(t, "GET", fmt.Sprintf("/api/v1/project/%d/injectables", rt.paid), nil, apptest.Key(payOnly)...), 403, "injectables:read")
		tests := []struct {
			name    string
			key     string
			path    string
			status  int
			want    string
			content bool
		}{
			{"payments only, with injectables", payOnly, p + "?action=check_project&include=injectables", 403, "injectables:read", false},
			{"payments only, unpaid project, with injectables", payOnly, unpaid + "?action=check_project&include=injectables", 403, "injectables:read", false},
			{"payments only, without injectables", payOnly, p + "?action=check_project", 200, `"has_paid":true`, false},
			{"both scopes", both, p + "?action=check_project&include=injectables", 200, `"slug":"checkout-js"`, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := n.Do(t, "GET", tc.path, nil, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want)
				if got := strings.Contains(string(r.Body), "encrypted_content"); got != tc.content {
					t.Fatalf("content delivered = %v, want %v: %s", got, tc.content, r.Body)
				}
			})
		}
	})
}
