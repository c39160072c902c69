// Package licensing holds the license and injectable rules that do not
// depend on storage or HTTP.
package licensing

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// ivSeparator sits between the raw IV and the base64 ciphertext inside a
// decoded payload. The DevPayr PHP SDK splits at its first occurrence.
const ivSeparator = "::"

// colon is the byte an IV must never contain; see newIV.
const colon = ':'

// Errors returned by DecryptInjectable. Both are wrapped with detail; test
// with errors.Is.
var (
	// ErrMalformedPayload means the payload is not in the DevPayr layout:
	// bad base64, no separator, an IV that is not 16 bytes, or ciphertext
	// that is not whole AES blocks.
	ErrMalformedPayload = errors.New("licensing: malformed injectable payload")

	// ErrDecrypt means the payload is well formed but did not decrypt to
	// validly padded plaintext, which is what a wrong secret usually looks
	// like.
	ErrDecrypt = errors.New("licensing: cannot decrypt injectable payload")
)

// EncryptInjectable encrypts plaintext with secret in the wire format that
// DevPayr's stream endpoint emits and its PHP SDK decrypts:
//
//	key     = SHA-256(secret)
//	payload = base64(iv || "::" || base64(AES-256-CBC(key, iv, PKCS#7(plaintext))))
//
// Both base64 layers use the standard alphabet with padding. The IV is 16
// random bytes with no ':' in them (see newIV for why). The result is the
// value of an injectable's encrypted_content; sign it with SignInjectable.
//
// The format has no integrity check of its own: the SDKs rely on the HMAC
// from SignInjectable for that. The secret's length policy belongs to the
// caller; this function accepts any secret.
func EncryptInjectable(secret string, plaintext []byte) (payload string, err error) {
	iv, err := newIV(rand.Reader)
	if err != nil {
		return "", err
	}
	return encryptWithIV(secret, iv, plaintext)
}

// newIV reads a 16-byte IV from r, drawing again until the IV holds no ':'
// (0x3A) byte. The PHP SDK finds the end of the IV by splitting the decoded
// payload at the first "::", so an IV containing "::", or ending in ':'
// (which then runs into the separator), is cut short and the payload cannot
// be decrypted; about 0.4% of uniformly random IVs fail that way. Banning
// the byte outright is simpler than reasoning about positions, happens on
// about 6% of draws, and costs under 0.1 bit of the IV's 128 bits of
// unpredictability, which is all CBC asks of an IV.
func newIV(r io.Reader) ([]byte, error) {
	iv := make([]byte, aes.BlockSize)
	for {
		if _, err := io.ReadFull(r, iv); err != nil {
			return nil, fmt.Errorf("licensing: reading injectable IV: %w", err)
		}
		if bytes.IndexByte(iv, colon) < 0 {
			return iv, nil
		}
	}
}

// encryptWithIV is EncryptInjectable with a caller-chosen IV, so that tests
// can check known answers. It refuses IVs that the PHP SDK could not split
// off again.
func encryptWithIV(secret string, iv, plaintext []byte) (string, error) {
	if len(iv) != aes.BlockSize {
		return "", fmt.Errorf("licensing: injectable IV is %d bytes, want %d", len(iv), aes.BlockSize)
	}
	if bytes.IndexByte(iv, colon) >= 0 {
		return "", errors.New("licensing: injectable IV contains ':'")
	}
	block := newBlock(secret)

	// PKCS#7 always adds 1..16 bytes, so even empty plaintext yields one
	// block; that is what OpenSSL (and so PHP) produces and expects.
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+n)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)

	enc := base64.StdEncoding
	inner := make([]byte, 0, len(iv)+len(ivSeparator)+enc.EncodedLen(len(buf)))
	inner = append(inner, iv...)
	inner = append(inner, ivSeparator...)
	inner = enc.AppendEncode(inner, buf)
	return enc.EncodeToString(inner), nil
}

// DecryptInjectable reverses EncryptInjectable, reading the payload the
// way the PHP SDK does: base64-decode it, split at the first "::", take
// the first part as the raw IV and the rest as base64 ciphertext. Any
// malformed input gives an error wrapping ErrMalformedPayload or
// ErrDecrypt; it never panics.
//
// CBC without a MAC cannot always tell a wrong secret from the right one:
// roughly one wrong secret in 256 still yields valid padding and returns
// garbage. Check the payload with VerifyInjectableSignature first when the
// answer matters.
func DecryptInjectable(secret, payload string) ([]byte, error) {
	enc := base64.StdEncoding
	decoded, err := enc.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64: %w", ErrMalformedPayload, err)
	}
	iv, ctB64, found := bytes.Cut(decoded, []byte(ivSeparator))
	if !found {
		return nil, fmt.Errorf("%w: no %q separator", ErrMalformedPayload, ivSeparator)
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrMalformedPayload, len(iv), aes.BlockSize)
	}
	ct := make([]byte, enc.DecodedLen(len(ctB64)))
	n, err := enc.Decode(ct, ctB64)
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext is not base64: %w", ErrMalformedPayload, err)
	}
	ct = ct[:n]
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes, not a positive multiple of %d",
			ErrMalformedPayload, len(ct), aes.BlockSize)
	}
	cipher.NewCBCDecrypter(newBlock(secret), iv).CryptBlocks(ct, ct)
	plaintext, ok := unpad(ct)
	if !ok {
		return nil, fmt.Errorf("%w: bad padding (wrong secret?)", ErrDecrypt)
	}
	return plaintext, nil
}

// newBlock returns AES-256 keyed with SHA-256 of secret, DevPayr's key
// derivation.
func newBlock(secret string) cipher.Block {
	key := sha256.Sum256([]byte(secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		// A 32-byte key is always valid for AES.
		panic("licensing: " + err.Error())
	}
	return block
}

// unpad strips PKCS#7 padding from buf, a non-empty whole number of
// blocks, and reports whether the padding was valid. It examines the whole
// last block without branching on its contents, so the time it takes does
// not reveal which padding byte was wrong.
func unpad(buf []byte) ([]byte, bool) {
	last := buf[len(buf)-aes.BlockSize:]
	n := int(last[aes.BlockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := range aes.BlockSize {
		// The last n bytes must all equal n. Byte i is one of them when
		// BlockSize-i <= n; written this way both operands stay
		// non-negative, as ConstantTimeLessOrEq requires.
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-i, n)
		match := subtle.ConstantTimeByteEq(last[i], byte(n))
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	if good != 1 {
		return nil, false
	}
	return buf[:len(buf)-n], true
}

// SignInjectable returns the signature DevPayr SDKs check for a payload:
// lowercase hex of HMAC-SHA256 keyed with secret over the payload string
// exactly as sent. The MAC covers the encrypted payload, not the
// plaintext, so clients can reject tampering before decrypting.
func SignInjectable(secret, payload string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload)) // a hash.Hash never returns a write error
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyInjectableSignature reports whether sig is SignInjectable(secret,
// payload). The comparison takes constant time and, like PHP's hash_equals
// in the SDK, is case-sensitive: uppercase hex does not match.
func VerifyInjectableSignature(secret, payload, sig string) bool {
	return hmac.Equal([]byte(SignInjectable(secret, payload)), []byte(sig))
}

// ContentHash returns the content_hash DevPayr reports for an injectable:
// lowercase hex SHA-256 of the plaintext. No SDK checks it; it lets
// operators tell whether content changed without decrypting.
func ContentHash(plaintext []byte) string {
	sum := sha256.Sum256(plaintext)
	return hex.EncodeToString(sum[:])
}
