package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Verification of the server's signed artefacts (docs/offline.md): offline
// proofs and license files are compact JWS (RFC 7515) signed with EdDSA
// (Ed25519, RFC 8037) by one of the instance's signing keys, named by kid
// and published as a JWK Set at /.well-known/jwks.json.

// More errors of verification, beside ErrProofMalformed, ErrProofSignature
// and ErrProofExpired.
var (
	// ErrUnknownKey means the token names a kid the key set does not hold
	// (a key retired, or a token from another instance).
	ErrUnknownKey = errors.New("latchkey: unknown signing key")
	// ErrAlgorithm means the token's alg is not EdDSA: "none", HMAC and
	// every other algorithm are refused, whatever the key set holds.
	ErrAlgorithm = errors.New("latchkey: signing algorithm not accepted (only EdDSA)")
	// ErrNotYetValid means the token's nbf or iat is in the future, beyond
	// the clock-skew allowance.
	ErrNotYetValid = errors.New("latchkey: token not valid yet")
	// ErrClaims means a claim is not what the verifier expects (type,
	// issuer, project or identifier).
	ErrClaims = errors.New("latchkey: token claims do not match")
)

// Token types (the JWS typ header).
const (
	TypeProof       = "license-proof+jwt"
	TypeLicenseFile = "license-file+jwt"
)

// Keys finds a signing key's public key by its kid. KeySet (pinned keys)
// and RemoteKeySet (a JWK Set fetched and cached) implement it.
type Keys interface {
	Key(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// KeySet is a fixed set of public keys: the JWK Set shipped inside an
// application, or keys pinned by hand.
type KeySet struct {
	keys map[string]ed25519.PublicKey
}

// NewKeySet pins keys, each named by KeyID.
func NewKeySet(keys ...ed25519.PublicKey) *KeySet {
	ks := &KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize {
			ks.keys[KeyID(k)] = k
		}
	}
	return ks
}

// ParseKeySet reads a JWK Set (RFC 7517), as GET /.well-known/jwks.json
// returns it. Keys other than Ed25519 signing keys are skipped; a set
// with none is an error, as is an Ed25519 key whose kid is not its KeyID.
func ParseKeySet(data []byte) (*KeySet, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			KID string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("latchkey: not a JWK Set: %w", err)
	}
	ks := &KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Alg != "" && k.Alg != "EdDSA") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("latchkey: JWK %q: x is not a 32-byte Ed25519 key", k.KID)
		}
		pub := ed25519.PublicKey(raw)
		if k.KID != KeyID(pub) {
			return nil, fmt.Errorf("latchkey: JWK %q: kid does not name its key (want %s)", k.KID, KeyID(pub))
		}
		ks.keys[k.KID] = pub
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("latchkey: the JWK Set holds no Ed25519 signing key")
	}
	return ks, nil
}

// Key returns the key named kid, or ErrUnknownKey.
func (ks *KeySet) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := ks.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
}

// KIDs lists the set's key IDs (in no order).
func (ks *KeySet) KIDs() []string {
	out := make([]string, 0, len(ks.keys))
	for k := range ks.keys {
		out = append(out, k)
	}
	return out
}

// jwsHeader is the part of a JWS protected header a verifier reads.
type jwsHeader struct {
	Alg  string   `json:"alg"`
	KID  string   `json:"kid"`
	Typ  string   `json:"typ"`
	Crit []string `json:"crit"`
}

// verifyJWS checks a compact JWS's header (alg EdDSA, the wanted typ, a
// known kid) and signature, and returns its header and payload.
func verifyJWS(ctx context.Context, keys Keys, token, typ string) (*jwsHeader, []byte, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("%w: a compact JWS has three parts", ErrProofMalformed)
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: header is not base64url", ErrProofMalformed)
	}
	var h jwsHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return nil, nil, fmt.Errorf("%w: header is not JSON", ErrProofMalformed)
	}
	if h.Alg != "EdDSA" {
		return nil, nil, fmt.Errorf("%w: alg %q", ErrAlgorithm, h.Alg)
	}
	if len(h.Crit) > 0 {
		return nil, nil, fmt.Errorf("%w: unsupported critical header %q", ErrProofMalformed, h.Crit[0])
	}
	if h.Typ != typ {
		return nil, nil, fmt.Errorf("%w: typ %q, want %q", ErrClaims, h.Typ, typ)
	}
	pub, err := keys.Key(ctx, h.KID)
	if err != nil {
		return nil, nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: signature is not 64 bytes of base64url", ErrProofMalformed)
	}
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, nil, ErrProofSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not base64url", ErrProofMalformed)
	}
	return &h, payload, nil
}

// Restrictions are the license's rules a copy can enforce by itself while
// offline; nil and empty ones do not restrict.
type Restrictions struct {
	AllowedIPs             []string `json:"allowed_ips,omitempty"`
	AllowedCountries       []string `json:"allowed_countries,omitempty"`
	MaxDomains             *int64   `json:"max_domains,omitempty"`
	MaxSubdomainsPerDomain *int64   `json:"max_subdomains_per_domain,omitempty"`
	MaxUsagePerDay         *int64   `json:"max_usage_per_day,omitempty"`
	MaxConcurrent          *int64   `json:"max_concurrent,omitempty"`
}

// claims are the JSON claims of a proof or license file.
type claims struct {
	Issuer           string            `json:"iss"`
	Subject          string            `json:"sub"`
	Audience         string            `json:"aud"`
	IssuedAt         *int64            `json:"iat"`
	NotBefore        *int64            `json:"nbf"`
	ExpiresAt        *int64            `json:"exp"`
	ID               string            `json:"jti"`
	Identifier       string            `json:"identifier"`
	Result           string            `json:"result"`
	LicenseExpiresAt *int64            `json:"license_exp"`
	Test             bool              `json:"test"`
	Restrictions     *Restrictions     `json:"restrictions"`
	Metadata         map[string]string `json:"metadata"`
	License          json.RawMessage   `json:"license"`
}

// DefaultSkew is the clock-skew allowance of a Verifier whose Skew is 0.
const DefaultSkew = time.Minute

// Verifier checks the server's signed artefacts against a key set.
type Verifier struct {
	// Keys holds the public keys: a KeySet shipped with the application
	// (works offline) or a RemoteKeySet.
	Keys Keys
	// Skew is the clock-skew allowance on exp, nbf and iat; 0 means
	// DefaultSkew, a negative value none.
	Skew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Issuer, when set, must equal the iss claim.
	Issuer string
	// ProjectID, when set, must equal the aud claim.
	ProjectID int64
	// Identifier, when set, must equal the identifier claim (the domain
	// the copy runs on).
	Identifier string
}

func (v *Verifier) skew() time.Duration {
	switch {
	case v.Skew == 0:
		return DefaultSkew
	case v.Skew < 0:
		return 0
	}
	return v.Skew
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// verify checks token's signature and its registered claims, and returns
// them with the proof built from them (returned also with ErrProofExpired).
func (v *Verifier) verify(ctx context.Context, token, typ string) (*claims, *Proof, error) {
	if v.Keys == nil {
		return nil, nil, errors.New("latchkey: the verifier has no keys")
	}
	h, payload, err := verifyJWS(ctx, v.Keys, token, typ)
	if err != nil {
		return nil, nil, err
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: claims are not a JSON object", ErrProofMalformed)
	}
	if c.ExpiresAt == nil || c.IssuedAt == nil {
		return nil, nil, fmt.Errorf("%w: exp and iat are required", ErrProofMalformed)
	}
	lid, err1 := strconv.ParseInt(c.Subject, 10, 64)
	pid, err2 := strconv.ParseInt(c.Audience, 10, 64)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("%w: sub and aud must be the license and project IDs", ErrProofMalformed)
	}
	p := &Proof{KeyID: h.KID, LicenseID: lid, ProjectID: pid, Domain: c.Identifier,
		IssuedAt: time.Unix(*c.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(*c.ExpiresAt, 0).UTC(), Test: c.Test,
		Issuer: c.Issuer, ID: c.ID, Result: c.Result, Restrictions: c.Restrictions, Metadata: c.Metadata}
	if c.NotBefore != nil {
		p.NotBefore = time.Unix(*c.NotBefore, 0).UTC()
	}
	if c.LicenseExpiresAt != nil {
		t := time.Unix(*c.LicenseExpiresAt, 0).UTC()
		p.LicenseExpiresAt = &t
	}
	switch {
	case v.Issuer != "" && c.Issuer != v.Issuer:
		return nil, nil, fmt.Errorf("%w: iss %q, want %q", ErrClaims, c.Issuer, v.Issuer)
	case v.ProjectID != 0 && pid != v.ProjectID:
		return nil, nil, fmt.Errorf("%w: aud %q, want project %d", ErrClaims, c.Audience, v.ProjectID)
	case v.Identifier != "" && !strings.EqualFold(c.Identifier, v.Identifier):
		return nil, nil, fmt.Errorf("%w: identifier %q, want %q", ErrClaims, c.Identifier, v.Identifier)
	}
	now, skew := v.now(), v.skew()
	// exp is exclusive (RFC 7519 4.1.4): valid while now < exp + skew.
	if !now.Before(p.ExpiresAt.Add(skew)) {
		return &c, p, ErrProofExpired
	}
	if now.Add(skew).Before(p.IssuedAt) || (c.NotBefore != nil && now.Add(skew).Before(p.NotBefore)) {
		return &c, p, ErrNotYetValid
	}
	return &c, p, nil
}

// Proof verifies an offline proof (a compact JWS of type
// license-proof+jwt, or the deprecated lkp1 format when Keys is a
// KeySet). It returns ErrProofMalformed, ErrProofSignature, ErrUnknownKey,
// ErrAlgorithm, ErrClaims, ErrNotYetValid, or ErrProofExpired (with the
// decoded proof).
func (v *Verifier) Proof(ctx context.Context, token string) (*Proof, error) {
	token = strings.TrimSpace(token)
	if strings.HasPrefix(token, "lkp1.") {
		return v.legacyProof(ctx, token)
	}
	_, p, err := v.verify(ctx, token, TypeProof)
	if err != nil && p == nil {
		return nil, err
	}
	return p, err
}

// legacyProof verifies an lkp1 token with the key its payload names.
// Deprecated with the format: it goes in the release after next.
func (v *Verifier) legacyProof(ctx context.Context, token string) (*Proof, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrProofMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, ErrProofMalformed
	}
	var c proofClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, ErrProofMalformed
	}
	pub, err := v.Keys.Key(ctx, c.KeyID)
	if err != nil {
		return nil, err
	}
	return VerifyProof(pub, token, v.now())
}

// pinnedKeys is a key set of one key, whatever kid a token names: the
// lkp1 format's verifier took the key alone.
type pinnedKeys struct{ pub ed25519.PublicKey }

func (k *pinnedKeys) Key(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if kid != KeyID(k.pub) {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	return k.pub, nil
}
