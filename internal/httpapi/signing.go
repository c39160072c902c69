package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// Signing keys and offline proofs (issue 16; docs/offline.md).

// jwksMaxAge is how long a verifier may cache the key set: short, so a
// rotation is picked up soon even by one that does not refetch on an
// unknown kid.
const jwksMaxAge = "public, max-age=300"

// jwk is one public key as RFC 8037 spells it for JWS.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func toJWK(k service.PublicSigningKey) jwk {
	return jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Key), KID: k.KID, Alg: "EdDSA", Use: "sig"}
}

func jwkSet(keys []service.PublicSigningKey) []jwk {
	out := make([]jwk, len(keys))
	for i, k := range keys {
		out[i] = toJWK(k)
	}
	return out
}

// jwks is GET /.well-known/jwks.json: every key that verifies, the active
// one first, as a bare JWK Set (RFC 7517), the shape JOSE libraries fetch.
func (h *api) jwks(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.svc.PublicSigningKeys(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", jwksMaxAge)
	writeJSON(w, http.StatusOK, map[string]any{"keys": jwkSet(keys)})
	return nil
}

// signingKey is GET /api/v1/keys/license-signing: the active key in the
// fields this route always had, plus keys[] (the JWK Set).
func (h *api) signingKey(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.svc.PublicSigningKeys(r.Context())
	if err != nil {
		return err
	}
	active := keys[0]
	pub := active.Key
	// SubjectPublicKeyInfo for Ed25519: a fixed 12-byte header, then the key.
	spki := append([]byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}, pub...)
	pem := "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(spki) + "\n-----END PUBLIC KEY-----\n"
	w.Header().Set("Cache-Control", jwksMaxAge)
	return ok(w, http.StatusOK, "", map[string]any{
		"alg": "Ed25519", "kid": active.KID, "public_key": base64.StdEncoding.EncodeToString(pub), "pem": pem,
		"jwk":  map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub), "kid": active.KID},
		"keys": jwkSet(keys),
	})
}

// proof signs an offline proof of a successful validation: a compact JWS
// valid for ttl but never past the license's own expiry.
func (h *api) proof(ctx context.Context, res *service.ValidateResult, ttl time.Duration) (*proofJSON, error) {
	signer, err := h.svc.Signer(ctx)
	if err != nil {
		return nil, err
	}
	now := h.now()
	l := res.License
	c := h.claims(now, l, res.Identifier, res.Code)
	c.ExpiresAt = licensing.Bound(now, ttl, l.ExpiresAt).Unix()
	token, err := signer.SignJWS(licensing.TypeProof, c)
	if err != nil {
		return nil, err
	}
	return &proofJSON{Token: token, ExpiresAt: view.TimeV(time.Unix(c.ExpiresAt, 0)), KeyID: signer.KID}, nil
}

// claims are the claims every signed artefact about license l carries;
// the caller sets exp.
func (h *api) claims(now time.Time, l *core.License, identifier, code string) licensing.Claims {
	c := licensing.Claims{
		Issuer: h.issuer, Subject: strconv.FormatInt(l.ID, 10), Audience: strconv.FormatInt(l.ProjectID, 10),
		IssuedAt: now.Unix(), NotBefore: now.Unix(), ID: licensing.NewJTI(),
		Identifier: identifier, Result: code, Test: l.IsTestLicense, Metadata: l.Metadata,
	}
	if c.Issuer == "" {
		c.Issuer = "latchkey"
	}
	if l.ExpiresAt != nil {
		e := l.ExpiresAt.Unix()
		c.LicenseExpiresAt = &e
	}
	rs := licensing.Restrictions{AllowedIPs: splitList(l.AllowedIPs), AllowedCountries: splitList(l.AllowedCountries),
		MaxDomains: l.MaxDomains, MaxSubdomainsPerDomain: l.MaxSubdomainsPerDomain, MaxUsagePerDay: l.MaxUsagePerDay, MaxConcurrent: l.MaxConcurrent}
	if rs.AllowedIPs != nil || rs.AllowedCountries != nil || rs.MaxDomains != nil || rs.MaxSubdomainsPerDomain != nil ||
		rs.MaxUsagePerDay != nil || rs.MaxConcurrent != nil {
		c.Restrictions = &rs
	}
	return c
}

// splitList turns a stored comma-separated list into its entries.
func splitList(s *string) []string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	var out []string
	for _, e := range strings.Split(*s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
