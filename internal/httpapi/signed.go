package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Signed responses (issue 16; docs/signed-responses.md). A copy that asks
// for it gets every answer of the runtime routes signed with the
// instance's active signing key, over the request it sent, the answer's
// Date and body, and a nonce of its own: a proxy, a hosts-file redirect or
// a fake server cannot forge a "valid", nor replay yesterday's one.

// The headers of the scheme.
const (
	// SignatureRequestHeader opts in; its one accepted value is
	// SignatureVersion. Clients that cannot set headers send signed=1.
	SignatureRequestHeader = "Latchkey-Signature-Request"
	SignatureVersion       = "v1"
	// NonceHeader carries the client's nonce (or the nonce query
	// parameter). It is signed, never echoed: the client checks the
	// signature against the nonce it sent.
	NonceHeader = "Latchkey-Nonce"
	// SignatureHeader carries the signature.
	SignatureHeader = "Latchkey-Signature"
	// SignedHeaders is the headers parameter of every signature: the
	// lines of the signing string, in order.
	SignedHeaders = "(request-target) date digest nonce"
	// MaxNonceLength bounds the nonce; it must hold 16 random bytes in any
	// encoding with room to spare.
	MaxNonceLength = 256
)

// signatureExposed are the answer's headers a browser page must be allowed
// to read to verify it; added to the CORS expose list of signed answers
// only, so unsigned ones keep today's headers.
const signatureExposed = "Date, Digest, " + SignatureHeader

// signed wraps a runtime route's handler (the whole chain, so that its
// errors and 429s are signed too) in the opt-in signature. Without the
// opt-in it costs one header lookup and, when there is a query, one
// substring search, and the answer is untouched.
func (h *api) signed(a adapter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || !signatureAsked(r) {
			next.ServeHTTP(w, r)
			return
		}
		nonce, err := signatureNonce(r)
		if err != nil {
			// Refused before any work: nothing counted, nothing signed (a
			// bad nonce cannot go into a signing string).
			a.wrap(func(http.ResponseWriter, *http.Request) error { return err }).ServeHTTP(w, r)
			return
		}
		signer, err := h.svc.Signer(r.Context())
		if err != nil {
			// Before the handler runs: a request the server cannot sign the
			// answer of has no side effect either.
			a.wrap(func(http.ResponseWriter, *http.Request) error { return err }).ServeHTTP(w, r)
			return
		}
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		rec := &bufferedResponse{header: w.Header(), body: buf}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		date := h.now().UTC().Format(http.TimeFormat)
		digest := bodyDigest(buf.Bytes())
		sig := signer.Sign([]byte(signingString(r.Method, requestTarget(r), date, digest, nonce)))
		hd := w.Header()
		hd.Set("Date", date)
		hd.Set("Digest", digest)
		hd.Set(SignatureHeader, signatureValue(signer, sig))
		if exp := hd.Get("Access-Control-Expose-Headers"); exp != "" {
			hd.Set("Access-Control-Expose-Headers", exp+", "+signatureExposed)
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(buf.Bytes()) // the client is gone: nothing to do
	})
}

// signatureAsked reports whether r opts in, by the header or by the signed
// query parameter. A malformed opt-in counts as one, so that it is refused
// by signatureNonce rather than answered unsigned.
func signatureAsked(r *http.Request) bool {
	if _, ok := r.Header[SignatureRequestHeader]; ok {
		return true
	}
	return r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "signed") && r.URL.Query().Has("signed")
}

// signatureNonce checks the opt-in and returns the nonce. Every problem is
// a 422 naming the field as the client sent it: the header's name, or the
// query parameter's; a missing nonce is "nonce".
func signatureNonce(r *http.Request) (string, error) {
	p := core.Problems{}
	if v, ok := r.Header[SignatureRequestHeader]; ok && (len(v) != 1 || v[0] != SignatureVersion) {
		p.Add(SignatureRequestHeader, "The "+SignatureRequestHeader+" header must be "+SignatureVersion+", the one signature scheme this server speaks.")
	}
	q := r.URL.Query()
	if v, ok := q["signed"]; ok && (len(v) != 1 || v[0] != "1") {
		p.Add("signed", "The signed field must be 1 to ask for a signed response.")
	}
	nonce, field := "", "nonce"
	if v, ok := r.Header[NonceHeader]; ok {
		field = NonceHeader
		if len(v) == 1 {
			nonce = v[0]
		}
	} else if v := q["nonce"]; len(v) == 1 {
		nonce = v[0]
	}
	if !validNonce(nonce) {
		p.Add(field, "The nonce field is required with a signed response: send 1 to 256 visible ASCII characters (0x21 to 0x7E), once, in "+
			NonceHeader+" or as nonce.")
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	return nonce, nil
}

// validNonce accepts 1 to MaxNonceLength visible ASCII characters: nothing
// that could end a line of the signing string or be read two ways.
func validNonce(s string) bool {
	if s == "" || len(s) > MaxNonceLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestTarget is the path and query as the client sent them (before the
// /v1 alias rewrote the path), which is what the client signs against.
func requestTarget(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// bodyDigest is the Digest header's value for body (RFC 3230).
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// signingString is what is signed: one "name: value" line per entry of
// SignedHeaders, joined by "\n", no trailing newline.
func signingString(method, target, date, digest, nonce string) string {
	return "(request-target): " + strings.ToLower(method) + " " + target + "\n" +
		"date: " + date + "\n" +
		"digest: " + digest + "\n" +
		"nonce: " + nonce
}

// signatureValue is the Latchkey-Signature header's value.
func signatureValue(s *licensing.Signer, sig []byte) string {
	return `keyid="` + s.KID + `", algorithm="ed25519", headers="` + SignedHeaders + `", signature="` +
		base64.StdEncoding.EncodeToString(sig) + `"`
}

// bufferedResponse holds a handler's answer so that it can be signed
// before it is sent. It shares the real writer's header map: what the
// handler sets is what goes out. It deliberately has no Unwrap or Flush: a
// handler must not get past the buffer.
type bufferedResponse struct {
	header http.Header
	status int
	body   *bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
