// Package keys mints, recognises and authenticates API keys.
//
// A secret looks like sk_live_<32 base62 characters><6-character base62
// CRC32 checksum>: 32 random base62 characters carry 190 bits of entropy;
// the checksum lets the server refuse garbage before any lookup and lets
// secret scanners recognise our keys without false positives.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"regexp"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen   = 32
	checksumLen = 6
	publicLen   = 24
	prefixLen   = len("sk_live_")

	// SecretLen is the length of every secret.
	SecretLen = prefixLen + randomLen + checksumLen
)

// Pattern matches our secrets anywhere in text, for secret scanners. A match
// is ours when Valid also accepts it (the checksum agrees).
var Pattern = regexp.MustCompile(`\bsk_(?:live|test)_[0-9A-Za-z]{38}\b`)

// PatternText is Pattern's source, as documented in docs/api-keys.md.
const PatternText = `\bsk_(?:live|test)_[0-9A-Za-z]{38}\b`

// Minted is a freshly minted key. Secret is shown once and then forgotten.
type Minted struct {
	Secret   string
	PublicID string
	Digest   []byte // SHA-256 of Secret; the only form stored
	Last4    string
}

// Mint returns a new key for env (core.EnvLive or core.EnvTest).
func Mint(env string) Minted {
	body := "sk_" + env + "_" + randomString(randomLen)
	secret := body + checksum(body)
	d := Digest(secret)
	return Minted{
		Secret:   secret,
		PublicID: "pk_" + env + "_" + randomString(publicLen),
		Digest:   d[:],
		Last4:    secret[len(secret)-4:],
	}
}

// Digest returns the SHA-256 of a presented secret.
func Digest(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// Valid reports whether s is well formed: a known prefix, the right length,
// base62 only, and a checksum that agrees. It needs no database.
func Valid(s string) bool {
	if len(s) != SecretLen {
		return false
	}
	if !strings.HasPrefix(s, "sk_live_") && !strings.HasPrefix(s, "sk_test_") {
		return false
	}
	for i := prefixLen; i < len(s); i++ {
		if !isBase62(s[i]) {
			return false
		}
	}
	body := s[:len(s)-checksumLen]
	// Not a secret comparison: the checksum is derived from public data.
	want := checksumBytes(body)
	return string(want[:]) == s[len(s)-checksumLen:]
}

// Env returns the environment of a well-formed secret or public ID.
func Env(s string) string {
	if len(s) > 8 && s[3:8] == "test_" {
		return core.EnvTest
	}
	return core.EnvLive
}

// ValidPublicID reports whether s looks like a public key identifier.
func ValidPublicID(s string) bool {
	if len(s) != prefixLen+publicLen || (!strings.HasPrefix(s, "pk_live_") && !strings.HasPrefix(s, "pk_test_")) {
		return false
	}
	for i := prefixLen; i < len(s); i++ {
		if !isBase62(s[i]) {
			return false
		}
	}
	return true
}

// Display returns the form shown in listings: prefix, ellipsis, last four.
func Display(env, last4 string) string { return "sk_" + env + "_…" + last4 }

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// checksum encodes the CRC-32 (IEEE) of body as six base62 digits, most
// significant first; 62^6 > 2^32, so every value fits.
func checksum(body string) string {
	b := checksumBytes(body)
	return string(b[:])
}

func checksumBytes(body string) [checksumLen]byte {
	// CRC-32 (IEEE) by its table, byte by byte: crc32.Update would need
	// body as a []byte, a copy that escapes (and so allocates) on every
	// authentication. The figure is the same (TestChecksumMatchesCRC32).
	v := ^uint32(0)
	for i := 0; i < len(body); i++ {
		v = crc32.IEEETable[byte(v)^body[i]] ^ (v >> 8)
	}
	v = ^v
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return out
}

// randomString returns n base62 characters from crypto/rand, by rejection
// sampling so that every character is equally likely.
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if b < 248 { // 248 = 4*62: keep the distribution uniform
				out = append(out, base62[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// RandomToken returns n random base62 characters, for session tokens and
// other non-key secrets.
func RandomToken(n int) string { return randomString(n) }
