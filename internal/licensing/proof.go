package licensing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// ProofPrefix starts every offline proof token and names its version.
const ProofPrefix = "lkp1"

// Proof is what a signed offline proof asserts: that license LicenseID of
// project ProjectID validated for Domain, and may be trusted offline until
// ExpiresAt. The format is documented in docs/offline.md.
type Proof struct {
	Type             string `json:"typ"` // always "license_proof"
	KeyID            string `json:"kid"`
	LicenseID        int64  `json:"lid"`
	ProjectID        int64  `json:"pid"`
	Domain           string `json:"dom,omitempty"`
	IssuedAt         int64  `json:"iat"`
	ExpiresAt        int64  `json:"exp"`
	LicenseExpiresAt *int64 `json:"lexp,omitempty"`
	Test             bool   `json:"test,omitempty"`
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	d := sha256.Sum256(pub)
	return hex.EncodeToString(d[:8])
}

// SignProof returns the token for p: "lkp1.<payload>.<signature>", both
// parts unpadded base64url; the signature covers "lkp1.<payload>". The
// server never verifies proofs; the verifier is the client's
// (client.VerifyProof), which the tests use.
func SignProof(priv ed25519.PrivateKey, p Proof) string {
	p.Type = "license_proof"
	p.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	b, _ := json.Marshal(p)
	signed := ProofPrefix + "." + base64.RawURLEncoding.EncodeToString(b)
	return signed + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(signed)))
}
