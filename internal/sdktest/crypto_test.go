package sdktest_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/licensing"
)

// The client implements the reading side of the injectable format and the
// proof format (it may not import the server, and the server has no copy:
// its tests use these); these tests hold it to the server's writing side in
// internal/licensing.

func TestDecryptMatchesServerEncryption(t *testing.T) {
	secret := "s3cret-injectable"
	for n := range 70 {
		plain := make([]byte, n)
		rand.Read(plain)
		payload, err := licensing.EncryptInjectable(secret, plain)
		if err != nil {
			t.Fatal(err)
		}
		sig := licensing.SignInjectable(secret, payload)
		if !client.VerifyInjectableSignature(secret, payload, sig) {
			t.Fatalf("%d bytes: the server's signature does not verify", n)
		}
		got, err := client.DecryptInjectable(secret, payload)
		if err != nil || string(got) != string(plain) {
			t.Fatalf("%d bytes: got %x, %v; want %x", n, got, err, plain)
		}
		d := client.Delivery{EncryptedContent: payload, Signature: sig, ContentHash: licensing.ContentHash(plain)}
		if got, err := d.Decrypt(secret); err != nil || string(got) != string(plain) {
			t.Fatalf("%d bytes: Delivery.Decrypt = %x, %v", n, got, err)
		}
		if _, err := d.Decrypt(secret + "x"); !errors.Is(err, client.ErrInjectableSignature) {
			t.Fatalf("wrong secret: %v, want ErrInjectableSignature", err)
		}
	}
}

func TestDecryptRefusals(t *testing.T) {
	secret := "s3cret-injectable"
	payload, _ := licensing.EncryptInjectable(secret, []byte("console.log(1)"))
	sig := licensing.SignInjectable(secret, payload)
	raw, _ := base64.StdEncoding.DecodeString(payload)

	for name, p := range map[string]string{
		"not base64":       "%%%",
		"no separator":     base64.StdEncoding.EncodeToString([]byte("0123456789abcdefXXYWJj")),
		"short IV":         base64.StdEncoding.EncodeToString([]byte("0123::" + base64.StdEncoding.EncodeToString(make([]byte, 16)))),
		"partial block":    base64.StdEncoding.EncodeToString(append(raw[:18:18], base64.StdEncoding.EncodeToString(make([]byte, 15))...)),
		"empty":            "",
		"bad ciphertext64": base64.StdEncoding.EncodeToString(append(raw[:18:18], "!!"...)),
	} {
		if _, err := client.DecryptInjectable(secret, p); !errors.Is(err, client.ErrInjectableMalformed) {
			t.Errorf("%s: %v, want ErrInjectableMalformed", name, err)
		}
	}
	// Uppercase hex is refused, as by the SDKs' hash_equals.
	if client.VerifyInjectableSignature(secret, payload, strings.ToUpper(sig)) {
		t.Error("uppercase signature accepted")
	}
	d := client.Delivery{EncryptedContent: payload, Signature: sig, ContentHash: licensing.ContentHash([]byte("something else"))}
	if _, err := d.Decrypt(secret); !errors.Is(err, client.ErrInjectableDecrypt) {
		t.Errorf("content hash mismatch: %v, want ErrInjectableDecrypt", err)
	}
	// Without the signature check, a wrong secret usually fails the padding.
	failures := 0
	for i := range 64 {
		if _, err := client.DecryptInjectable(secret+strings.Repeat("!", i+1), payload); errors.Is(err, client.ErrInjectableDecrypt) {
			failures++
		}
	}
	if failures < 48 {
		t.Errorf("only %d of 64 wrong secrets failed to unpad", failures)
	}
}

func TestVerifyProofMatchesServerSigning(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if client.KeyID(pub) != licensing.KeyID(pub) {
		t.Fatalf("KeyID %s, server %s", client.KeyID(pub), licensing.KeyID(pub))
	}
	now := time.Unix(1_800_000_000, 0)
	lexp := now.Add(30 * 24 * time.Hour).Unix()
	token := licensing.SignProof(priv, licensing.Proof{LicenseID: 42, ProjectID: 7, Domain: "shop.example.com",
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(), LicenseExpiresAt: &lexp, Test: true})

	p, err := client.VerifyProof(pub, token, now.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if p.LicenseID != 42 || p.ProjectID != 7 || p.Domain != "shop.example.com" || !p.Test || p.KeyID != licensing.KeyID(pub) ||
		!p.IssuedAt.Equal(now) || !p.ExpiresAt.Equal(now.Add(time.Hour)) || p.LicenseExpiresAt == nil || p.LicenseExpiresAt.Unix() != lexp {
		t.Fatalf("proof %+v", p)
	}
	// exp is exclusive, as on the server.
	if p, err := client.VerifyProof(pub, token, now.Add(time.Hour)); !errors.Is(err, client.ErrProofExpired) || p == nil {
		t.Fatalf("at exp: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := client.VerifyProof(other, token, now); !errors.Is(err, client.ErrProofSignature) {
		t.Fatalf("other key: %v", err)
	}
	parts := strings.Split(token, ".")
	forged := licensing.SignProof(priv, licensing.Proof{LicenseID: 42, ProjectID: 8, ExpiresAt: now.Add(time.Hour).Unix()})
	spliced := parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
	for name, tok := range map[string]string{"spliced payload": spliced} {
		if _, err := client.VerifyProof(pub, tok, now); !errors.Is(err, client.ErrProofSignature) {
			t.Errorf("%s: %v, want ErrProofSignature", name, err)
		}
	}
	for name, tok := range map[string]string{
		"two parts":     parts[0] + "." + parts[1],
		"other version": "lkp2." + parts[1] + "." + parts[2],
		"short sig":     parts[0] + "." + parts[1] + ".AAAA",
		"garbage":       "not a token",
	} {
		if _, err := client.VerifyProof(pub, tok, now); !errors.Is(err, client.ErrProofMalformed) {
			t.Errorf("%s: %v, want ErrProofMalformed", name, err)
		}
	}
	// A correctly signed payload of another type is refused too.
	signed := "lkp1." + base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"session","exp":9999999999}`))
	odd := signed + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(signed)))
	if _, err := client.VerifyProof(pub, odd, now); !errors.Is(err, client.ErrProofMalformed) {
		t.Errorf("other typ: %v, want ErrProofMalformed", err)
	}
}
