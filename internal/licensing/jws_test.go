package licensing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func testSigner(t testing.TB) *Signer {
	t.Helper()
	return NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
}

func TestSignJWS(t *testing.T) {
	s := testSigner(t)
	tok, err := s.SignJWS(TypeProof, Claims{Issuer: "latchkey", Subject: "42", Audience: "7", IssuedAt: 1, NotBefore: 1, ExpiresAt: 2, ID: NewJTI(), Result: "VALID"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(h) != `{"alg":"EdDSA","kid":"`+s.KID+`","typ":"license-proof+jwt"}` {
		t.Fatalf("header %s", h)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if !ed25519.Verify(s.Key.Public().(ed25519.PublicKey), []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("signature does not verify")
	}
	var c map[string]any
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(p, &c); err != nil || c["sub"] != "42" || c["aud"] != "7" || c["result"] != "VALID" {
		t.Fatalf("claims %s (%v)", p, err)
	}
	for _, absent := range []string{"identifier", "license_exp", "test", "restrictions", "metadata", "license"} {
		if _, ok := c[absent]; ok {
			t.Errorf("empty claim %s is present: %s", absent, p)
		}
	}
}

func TestBound(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	soon, later := now.Add(time.Minute), now.Add(48*time.Hour)
	for _, tc := range []struct {
		name   string
		expiry *time.Time
		want   time.Time
	}{
		{"no expiry", nil, now.Add(24 * time.Hour)},
		{"license ends first", &soon, soon},
		{"ttl ends first", &later, now.Add(24 * time.Hour)},
	} {
		if got := Bound(now, 24*time.Hour, tc.expiry); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func BenchmarkSignJWS(b *testing.B) {
	s := testSigner(b)
	max := int64(100)
	c := Claims{Issuer: "https://licenses.example.com", Subject: "123456", Audience: "42", IssuedAt: 1, NotBefore: 1, ExpiresAt: 2,
		ID: NewJTI(), Identifier: "shop.example.com", Result: "VALID", Restrictions: &Restrictions{MaxUsagePerDay: &max},
		Metadata: map[string]string{"tier": "gold"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignJWS(TypeProof, c); err != nil {
			b.Fatal(err)
		}
	}
}
