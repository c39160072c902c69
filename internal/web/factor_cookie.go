package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Second factors keep their in-between state in cookies sealed with the
// instance secret (Deps.Reveal), like a new key's secret on its way to its
// page: the half-done sign-in (password right, factor not yet given) and a
// WebAuthn ceremony's challenge. Every node sharing the database can open
// them, no node stores them, and each carries its own expiry.

var errSealedExpired = errors.New("web: sealed cookie expired or unreadable")

// setSealed seals v into cookie name for maxAge.
func (d *dashboard) setSealed(w http.ResponseWriter, r *http.Request, name string, v any, maxAge time.Duration) error {
	b, err := json.Marshal(sealedEnvelope{Expires: d.now().Add(maxAge).Unix(), Value: v})
	if err != nil {
		return err
	}
	d.setCookie(w, r, name, base64.RawURLEncoding.EncodeToString(d.reveal.Seal(b)), maxAge)
	return nil
}

type sealedEnvelope struct {
	Expires int64 `json:"e"`
	Value   any   `json:"v"`
}

// openSealed opens cookie name into v; errSealedExpired when it is missing,
// forged or past its expiry.
func (d *dashboard) openSealed(r *http.Request, name string, v any) error {
	c, err := r.Cookie(name)
	if err != nil {
		return errSealedExpired
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return errSealedExpired
	}
	b, err := d.reveal.Open(raw)
	if err != nil {
		return errSealedExpired
	}
	env := struct {
		Expires int64           `json:"e"`
		Value   json.RawMessage `json:"v"`
	}{}
	if json.Unmarshal(b, &env) != nil || d.now().Unix() >= env.Expires || json.Unmarshal(env.Value, v) != nil {
		return errSealedExpired
	}
	return nil
}
