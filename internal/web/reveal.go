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
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// A new key's secret is shown after Post/Redirect/Get: the create (or
// rotate) post mints the key and redirects to /api-keys/{id}/secret, which
// shows the secret once. Reloading that page repeats the GET, never the
// post, so it creates no second key.
//
// The secret travels to that page in a cookie sealed with the instance
// secret (Deps.Reveal): every node sharing the database can open it, no
// node stores it, and the page deletes the cookie as it shows the secret.
// The cookie is HttpOnly, scoped to the page's path (two keys created in two
// tabs do not overwrite each other's), bound to the session and lives a few
// minutes.
const (
	revealCookie = "latchkey_reveal"
	revealMaxAge = 5 * time.Minute
)

// Sealer seals and opens small values (secret.Box).
type Sealer interface {
	Seal(plaintext []byte) []byte
	Open(sealed []byte) ([]byte, error)
}

// reveal is what the secret page needs and cannot read from the store.
type reveal struct {
	Session  string     `json:"s"` // hex of the session's digest
	KeyID    int64      `json:"k"`
	Secret   string     `json:"x"`
	Rotated  bool       `json:"r,omitempty"`
	OldUntil *time.Time `json:"u,omitempty"` // rotation: when the old key stops working
	Expires  int64      `json:"e"`
}

func revealPath(keyID int64) string { return "/api-keys/" + strconv.FormatInt(keyID, 10) + "/secret" }

// setReveal hands a new secret to its page and redirects there.
func (d *dashboard) setReveal(w http.ResponseWriter, r *http.Request, k *core.APIKey, secret string, old *core.APIKey) error {
	sealed, err := d.sealReveal(r, k, secret, old)
	if err != nil {
		return err
	}
	return d.sendReveal(w, r, k.ID, sealed)
}

// sendReveal sets the sealed secret's cookie and redirects to its page.
func (d *dashboard) sendReveal(w http.ResponseWriter, r *http.Request, keyID int64, sealed string) error {
	d.setPathCookie(w, r, revealCookie, revealPath(keyID), sealed, revealMaxAge)
	return redirect(w, r, revealPath(keyID))
}

// sealReveal seals what the secret page of k needs.
func (d *dashboard) sealReveal(r *http.Request, k *core.APIKey, secret string, old *core.APIKey) (string, error) {
	rv := reveal{Session: hex.EncodeToString(sessionOf(r).Session.Digest), KeyID: k.ID, Secret: secret,
		Expires: d.now().Add(revealMaxAge).Unix()}
	if old != nil {
		rv.Rotated, rv.OldUntil = true, old.ExpiresAt
	}
	b, err := json.Marshal(rv)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(d.reveal.Seal(b)), nil
}

// takeReveal returns the secret handed to key keyID's page in this
// session, and deletes it: false when there is none (already shown,
// expired, another session's).
func (d *dashboard) takeReveal(w http.ResponseWriter, r *http.Request, keyID int64) (*reveal, bool) {
	c, err := r.Cookie(revealCookie)
	if err != nil {
		return nil, false
	}
	d.setPathCookie(w, r, revealCookie, revealPath(keyID), "", -1)
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, false
	}
	b, err := d.reveal.Open(sealed)
	if err != nil {
		return nil, false
	}
	var rv reveal
	if json.Unmarshal(b, &rv) != nil || rv.KeyID != keyID || d.now().Unix() >= rv.Expires ||
		subtle.ConstantTimeCompare([]byte(rv.Session), []byte(hex.EncodeToString(sessionOf(r).Session.Digest))) != 1 {
		return nil, false
	}
	return &rv, true
}

// keySecret is the page that shows a new secret, once.
func (d *dashboard) keySecret(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	rv, ok := d.takeReveal(w, r, k.ID)
	if !ok {
		d.setFlash(w, r, "error", "A key's secret is shown only once, right after it is created or rotated. "+
			"If you did not copy it, rotate the key to get a new one.")
		return redirect(w, r, "/api-keys/"+strconv.FormatInt(k.ID, 10))
	}
	return d.renderSecret(w, r, k, rv)
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
