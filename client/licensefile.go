package client

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Offline license files (docs/license-files.md): a signed JWS of type
// license-file+jwt, inside a compact JWE when the project encrypts its
// files under each license's key, armoured between BEGIN/END lines.

// The armour's boundary lines and the encrypted file's typ.
const (
	LicenseFileBegin   = "-----BEGIN LATCHKEY LICENSE FILE-----"
	LicenseFileEnd     = "-----END LATCHKEY LICENSE FILE-----"
	TypeLicenseFileJWE = "license-file+jwe"
)

// Errors of Verifier.LicenseFile, beside those of Verifier.Proof.
var (
	// ErrLicenseFileEncrypted means the file is encrypted and no license
	// key was given to open it.
	ErrLicenseFileEncrypted = errors.New("latchkey: the license file is encrypted: the license key is needed to open it")
	// ErrLicenseFileKey means the encrypted file does not open with the
	// license key given (another license's key, or a file altered).
	ErrLicenseFileKey = errors.New("latchkey: the license file does not open with this license key")
)

// LicenseFileOptions are the options of a checkout.
type LicenseFileOptions struct {
	// Identifier is the runtime identifier (domain) the file is for; the
	// file's identifier claim. Empty: any.
	Identifier string
	// TTL is how long the file may be trusted (1 minute to 365 days; 0
	// means the server's 30 days). It never outlives the license.
	TTL time.Duration
}

// LicenseFileRequest is the body of Validate.LicenseFile: the copy's own
// checkout with its license key.
type LicenseFileRequest struct {
	// License is the license key. Required.
	License string
	// Domain is the runtime identifier, as for Validate.License.
	Domain string
	// ProjectID, when set, refuses a license of another project.
	ProjectID int64
	// TTL as in LicenseFileOptions.
	TTL time.Duration
}

// LicenseFileDownload is a license file as the server issued it.
type LicenseFileDownload struct {
	// File is the armoured file: save it as is.
	File      []byte
	ExpiresAt time.Time
	KeyID     string
	Encrypted bool
}

type licenseFileJSON struct {
	File      string    `json:"file"`
	ExpiresAt time.Time `json:"expires_at"`
	KeyID     string    `json:"kid"`
	Encrypted bool      `json:"encrypted"`
}

func (j *licenseFileJSON) download() *LicenseFileDownload {
	return &LicenseFileDownload{File: []byte(j.File), ExpiresAt: j.ExpiresAt, KeyID: j.KeyID, Encrypted: j.Encrypted}
}

func ttlSeconds(d time.Duration) string { return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10) }

// File checks out an offline license file for the license (scope
// licenses:write). The checkout is recorded (audit and event
// license.checked_out). A revoked, suspended or expired license gets none.
func (s *LicenseService) File(ctx context.Context, projectID, licenseID int64, fo *LicenseFileOptions, opts ...CallOption) (*LicenseFileDownload, error) {
	q := url.Values{}
	if fo != nil {
		if fo.Identifier != "" {
			q.Set("identifier", fo.Identifier)
		}
		if fo.TTL > 0 {
			q.Set("ttl", ttlSeconds(fo.TTL))
		}
	}
	var out licenseFileJSON
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: licensesPath(projectID) + "/" + id(licenseID) + "/file", query: q}, &out); err != nil {
		return nil, err
	}
	return out.download(), nil
}

// LicenseFile fetches the copy's own license file with its license key
// (GET|POST /licenses/file). It is a validation and counts as one; only a
// VALID license gets a file, every other verdict is an *Error whose Code
// names it (REVOKED, DOMAIN_NOT_ALLOWED…).
func (s *ValidateService) LicenseFile(ctx context.Context, in LicenseFileRequest, opts ...CallOption) (*LicenseFileDownload, error) {
	h, err := RuntimeRequest{License: in.License, Domain: in.Domain}.header()
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if in.Domain != "" {
		body["domain"] = in.Domain
	}
	if in.ProjectID != 0 {
		body["project_id"] = in.ProjectID
	}
	if in.TTL > 0 {
		body["ttl"] = ttlSeconds(in.TTL)
	}
	var out licenseFileJSON
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "licenses/file", body: body, header: h, noAuth: true}, &out); err != nil {
		return nil, err
	}
	return out.download(), nil
}

// LicenseFile is a verified license file: the claims every signed artefact
// carries (Proof; Domain is the identifier it was issued for) and the
// license's summary.
type LicenseFile struct {
	Proof
	License LicenseFileLicense
	// Encrypted reports whether the file was a JWE.
	Encrypted bool
}

// LicenseFileLicense is the file's summary of its license.
type LicenseFileLicense struct {
	ID            int64      `json:"id"`
	ProjectID     int64      `json:"project_id"`
	ProjectName   string     `json:"project_name"`
	Title         string     `json:"title"`
	Status        string     `json:"status"`
	ExpiresAt     *time.Time `json:"expires_at"`
	IsTestLicense bool       `json:"is_test_license"`
	CustomerName  *string    `json:"customer_name"`
	CustomerEmail *string    `json:"customer_email"`
	ExternalID    *string    `json:"external_id"`
	CreatedAt     time.Time  `json:"created_at"`
}

// LicenseFile verifies a license file, as saved (armoured) or as a bare
// compact token: it opens an encrypted file with licenseKey (an encrypted
// file without one is ErrLicenseFileEncrypted, with the wrong one
// ErrLicenseFileKey), then checks the JWS as Proof does, with typ
// license-file+jwt, and the verifier's Issuer, ProjectID and Identifier.
// An expired file returns ErrProofExpired with the decoded file. A plain
// file verifies whatever licenseKey is.
func (v *Verifier) LicenseFile(ctx context.Context, data []byte, licenseKey string) (*LicenseFile, error) {
	token, err := unarmorLicenseFile(data)
	if err != nil {
		return nil, err
	}
	encrypted := strings.Count(token, ".") == 4
	if encrypted {
		if licenseKey == "" {
			return nil, ErrLicenseFileEncrypted
		}
		if token, err = decryptLicenseFile(token, licenseKey); err != nil {
			return nil, err
		}
	}
	c, p, err := v.verify(ctx, token, TypeLicenseFile)
	if p == nil {
		return nil, err
	}
	f := &LicenseFile{Proof: *p, Encrypted: encrypted}
	if len(c.License) > 0 {
		if jerr := json.Unmarshal(c.License, &f.License); jerr != nil {
			return nil, fmt.Errorf("%w: the license claim is not a license summary", ErrProofMalformed)
		}
	}
	if f.License.ID != p.LicenseID || f.License.ProjectID != p.ProjectID {
		return nil, fmt.Errorf("%w: the license claim names another license than sub/aud", ErrClaims)
	}
	return f, err
}

// unarmorLicenseFile returns the compact token of a file, tolerating text
// around the armour and any whitespace inside it (mail clients, CRLF).
func unarmorLicenseFile(data []byte) (string, error) {
	s := string(data)
	if i := strings.Index(s, LicenseFileBegin); i >= 0 {
		s = s[i+len(LicenseFileBegin):]
		j := strings.Index(s, LicenseFileEnd)
		if j < 0 {
			return "", fmt.Errorf("%w: no END line", ErrProofMalformed)
		}
		s = s[:j]
	}
	token := strings.Join(strings.Fields(s), "")
	if n := strings.Count(token, "."); n != 2 && n != 4 {
		return "", fmt.Errorf("%w: not a license file", ErrProofMalformed)
	}
	return token, nil
}

// licenseFileKey derives the file key: HKDF-SHA256 of the license key,
// salt "latchkey license file", info "A256GCM", 32 bytes.
func licenseFileKey(licenseKey string) ([]byte, error) {
	return hkdfSHA256([]byte(licenseKey), []byte("latchkey license file"), []byte("A256GCM"), 32), nil
}

// hkdfSHA256 is HKDF (RFC 5869) with SHA-256, as crypto/hkdf computes it;
// written out because crypto/hkdf needs Go 1.24 and the SDK supports 1.23.
func hkdfSHA256(secret, salt, info []byte, n int) []byte {
	ext := hmac.New(sha256.New, salt)
	ext.Write(secret)
	prk := ext.Sum(nil)
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		exp := hmac.New(sha256.New, prk)
		exp.Write(t)
		exp.Write(info)
		exp.Write([]byte{i})
		t = exp.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

// decryptLicenseFile opens a compact JWE with alg "dir", enc "A256GCM".
func decryptLicenseFile(jwe, licenseKey string) (string, error) {
	parts := strings.Split(jwe, ".")
	if len(parts) != 5 || parts[1] != "" {
		return "", fmt.Errorf("%w: a direct-key JWE has an empty second part", ErrProofMalformed)
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", fmt.Errorf("%w: JWE header is not base64url", ErrProofMalformed)
	}
	var h struct {
		Alg  string   `json:"alg"`
		Enc  string   `json:"enc"`
		Typ  string   `json:"typ"`
		Crit []string `json:"crit"`
	}
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return "", fmt.Errorf("%w: JWE header is not JSON", ErrProofMalformed)
	}
	if h.Alg != "dir" || h.Enc != "A256GCM" || len(h.Crit) > 0 {
		return "", fmt.Errorf("%w: JWE alg %q enc %q (want dir, A256GCM)", ErrAlgorithm, h.Alg, h.Enc)
	}
	if h.Typ != TypeLicenseFileJWE {
		return "", fmt.Errorf("%w: typ %q, want %q", ErrClaims, h.Typ, TypeLicenseFileJWE)
	}
	iv, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	ct, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	tag, err3 := base64.RawURLEncoding.DecodeString(parts[4])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", fmt.Errorf("%w: JWE part is not base64url", ErrProofMalformed)
	}
	key, err := licenseFileKey(licenseKey)
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	if len(iv) != gcm.NonceSize() || len(tag) != gcm.Overhead() {
		return "", fmt.Errorf("%w: JWE iv or tag of the wrong size", ErrProofMalformed)
	}
	pt, err := gcm.Open(nil, iv, append(ct, tag...), []byte(parts[0]))
	if err != nil {
		return "", ErrLicenseFileKey
	}
	return string(pt), nil
}
