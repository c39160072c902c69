package sdktest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Verifier.LicenseFile against files made by the server's side
// (internal/licensing), good and forged.

const fileLicenseKey = "019ae9f4-18b2-706b-b728-3f77c6bd9217"

var fileNow = time.Unix(1_800_000_000, 0)

func fileClaims() licensing.Claims {
	exp := fileNow.Add(365 * 24 * time.Hour).Unix()
	return licensing.Claims{Issuer: "https://licenses.example.com", Subject: "42", Audience: "7", IssuedAt: fileNow.Unix(),
		NotBefore: fileNow.Unix(), ExpiresAt: fileNow.Add(time.Hour).Unix(), ID: licensing.NewJTI(), Identifier: "shop.example.com",
		Result: licensing.CodeValid, LicenseExpiresAt: &exp,
		License: map[string]any{"id": 42, "project_id": 7, "title": "Acme", "status": "active", "created_at": "2026-01-05T09:30:00Z"}}
}

// rawJWS signs header and claims as given, whatever they say.
func rawJWS(priv ed25519.PrivateKey, header, claims any) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func TestVerifierLicenseFile(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	signer := licensing.NewSigner(priv)
	kid := signer.KID
	v := &client.Verifier{Keys: client.NewKeySet(pub), Now: func() time.Time { return fileNow }, Issuer: "https://licenses.example.com",
		ProjectID: 7, Identifier: "shop.example.com"}
	sign := func(c licensing.Claims) string {
		tok, err := signer.SignJWS(licensing.TypeLicenseFile, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	plain := sign(fileClaims())
	enc, err := licensing.EncryptFile(plain, fileLicenseKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// What verifies: armoured, CRLF-mangled, bare; encrypted with its key;
	// a plain file whatever key is given.
	for name, data := range map[string]string{
		"armoured": licensing.Armor(plain), "crlf": strings.ReplaceAll(licensing.Armor(plain), "\n", "\r\n"), "bare": plain,
	} {
		f, err := v.LicenseFile(ctx, []byte(data), "")
		if err != nil || f.LicenseID != 42 || f.ProjectID != 7 || f.License.Title != "Acme" || f.Encrypted || f.KeyID != kid {
			t.Fatalf("%s: %+v, %v", name, f, err)
		}
	}
	if f, err := v.LicenseFile(ctx, []byte(licensing.Armor(enc)), fileLicenseKey); err != nil || !f.Encrypted || f.ID == "" {
		t.Fatalf("encrypted: %+v, %v", f, err)
	}
	if _, err := v.LicenseFile(ctx, []byte(plain), "some key"); err != nil {
		t.Fatalf("a plain file with a key: %v", err)
	}

	bad := func(mut func(*licensing.Claims)) string {
		c := fileClaims()
		mut(&c)
		return sign(c)
	}
	otherJWE := func(header string) string {
		parts := strings.Split(enc, ".")
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + strings.Join(parts[1:], ".")
	}
	hs := func() string { // HS256 with the public key as the secret: the classic confusion
		h, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": kid, "typ": licensing.TypeLicenseFile})
		p, _ := json.Marshal(fileClaims())
		in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	proof, _ := signer.SignJWS(licensing.TypeProof, fileClaims())
	flipped := []byte(plain)
	flipped[len(plain)/2] ^= 1 // a payload byte
	tests := []struct {
		name string
		data string
		key  string
		want error
	}{
		{"encrypted, no key", enc, "", client.ErrLicenseFileEncrypted},
		{"encrypted, another key", enc, "019ae9f4-18b2-706b-b728-3f77c6bd9218", client.ErrLicenseFileKey},
		{"JWE with another alg", otherJWE(`{"alg":"A256KW","enc":"A256GCM","typ":"license-file+jwe"}`), fileLicenseKey, client.ErrAlgorithm},
		{"JWE with another typ", otherJWE(`{"alg":"dir","enc":"A256GCM","typ":"JWT"}`), fileLicenseKey, client.ErrClaims},
		{"alg none", rawJWS(priv, map[string]string{"alg": "none", "kid": kid, "typ": licensing.TypeLicenseFile}, fileClaims()), "", client.ErrAlgorithm},
		{"HS256 with the public key", hs(), "", client.ErrAlgorithm},
		{"a proof, not a file", proof, "", client.ErrClaims},
		{"a payload byte changed", string(flipped), "", client.ErrProofSignature},
		{"another instance's key", rawJWS(stranger, map[string]string{"alg": "EdDSA", "kid": licensing.NewSigner(stranger).KID, "typ": licensing.TypeLicenseFile}, fileClaims()), "", client.ErrUnknownKey},
		{"expired", bad(func(c *licensing.Claims) { c.ExpiresAt = fileNow.Add(-2 * time.Minute).Unix() }), "", client.ErrProofExpired},
		{"not yet valid", bad(func(c *licensing.Claims) { c.NotBefore = fileNow.Add(time.Hour).Unix() }), "", client.ErrNotYetValid},
		{"another project", bad(func(c *licensing.Claims) { c.Audience = "8" }), "", client.ErrClaims},
		{"another issuer", bad(func(c *licensing.Claims) { c.Issuer = "https://evil.example" }), "", client.ErrClaims},
		{"another domain", bad(func(c *licensing.Claims) { c.Identifier = "pirate.example.net" }), "", client.ErrClaims},
		{"license claim of another license", bad(func(c *licensing.Claims) { c.License = map[string]any{"id": 43, "project_id": 7} }), "", client.ErrClaims},
		{"license claim not an object", bad(func(c *licensing.Claims) { c.License = "42" }), "", client.ErrProofMalformed},
		{"not a file", "hello", "", client.ErrProofMalformed},
		{"no END line", licensing.ArmorBegin + "\n" + plain, "", client.ErrProofMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := v.LicenseFile(ctx, []byte(licensing.Armor(tt.data)), tt.key)
			if tt.data == "hello" || strings.HasPrefix(tt.data, licensing.ArmorBegin) {
				f, err = v.LicenseFile(ctx, []byte(tt.data), tt.key)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, client.ErrProofExpired) && (f == nil || f.LicenseID != 42) {
				t.Fatalf("an expired file comes back decoded: %+v", f)
			}
		})
	}
}
