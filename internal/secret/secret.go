// Package secret loads the instance secret and derives from it the keys
// that encrypt license keys at rest, sign cursors and sign offline proofs.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the file the generated secret lives in, inside the data
// directory.
const FileName = "secret.key"

// MinLen is the shortest secret accepted from the environment or a file.
const MinLen = 32

// Key is the instance secret.
type Key struct {
	master [32]byte
}

// Source says where a secret came from, for the start-up log line (never the
// value).
type Source string

// Load returns the instance secret: value when not empty
// (LATCHKEY_SECRET_KEY), else the contents of file (LATCHKEY_SECRET_KEY_FILE),
// else dataDir/secret.key, generated with mode 0600 on first start.
func Load(dataDir, value, file string) (*Key, Source, error) {
	switch {
	case value != "":
		k, err := FromString(value)
		if err != nil {
			return nil, "", fmt.Errorf("LATCHKEY_SECRET_KEY: %w", err)
		}
		return k, "environment", nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("secret key file: %w", err)
		}
		k, err := FromString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, "", fmt.Errorf("secret key file %s: %w", file, err)
		}
		return k, Source("file " + file), nil
	}
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := FromString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return k, Source("file " + path), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create data directory: %w", err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	text := hex.EncodeToString(raw[:])
	// O_EXCL: if another process generated it first, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Load(dataDir, "", "")
	}
	if err != nil {
		return nil, "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(text + "\n"); err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close() // the sync error is the one to report
		return nil, "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("write %s: %w", path, err)
	}
	k, err := FromString(text)
	return k, Source("generated " + path), err
}

// FromString derives the key from a secret string of at least MinLen
// characters.
func FromString(s string) (*Key, error) {
	if len(s) < MinLen {
		return nil, fmt.Errorf("the secret must be at least %d characters long", MinLen)
	}
	return &Key{master: sha256.Sum256([]byte("latchkey instance secret\x00" + s))}, nil
}

// Derive returns a 32-byte key for one purpose, so that no two uses share a
// key.
func (k *Key) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.master[:])
	m.Write([]byte("latchkey/" + purpose))
	return m.Sum(nil)
}

// SigningKey returns the Ed25519 key that signs offline proofs.
func (k *Key) SigningKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(k.Derive("offline-proof-ed25519"))
}

// Box encrypts small values (license keys, webhook secrets) with
// AES-256-GCM under a derived key.
type Box struct {
	aead cipher.AEAD
}

// Box returns the Box for purpose.
func (k *Key) Box(purpose string) *Box {
	block, err := aes.NewCipher(k.Derive("box/" + purpose))
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Box{aead: aead}
}

// Seal encrypts plaintext; the nonce is prepended to the result.
func (b *Box) Seal(plaintext []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, errors.New("secret: sealed value too short")
	}
	return b.aead.Open(nil, sealed[:n], sealed[n:], nil)
}

// Fingerprint identifies the secret without revealing it, so that nodes
// sharing a database can check they share the secret too.
func (k *Key) Fingerprint() string {
	return hex.EncodeToString(k.Derive("fingerprint")[:16])
}
