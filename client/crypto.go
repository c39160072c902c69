package client

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of DecryptInjectable and the Decrypt methods. They are wrapped
// with detail; test with errors.Is.
var (
	// ErrInjectableSignature means the payload's HMAC does not match the
	// secret: a wrong secret, or a payload changed on the way.
	ErrInjectableSignature = errors.New("latchkey: injectable signature does not match")
	// ErrInjectableMalformed means the payload is not in the DevPayr layout.
	ErrInjectableMalformed = errors.New("latchkey: malformed injectable payload")
	// ErrInjectableDecrypt means the payload did not decrypt to validly
	// padded plaintext, or the plaintext does not match its content hash.
	ErrInjectableDecrypt = errors.New("latchkey: cannot decrypt injectable payload")
)

// VerifyInjectableSignature reports whether sig is the signature of
// payload under secret: lowercase hex HMAC-SHA256(secret, payload), the
// check DevPayr's SDKs make before decrypting.
func VerifyInjectableSignature(secret, payload, sig string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(sig))
}

// DecryptInjectable decrypts an injectable's payload (its content, or a
// delivery's encrypted_content) with the secret it was created with, in
// DevPayr's format: key = SHA-256(secret), payload = base64(IV || "::" ||
// base64(AES-256-CBC ciphertext with PKCS#7 padding)).
//
// The format carries no integrity check of its own, and about one wrong
// secret in 256 still unpads cleanly: check the signature first
// (VerifyInjectableSignature), as the Decrypt methods do.
func DecryptInjectable(secret, payload string) ([]byte, error) {
	std := base64.StdEncoding
	decoded, err := std.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrInjectableMalformed)
	}
	iv, ctB64, ok := bytes.Cut(decoded, []byte("::"))
	if !ok || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: no 16-byte IV before \"::\"", ErrInjectableMalformed)
	}
	ct, err := std.DecodeString(string(ctB64))
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: the ciphertext is not whole AES blocks", ErrInjectableMalformed)
	}
	key := sha256.Sum256([]byte(secret))
	block, _ := aes.NewCipher(key[:]) // a 32-byte key never fails
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(ct, ct)
	n := int(ct[len(ct)-1])
	if n < 1 || n > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad padding (wrong secret?)", ErrInjectableDecrypt)
	}
	for _, b := range ct[len(ct)-n:] {
		if int(b) != n {
			return nil, fmt.Errorf("%w: bad padding (wrong secret?)", ErrInjectableDecrypt)
		}
	}
	return ct[:len(ct)-n], nil
}

// openInjectable checks the signature, decrypts, and checks the content
// hash when there is one.
func openInjectable(secret, payload, sig, contentHash string) ([]byte, error) {
	if !VerifyInjectableSignature(secret, payload, sig) {
		return nil, ErrInjectableSignature
	}
	plain, err := DecryptInjectable(secret, payload)
	if err != nil {
		return nil, err
	}
	if contentHash != "" {
		sum := sha256.Sum256(plain)
		if !strings.EqualFold(hex.EncodeToString(sum[:]), contentHash) {
			return nil, fmt.Errorf("%w: the plaintext does not match content_hash", ErrInjectableDecrypt)
		}
	}
	return plain, nil
}

// Errors of VerifyProof.
var (
	ErrProofMalformed = errors.New("latchkey: malformed license proof")
	ErrProofSignature = errors.New("latchkey: license proof signature does not verify")
	ErrProofExpired   = errors.New("latchkey: license proof expired")
)

// Proof is what a verified offline proof asserts: license LicenseID of
// project ProjectID validated for Domain at IssuedAt, and may be trusted
// offline until ExpiresAt.
type Proof struct {
	KeyID     string
	LicenseID int64
	ProjectID int64
	// Domain is the runtime identifier it validated for ("" when none was
	// sent).
	Domain    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// LicenseExpiresAt is the license's own expiry (nil: never).
	LicenseExpiresAt *time.Time
	// Test reports whether it is a test license.
	Test bool

	// Claims only JWS proofs carry (zero for the deprecated lkp1 format).
	Issuer       string
	ID           string // jti
	Result       string // the validation's result code: VALID
	NotBefore    time.Time
	Restrictions *Restrictions
	Metadata     map[string]string
}

// proofClaims is the token's payload.
type proofClaims struct {
	Type   string `json:"typ"`
	KeyID  string `json:"kid"`
	LID    int64  `json:"lid"`
	PID    int64  `json:"pid"`
	Domain string `json:"dom"`
	IAT    int64  `json:"iat"`
	EXP    int64  `json:"exp"`
	LEXP   *int64 `json:"lexp"`
	Test   bool   `json:"test"`
}

// VerifyProof checks an offline proof with one of the server's Ed25519
// public keys, at time now, without the network: a compact JWS (no clock
// skew allowed; use a Verifier for a key set, skew and claim checks) or
// the deprecated "lkp1.<payload>.<signature>" format, accepted until the
// release after next. It returns ErrProofMalformed, ErrProofSignature,
// ErrUnknownKey (a JWS signed by another key), ErrAlgorithm, or
// ErrProofExpired (with the decoded proof). The caller must still check
// that ProjectID and Domain are its own.
func VerifyProof(pub ed25519.PublicKey, token string, now time.Time) (*Proof, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: the public key is %d bytes, want %d", ErrProofMalformed, len(pub), ed25519.PublicKeySize)
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) == 3 && parts[0] != "lkp1" {
		v := &Verifier{Keys: &pinnedKeys{pub: pub}, Skew: -1, Now: func() time.Time { return now }}
		return v.Proof(context.Background(), token)
	}
	if len(parts) != 3 {
		return nil, ErrProofMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, ErrProofMalformed
	}
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, ErrProofSignature
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, ErrProofMalformed
	}
	var c proofClaims
	if err := json.Unmarshal(raw, &c); err != nil || c.Type != "license_proof" {
		return nil, ErrProofMalformed
	}
	p := &Proof{KeyID: c.KeyID, LicenseID: c.LID, ProjectID: c.PID, Domain: c.Domain,
		IssuedAt: time.Unix(c.IAT, 0).UTC(), ExpiresAt: time.Unix(c.EXP, 0).UTC(), Test: c.Test}
	if c.LEXP != nil {
		t := time.Unix(*c.LEXP, 0).UTC()
		p.LicenseExpiresAt = &t
	}
	if now.Unix() >= c.EXP {
		return p, ErrProofExpired
	}
	return p, nil
}

// KeyID names an Ed25519 public key as the server does: the first 8 bytes
// of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	d := sha256.Sum256(pub)
	return hex.EncodeToString(d[:8])
}
