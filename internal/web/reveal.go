package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// A new secret (an API key's, a webhook endpoint's signing secret) is
// shown after Post/Redirect/Get: the create (or rotate) post mints it and
// redirects to the resource's secret page (/api-keys/{id}/secret,
// /webhooks/{id}/secret), which shows it once. Reloading that page repeats
// the GET, never the post, so it mints no second secret.
//
// The secret travels to that page in a cookie sealed with the instance
// secret (Deps.Reveal): every node sharing the database can open it, no
// node stores it, and the page deletes the cookie as it shows the secret.
// The cookie is HttpOnly, scoped to the page's path (two secrets minted in
// two tabs do not overwrite each other's), bound to the session and lives
// a few minutes.
const (
	revealCookie = "latchkey_reveal"
	revealMaxAge = 5 * time.Minute
)

// Sealer seals and opens small values (secret.Box).
type Sealer interface {
	Seal(plaintext []byte) []byte
	Open(sealed []byte) ([]byte, error)
}

// reveal is what a secret page needs and cannot read from the store.
type reveal struct {
	Session  string     `json:"s"` // hex of the session's digest
	Page     string     `json:"p"` // the secret page it is for
	Secret   string     `json:"x"`
	Rotated  bool       `json:"r,omitempty"`
	OldUntil *time.Time `json:"u,omitempty"` // rotation: until when the old secret still works
	Expires  int64      `json:"e"`
}

// setReveal hands a new secret to its page (rv.Page) and redirects there.
func (d *dashboard) setReveal(w http.ResponseWriter, r *http.Request, rv reveal) error {
	res, err := d.sealReveal(r, rv)
	if err != nil {
		return err
	}
	return d.sendReveal(w, r, res)
}

// sendReveal sets the sealed secret's cookie and redirects to its page.
func (d *dashboard) sendReveal(w http.ResponseWriter, r *http.Request, res submitted) error {
	d.setPathCookie(w, r, revealCookie, res.page, res.sealed, revealMaxAge)
	return redirect(w, r, res.page)
}

// sealReveal seals what the secret page rv.Page needs, binding it to this
// session and a few minutes.
func (d *dashboard) sealReveal(r *http.Request, rv reveal) (submitted, error) {
	rv.Session = hex.EncodeToString(sessionOf(r).Session.Digest)
	rv.Expires = d.now().Add(revealMaxAge).Unix()
	b, err := json.Marshal(rv)
	if err != nil {
		return submitted{}, err
	}
	return submitted{page: rv.Page, sealed: base64.RawURLEncoding.EncodeToString(d.reveal.Seal(b))}, nil
}

// takeReveal returns the secret handed to the secret page at page in this
// session, and deletes it: false when there is none (already shown,
// expired, another session's, another page's).
func (d *dashboard) takeReveal(w http.ResponseWriter, r *http.Request, page string) (*reveal, bool) {
	c, err := r.Cookie(revealCookie)
	if err != nil {
		return nil, false
	}
	d.setPathCookie(w, r, revealCookie, page, "", -1)
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, false
	}
	b, err := d.reveal.Open(sealed)
	if err != nil {
		return nil, false
	}
	var rv reveal
	if json.Unmarshal(b, &rv) != nil || rv.Page != page || d.now().Unix() >= rv.Expires ||
		subtle.ConstantTimeCompare([]byte(rv.Session), []byte(hex.EncodeToString(sessionOf(r).Session.Digest))) != 1 {
		return nil, false
	}
	return &rv, true
}

// setPathCookie is setCookie for a cookie sent to one path only.
func (d *dashboard) setPathCookie(w http.ResponseWriter, r *http.Request, name, path, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: d.secureCookie(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// processSealer is the Sealer of a dashboard built without one: a random
// key, valid in this process only (one node).
type processSealer struct{ aead cipher.AEAD }

func newProcessSealer() Sealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key) // a 32-byte key is always valid
	aead, _ := cipher.NewGCM(block)
	return processSealer{aead}
}

func (s processSealer) Seal(plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, nil)
}

func (s processSealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], nil)
}
