package httpapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
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

// TestStreamRefusedAtCap: a capped license that has used up its day gets
// no injectables from the stream either (it checks without counting).
func TestStreamRefusedAtCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		rt.addInjectable(t)
		n := rt.n
		stream := func(t *testing.T) *apptest.Response {
			t.Helper()
			return n.Do(t, "GET", "/api/v1/injectable/stream", nil, "X-LICENSE-KEY", rt.keys["capped"], "X-Devpayr-Domain", "shop.example.com")
		}
		// Below the cap the stream delivers, and does not count.
		wantStatus(t, stream(t), 200, `"slug":"checkout-js"`)
		for range 2 {
			wantStatus(t, rt.devpayr(t, check{license: "capped", domain: "shop.example.com"}), 200, `"has_paid":true`)
		}
		wantStatus(t, rt.devpayr(t, check{license: "capped", domain: "shop.example.com"}), 429, "USAGE_EXCEEDED")
		for _, method := range []string{"GET", "POST"} {
			t.Run(method, func(t *testing.T) {
				var r *apptest.Response
				if method == "GET" {
					r = stream(t)
				} else {
					r = n.Do(t, "POST", "/api/v1/injectable/stream", map[string]any{"license": rt.keys["capped"]}, "X-Devpayr-Domain", "shop.example.com")
				}
				wantStatus(t, r, 429, "USAGE_EXCEEDED")
				if strings.Contains(string(r.Body), "encrypted_content") {
					t.Fatalf("content delivered at the cap: %s", r.Body)
				}
			})
		}
		// The next day it delivers again.
		n.Clock.Advance(24 * time.Hour)
		wantStatus(t, stream(t), 200, `"slug":"checkout-js"`)
	})
}

// TestInactiveDomainsDoNotValidate: a domain switched off no longer
// authorizes the licenses pinned to it, nor, for licenses that validate
// against the project's domains, the copies running on it; created off,
// or switched off after a validation was cached.
func TestInactiveDomainsDoNotValidate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		ctx := context.Background()
		a := rt.owner.Actor()
		off, err := n.Service().CreateDomain(ctx, a, rt.paid, service.DomainInput{Domain: service.Some("off.example.com"), Environment: service.Some("production"),
			HasPaid: service.Some(true), IsVerified: service.Some(true), IsActive: service.Some(false)})
		if err != nil {
			t.Fatal(err)
		}
		if off.IsActive {
			t.Fatal("the domain was created active")
		}
		pinnedOff, err := n.Service().CreateLicense(ctx, a, rt.paid, service.LicenseInput{Title: service.Some("pinned off"), DomainID: service.Some(off.ID)})
		if err != nil {
			t.Fatal(err)
		}
		rt.keys["pinned-off"] = pinnedOff.UUID

		tests := []struct {
			name    string
			license string
			domain  string
		}{
			{"pinned to a domain created inactive", "pinned-off", "off.example.com"},
			{"project domains, inactive verified domain", "project-domains", "off.example.com"},
			{"activations, inactive registered domain", "basic", "off.example.com"},
			{"activations and limits, inactive registered domain", "one-domain", "off.example.com"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantStatus(t, rt.devpayr(t, check{license: tc.license, domain: tc.domain}), 403, "DOMAIN_NOT_ALLOWED")
				if _, v := rt.native(t, check{license: tc.license, domain: tc.domain}, nil); v.Valid || v.Code != "DOMAIN_NOT_ALLOWED" {
					t.Fatalf("native: valid %v, code %s", v.Valid, v.Code)
				}
			})
		}

		// The vendor's own payment check does not answer for it either.
		r := n.Do(t, "GET", fmt.Sprintf("/api/v1/project/%d/has-paid", rt.paid), nil, append(apptest.Key(rt.key), "X-Devpayr-Domain", "off.example.com")...)
		wantStatus(t, r, 403, "DOMAIN_NOT_ALLOWED", "not active")

		// Switched off after it validated (and the answer was cached).
		for _, lic := range []string{"pinned", "project-domains", "basic"} {
			wantStatus(t, rt.devpayr(t, check{license: lic, domain: "shop.example.com"}), 200, `"has_paid":true`)
		}
		if _, err := n.Service().UpdateDomain(ctx, a, rt.paid, rt.domains["shop.example.com"], service.DomainInput{IsActive: service.Some(false)}); err != nil {
			t.Fatal(err)
		}
		for _, lic := range []string{"pinned", "project-domains", "basic"} {
			t.Run("switched off/"+lic, func(t *testing.T) {
				wantStatus(t, rt.devpayr(t, check{license: lic, domain: "shop.example.com"}), 403, "DOMAIN_NOT_ALLOWED")
			})
		}
	})
}

// TestProofNeverOutlivesLicense: an offline proof is trusted at most until
// its license expires, whatever proof_ttl asks for.
func TestProofNeverOutlivesLicense(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		ctx := context.Background()
		r := n.Do(t, "GET", "/api/v1/keys/license-signing", nil)
		var key struct {
			PublicKey string `json:"public_key"`
		}
		r.Decode(t, &key)
		pub, err := base64.StdEncoding.DecodeString(key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		// Expiry with a fraction of a second, as an API write may set it.
		exp := n.Clock.Now().Add(90*time.Minute + 500*time.Millisecond)
		lic, err := n.Service().CreateLicense(ctx, rt.owner.Actor(), rt.paid, service.LicenseInput{Title: service.Some("expiring"), ExpiresAt: service.Some(&exp)})
		if err != nil {
			t.Fatal(err)
		}
		rt.keys["expiring"] = lic.UUID
		for _, ttl := range []int{3600, 7200, 86400, 2592000} {
			t.Run(fmt.Sprint(ttl), func(t *testing.T) {
				_, v := rt.native(t, check{license: "expiring", domain: "shop.example.com"}, map[string]any{"proof": true, "proof_ttl": ttl})
				if !v.Valid || v.Proof == nil {
					t.Fatalf("no proof: %+v", v)
				}
				p, err := client.VerifyProof(pub, v.Proof.Token, n.Clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				want := n.Clock.Now().Add(time.Duration(ttl) * time.Second)
				if want.After(exp) {
					want = exp
				}
				if p.ExpiresAt.After(exp) || p.ExpiresAt.Unix() != want.Unix() {
					t.Fatalf("proof expires %v, license %v, want %v", p.ExpiresAt, exp, want)
				}
				if p.LicenseExpiresAt == nil || p.LicenseExpiresAt.After(exp) {
					t.Fatalf("license expiry in the proof = %v", p.LicenseExpiresAt)
				}
				// At the license's expiry the proof is no longer trusted.
				if _, err := client.VerifyProof(pub, v.Proof.Token, exp); !errors.Is(err, client.ErrProofExpired) {
					t.Fatalf("at the license's expiry: %v", err)
				}
			})
		}
	})
}
