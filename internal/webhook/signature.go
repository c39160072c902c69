// Package webhook holds the server's side of webhook deliveries: endpoint
// secrets and the signature every delivery carries. Receivers verify it
// with the SDK's client/webhook, or with ten lines of any language
// (docs/webhooks.md).
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature.
const SignatureHeader = "Latchkey-Signature"

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new endpoint secret: "whsec_" and 32 random bytes,
// base64url. The whole string is the HMAC key.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign returns the signature header of body at t: "t=<unix>" and one
// "v1=<hex HMAC-SHA256(secret, t + "." + body)>" per secret (several while
// an endpoint's secret is being rotated, newest first).
func Sign(body []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(m.Sum(nil)))
	}
	return b.String()
}
