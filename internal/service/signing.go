package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Signing keys (issue 16). The instance signs proofs, license files and
// signed responses with its active Ed25519 key; keys rotated out keep
// verifying until retired. The keyring is read from the database and
// cached in memory: a rotation on any node drops it everywhere at once on
// PostgreSQL (ChangeSigning), and the short TTL bounds how long a node
// misses one made by the admin command against a SQLite file it has open.

// signingKeyringTTL bounds how long a node signs with, and publishes, a
// keyring another process changed without telling it.
const signingKeyringTTL = 30 * time.Second

// signingBoxPurpose names the key that seals signing keys at rest.
const signingBoxPurpose = "signing-key"

// PublicSigningKey is a key that verifies: the active one or one rotated
// out and not yet retired.
type PublicSigningKey struct {
	KID       string
	Key       ed25519.PublicKey
	Active    bool
	CreatedAt time.Time
}

// keyring is the decrypted set of signing keys.
type keyring struct {
	signer *licensing.Signer
	public []PublicSigningKey // active first
}

type keyringCache struct {
	c *cache.Cache[struct{}, *keyring]
}

func newKeyringCache(set *cache.Set, now func() time.Time) keyringCache {
	return keyringCache{cache.NewIn(set, cache.Config[struct{}, *keyring]{Name: "signing-keys", MaxEntries: 1, TTL: signingKeyringTTL, Now: now})}
}

// keyring returns the signing keys, creating the first one from the
// instance secret's derived key when there is none: that is the key every
// proof was signed with before keys rotated, so it keeps verifying.
func (s *Service) keyring(ctx context.Context) (*keyring, error) {
	if kr, ok := s.signingKeys.c.Get(struct{}{}); ok {
		return kr, nil
	}
	t := s.signingKeys.c.Begin()
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		if err := s.store.EnsureSigningKey(ctx, s.sealSigningKey(s.initialSigning)); err != nil {
			return nil, err
		}
		if keys, err = s.store.SigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	kr := &keyring{}
	for _, k := range keys {
		if k.Status == core.SigningKeyRetired {
			continue
		}
		pub := ed25519.PublicKey(k.PublicKey)
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing key %s: public key of %d bytes", k.KID, len(pub))
		}
		kr.public = append(kr.public, PublicSigningKey{KID: k.KID, Key: pub, Active: k.Status == core.SigningKeyActive, CreatedAt: k.CreatedAt})
		if k.Status == core.SigningKeyActive {
			seed, err := s.signingBox.Open(k.PrivateEnc)
			if err != nil || len(seed) != ed25519.SeedSize {
				return nil, fmt.Errorf("signing key %s: cannot open its private key under this instance secret", k.KID)
			}
			kr.signer = &licensing.Signer{KID: k.KID, Key: ed25519.NewKeyFromSeed(seed)}
		}
	}
	if kr.signer == nil {
		return nil, fmt.Errorf("no active signing key")
	}
	s.signingKeys.c.Put(t, struct{}{}, kr, core.Change{Kind: core.ChangeSigning})
	return kr, nil
}

func (s *Service) sealSigningKey(priv ed25519.PrivateKey) *core.SigningKey {
	pub := priv.Public().(ed25519.PublicKey)
	return &core.SigningKey{KID: licensing.KeyID(pub), PublicKey: pub, PrivateEnc: s.signingBox.Seal(priv.Seed())}
}

// Signer returns the active signing key.
func (s *Service) Signer(ctx context.Context) (*licensing.Signer, error) {
	kr, err := s.keyring(ctx)
	if err != nil {
		return nil, err
	}
	return kr.signer, nil
}

// PublicSigningKeys returns every key that verifies, the active one first:
// what the JWK Set publishes.
func (s *Service) PublicSigningKeys(ctx context.Context) ([]PublicSigningKey, error) {
	kr, err := s.keyring(ctx)
	if err != nil {
		return nil, err
	}
	return kr.public, nil
}

// SigningKeys lists every signing key, retired ones included (operator
// only).
func (s *Service) SigningKeys(ctx context.Context, actor *core.Actor) ([]core.SigningKey, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	if _, err := s.keyring(ctx); err != nil { // records the first key
		return nil, err
	}
	keys, err := s.store.SigningKeys(ctx)
	for i := range keys {
		keys[i].PrivateEnc = nil
	}
	return keys, err
}

// RotateSigningKey makes a new active key; the previous one keeps
// verifying until it is retired (operator only).
func (s *Service) RotateSigningKey(ctx context.Context, actor *core.Actor) (*core.SigningKey, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	if _, err := s.keyring(ctx); err != nil { // the first key must exist to be rotated out
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := s.sealSigningKey(priv)
	err = s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		changed(core.Change{Kind: core.ChangeSigning})
		return st.RotateSigningKey(ctx, k)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("signing key rotated", "kid", k.KID)
	k.PrivateEnc = nil
	return k, nil
}

// RetireSigningKey retires a key rotated out: it leaves the JWK Set and
// what it signed no longer verifies (operator only).
func (s *Service) RetireSigningKey(ctx context.Context, actor *core.Actor, kid string) error {
	if err := requireOperator(actor); err != nil {
		return err
	}
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		changed(core.Change{Kind: core.ChangeSigning})
		return st.RetireSigningKey(ctx, kid)
	})
	if err == nil {
		s.log.Info("signing key retired", "kid", kid)
	}
	return err
}
