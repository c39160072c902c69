package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Signed responses (docs/signed-responses.md): a copy that opts in gets
// every answer of the runtime routes signed by the server's active signing
// key over the request it sent, the answer's Date and body, and a nonce of
// its own, so that a proxy, a hosts-file redirect or a fake server cannot
// answer "valid" in the server's name, nor replay an old answer.

// ErrResponseSignature means a runtime answer asked to be signed is not
// signed, or its signature, digest, date or nonce does not verify. An
// answer signed by a key the key set does not hold is also ErrUnknownKey.
var ErrResponseSignature = errors.New("latchkey: response signature does not verify")

// The headers of the signed-response scheme.
const (
	// SignatureRequestHeader opts in; SignatureVersion is its one value.
	SignatureRequestHeader = "Latchkey-Signature-Request"
	SignatureVersion       = "v1"
	// NonceHeader carries the nonce the answer is signed over.
	NonceHeader = "Latchkey-Nonce"
	// SignatureHeader carries the answer's signature.
	SignatureHeader = "Latchkey-Signature"
	// SignedHeaders is the one headers list a signature may name.
	SignedHeaders = "(request-target) date digest nonce"
)

// NewNonce returns a fresh nonce for a signed request: 16 random bytes,
// base64url (22 characters).
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("latchkey: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Response verifies a signed runtime answer: resp is the answer (its
// Request is the request that was sent), body its whole body, nonce the
// nonce sent with the request. It checks, strictly, that the
// Latchkey-Signature header names algorithm ed25519 and exactly the
// headers (request-target) date digest nonce; that Digest is the body's
// SHA-256; that Date is within the verifier's skew of its clock; and that
// the signature verifies with the key named by keyid. Every failure is
// ErrResponseSignature.
func (v *Verifier) Response(ctx context.Context, resp *http.Response, body []byte, nonce string) error {
	if v.Keys == nil {
		return errors.New("latchkey: the verifier has no keys")
	}
	if resp == nil || resp.Request == nil || resp.Request.URL == nil {
		return fmt.Errorf("%w: the answer carries no request to check it against", ErrResponseSignature)
	}
	if !validNonce(nonce) {
		return fmt.Errorf("%w: the nonce must be 1 to 256 visible ASCII characters", ErrResponseSignature)
	}
	sigHeader, err := oneHeader(resp.Header, SignatureHeader)
	if err != nil {
		return err
	}
	date, err := oneHeader(resp.Header, "Date")
	if err != nil {
		return err
	}
	digest, err := oneHeader(resp.Header, "Digest")
	if err != nil {
		return err
	}
	params, err := parseSignatureHeader(sigHeader)
	if err != nil {
		return err
	}
	if params["algorithm"] != "ed25519" {
		return fmt.Errorf("%w: algorithm %q, want ed25519", ErrResponseSignature, params["algorithm"])
	}
	if params["headers"] != SignedHeaders {
		return fmt.Errorf("%w: headers %q, want %q", ErrResponseSignature, params["headers"], SignedHeaders)
	}
	if want := bodyDigest(body); subtle.ConstantTimeCompare([]byte(digest), []byte(want)) != 1 {
		return fmt.Errorf("%w: Digest does not match the body", ErrResponseSignature)
	}
	at, err := time.Parse(http.TimeFormat, date)
	if err != nil {
		return fmt.Errorf("%w: Date %q is not an HTTP date", ErrResponseSignature, date)
	}
	now, skew := v.now(), v.skew()
	if at.Before(now.Add(-skew)) || at.After(now.Add(skew)) {
		return fmt.Errorf("%w: Date %s is more than %s from now", ErrResponseSignature, date, skew)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(params["signature"])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not 64 bytes of base64", ErrResponseSignature)
	}
	pub, err := v.Keys.Key(ctx, params["keyid"])
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return fmt.Errorf("%w: %w", ErrResponseSignature, err)
		}
		return err // the key set could not be read (network): not a verdict
	}
	msg := signingString(resp.Request.Method, resp.Request.URL.RequestURI(), date, digest, nonce)
	if !ed25519.Verify(pub, []byte(msg), sig) {
		return fmt.Errorf("%w: the signature does not verify (another request, nonce or answer)", ErrResponseSignature)
	}
	return nil
}

// oneHeader returns the value of a header that must be sent exactly once.
func oneHeader(h http.Header, name string) (string, error) {
	switch v := h.Values(name); len(v) {
	case 0:
		return "", fmt.Errorf("%w: no %s header", ErrResponseSignature, name)
	case 1:
		return v[0], nil
	default:
		return "", fmt.Errorf("%w: %d %s headers", ErrResponseSignature, len(v), name)
	}
}

// parseSignatureHeader reads keyid="…", algorithm="…", headers="…",
// signature="…": each of the four exactly once, in any order, nothing
// else, values without quotes or backslashes.
func parseSignatureHeader(s string) (map[string]string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: malformed %s header: %s", ErrResponseSignature, SignatureHeader, why)
	}
	params := map[string]string{}
	rest := s
	for {
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return nil, bad("a parameter is not name=\"value\"")
		}
		name := rest[:eq]
		switch name {
		case "keyid", "algorithm", "headers", "signature":
		default:
			return nil, bad(fmt.Sprintf("unknown parameter %q", name))
		}
		if _, dup := params[name]; dup {
			return nil, bad(name + " twice")
		}
		rest = rest[eq+2:]
		end := strings.IndexByte(rest, '"')
		if end < 0 {
			return nil, bad("unterminated " + name)
		}
		val := rest[:end]
		if strings.ContainsAny(val, "\\") {
			return nil, bad("escapes are not accepted")
		}
		params[name] = val
		rest = rest[end+1:]
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, bad("parameters are separated by commas")
		}
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if len(params) != 4 {
		return nil, bad("keyid, algorithm, headers and signature are required")
	}
	return params, nil
}

// validNonce accepts what the server accepts: 1 to 256 characters from
// 0x21 to 0x7E.
func validNonce(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// bodyDigest is the Digest header's value for body.
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// signingString is the signed text: one "name: value" line per entry of
// SignedHeaders, joined by "\n", no trailing newline.
func signingString(method, target, date, digest, nonce string) string {
	return "(request-target): " + strings.ToLower(method) + " " + target + "\n" +
		"date: " + date + "\n" +
		"digest: " + digest + "\n" +
		"nonce: " + nonce
}

// WithSignedResponses makes the client ask for a signed answer on every
// runtime call (Validate.License, Validate.HasPaid, Injectables.Stream,
// seat heartbeats), each with a fresh nonce, and verify it with v before
// reading it, errors and 429s included. A call whose answer does not
// verify fails with ErrResponseSignature and is not retried. v needs Keys
// (a KeySet shipped with the application, or the server's JWK Set).
func WithSignedResponses(v *Verifier) Option {
	return func(c *Client) { c.verifier = v }
}

// signRequest adds the opt-in and a fresh nonce to req, when the client
// verifies signed answers and r is a runtime call; it returns the nonce
// ("" when unsigned).
func (c *Client) signRequest(r *request, req *http.Request) (string, error) {
	if !r.signed || c.verifier == nil {
		return "", nil
	}
	nonce, err := NewNonce()
	if err != nil {
		return "", err
	}
	req.Header.Set(SignatureRequestHeader, SignatureVersion)
	req.Header.Set(NonceHeader, nonce)
	return nonce, nil
}
