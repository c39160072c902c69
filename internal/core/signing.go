package core

import (
	"context"
	"time"
)

// Signing-key states (issue 16). One key is active and signs; keys rotated
// out keep verifying, published in the JWK Set, until they are retired.
const (
	SigningKeyActive    = "active"
	SigningKeyVerifying = "verifying"
	SigningKeyRetired   = "retired"
)

// SigningKey is one of the instance's Ed25519 signing keys. KID is the
// first 8 bytes of SHA-256(public key) in hex; PrivateEnc is the 32-byte
// seed sealed under the instance secret, empty once retired.
type SigningKey struct {
	ID         int64
	KID        string
	PublicKey  []byte
	PrivateEnc []byte
	Status     string
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// SigningKeyStore holds the instance's signing keys.
type SigningKeyStore interface {
	// SigningKeys returns every key, retired ones included: the active key
	// first, then the newest.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// EnsureSigningKey inserts k as the active key when there is no key at
	// all, and does nothing otherwise (also when another node did it first).
	EnsureSigningKey(ctx context.Context, k *SigningKey) error
	// RotateSigningKey makes k the active key and the active one verifying.
	// Run it inside InTx; a concurrent rotation fails with EConflict.
	RotateSigningKey(ctx context.Context, k *SigningKey) error
	// RetireSigningKey retires a verifying key and wipes its private part:
	// ENotFound for an unknown kid, EConflict for the active key. Retiring
	// a retired key does nothing.
	RetireSigningKey(ctx context.Context, kid string) error
}
