package licensing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Offline license files (issue 16; docs/license-files.md): a signed JWS of
// type license-file+jwt, optionally wrapped in a compact JWE (RFC 7516)
// that only the holder of the license key opens, armoured in PEM-like lines
// so that it survives e-mail and copy-and-paste.

// TypeLicenseFileJWE is the "typ" header of an encrypted license file.
const TypeLicenseFileJWE = "license-file+jwe"

// The armour's boundary lines.
const (
	ArmorBegin = "-----BEGIN LATCHKEY LICENSE FILE-----"
	ArmorEnd   = "-----END LATCHKEY LICENSE FILE-----"
)

// armorWidth is the line width of the armoured token, as PEM's.
const armorWidth = 64

// File key derivation: HKDF-SHA256 over the license key's UTF-8 bytes. The
// license key is a long random string, so no password stretching is
// needed; the fixed salt and info tie the key to this one use.
const (
	fileKeySalt = "latchkey license file"
	fileKeyInfo = "A256GCM"
)

// Armor wraps a compact token (JWS or JWE) at 64 columns between the
// boundary lines, with a final newline.
func Armor(token string) string {
	var b strings.Builder
	b.Grow(len(token) + len(token)/armorWidth + len(ArmorBegin) + len(ArmorEnd) + 4)
	b.WriteString(ArmorBegin)
	b.WriteByte('\n')
	for len(token) > armorWidth {
		b.WriteString(token[:armorWidth])
		b.WriteByte('\n')
		token = token[armorWidth:]
	}
	if token != "" {
		b.WriteString(token)
		b.WriteByte('\n')
	}
	b.WriteString(ArmorEnd)
	b.WriteByte('\n')
	return b.String()
}

// ErrArmor reports data that is not an armoured license file.
var ErrArmor = errors.New("licensing: not a Latchkey license file")

// Unarmor returns the compact token of an armoured file. It tolerates
// surrounding text and any whitespace (CRLF, indentation) inside, since
// files pass through mail clients and editors; a bare compact token is
// accepted as well.
func Unarmor(data []byte) (string, error) {
	s := string(data)
	if i := strings.Index(s, ArmorBegin); i >= 0 {
		s = s[i+len(ArmorBegin):]
		j := strings.Index(s, ArmorEnd)
		if j < 0 {
			return "", ErrArmor
		}
		s = s[:j]
	}
	token := strings.Join(strings.Fields(s), "")
	if token == "" || strings.Count(token, ".") != 2 && strings.Count(token, ".") != 4 {
		return "", ErrArmor
	}
	for _, r := range token {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return "", ErrArmor
		}
	}
	return token, nil
}

// FileKey is the AES-256 key that encrypts the license files of the license
// whose key is licenseKey.
func FileKey(licenseKey string) []byte {
	k, err := hkdf.Key(sha256.New, []byte(licenseKey), []byte(fileKeySalt), fileKeyInfo, 32)
	if err != nil { // only for lengths HKDF-SHA256 cannot produce
		panic(err)
	}
	return k
}

// jweHeader is the protected header of an encrypted license file: the key
// is used directly (alg "dir") with AES-256-GCM, and the content is a JWT.
type jweHeader struct {
	Alg string `json:"alg"`
	Enc string `json:"enc"`
	Cty string `json:"cty"`
	Typ string `json:"typ"`
}

// EncryptFile returns the compact JWE of the signed file jws under the file
// key of licenseKey: header.""(no encrypted key).iv.ciphertext.tag, the AAD
// being the ASCII of the encoded header (RFC 7516 §5.1).
func EncryptFile(jws, licenseKey string) (string, error) {
	h, err := json.Marshal(jweHeader{Alg: "dir", Enc: "A256GCM", Cty: "JWT", Typ: TypeLicenseFileJWE})
	if err != nil {
		return "", err
	}
	gcm, err := fileAEAD(licenseKey)
	if err != nil {
		return "", err
	}
	iv := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	protected := base64.RawURLEncoding.EncodeToString(h)
	sealed := gcm.Seal(nil, iv, []byte(jws), []byte(protected))
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	enc := base64.RawURLEncoding.EncodeToString
	return protected + ".." + enc(iv) + "." + enc(ct) + "." + enc(tag), nil
}

// ErrDecrypt reports an encrypted file that the key does not open (the
// wrong license key, or a file altered in transit).
var ErrDecrypt = errors.New("licensing: the license file does not open with this license key")

// DecryptFile opens a compact JWE made by EncryptFile and returns the JWS
// inside. Only alg "dir" with enc "A256GCM" is accepted.
func DecryptFile(jwe, licenseKey string) (string, error) {
	parts := strings.Split(jwe, ".")
	if len(parts) != 5 || parts[1] != "" {
		return "", ErrArmor
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", ErrArmor
	}
	var h jweHeader
	if json.Unmarshal(hb, &h) != nil || h.Alg != "dir" || h.Enc != "A256GCM" {
		return "", ErrArmor
	}
	iv, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	ct, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	tag, err3 := base64.RawURLEncoding.DecodeString(parts[4])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", ErrArmor
	}
	gcm, err := fileAEAD(licenseKey)
	if err != nil {
		return "", err
	}
	if len(iv) != gcm.NonceSize() || len(tag) != gcm.Overhead() {
		return "", ErrArmor
	}
	pt, err := gcm.Open(nil, iv, append(ct, tag...), []byte(parts[0]))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

func fileAEAD(licenseKey string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(FileKey(licenseKey))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
