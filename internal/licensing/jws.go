package licensing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The JWS types (the "typ" header) of Latchkey's signed artefacts, so that
// a verifier never accepts one kind where another is expected.
const (
	TypeProof       = "license-proof+jwt"
	TypeLicenseFile = "license-file+jwt"
)

// Signer is the instance's active signing key.
type Signer struct {
	KID string
	Key ed25519.PrivateKey
}

// NewSigner names priv by its KeyID.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{KID: KeyID(priv.Public().(ed25519.PublicKey)), Key: priv}
}

// Sign returns the raw Ed25519 signature of msg (signed responses).
func (s *Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.Key, msg) }

// jwsHeader is the protected header of every JWS Latchkey signs: EdDSA
// only (RFC 8037), so a verifier pins the algorithm and refuses the rest.
type jwsHeader struct {
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Typ string `json:"typ"`
}

// SignJWS returns the compact JWS (RFC 7515) of claims with header
// {"alg":"EdDSA","kid":…,"typ":typ}.
func (s *Signer) SignJWS(typ string, claims any) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: "EdDSA", KID: s.KID, Typ: typ})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return signing + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.Key, []byte(signing))), nil
}

// Restrictions are the license's rules a copy can enforce by itself while
// offline; absent ones are not restricted.
type Restrictions struct {
	AllowedIPs             []string `json:"allowed_ips,omitempty"`
	AllowedCountries       []string `json:"allowed_countries,omitempty"`
	MaxDomains             *int64   `json:"max_domains,omitempty"`
	MaxSubdomainsPerDomain *int64   `json:"max_subdomains_per_domain,omitempty"`
	MaxUsagePerDay         *int64   `json:"max_usage_per_day,omitempty"`
	MaxConcurrent          *int64   `json:"max_concurrent,omitempty"`
}

// Claims are what a proof or license file asserts: registered JWT claims
// (RFC 7519) where they fit, then Latchkey's. sub is the license ID and
// aud the project ID, both as decimal strings; exp is never after the
// license's own expiry. docs/offline.md lists the checks a copy makes.
type Claims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`

	// Identifier is the runtime identifier (domain, or "ip:…") that
	// validated; absent when none was sent.
	Identifier string `json:"identifier,omitempty"`
	// Result is the validation's result code: "VALID" for a proof.
	Result string `json:"result"`
	// LicenseExpiresAt is the license's own expiry (absent: never).
	LicenseExpiresAt *int64            `json:"license_exp,omitempty"`
	Test             bool              `json:"test,omitempty"`
	Restrictions     *Restrictions     `json:"restrictions,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	// License is the license file's summary of the license (files only).
	License any `json:"license,omitempty"`
}

// NewJTI returns a random token ID (128 bits, hex).
func NewJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Bound returns now+ttl, or the license's expiry when that comes first:
// no artefact outlives its license.
func Bound(now time.Time, ttl time.Duration, licenseExpiry *time.Time) time.Time {
	exp := now.Add(ttl)
	if licenseExpiry != nil && licenseExpiry.Before(exp) {
		return *licenseExpiry
	}
	return exp
}
