package licensing

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
)

// TestProof signs with the server and verifies with the client's
// VerifyProof, the only verifier there is (customers' copies run it).
func TestProof(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tok := SignProof(priv, Proof{LicenseID: 42, ProjectID: 7, Domain: "shop.example.com", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if !strings.HasPrefix(tok, ProofPrefix+".") || strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q", tok)
	}
	p, err := client.VerifyProof(pub, tok, now)
	if err != nil || p.LicenseID != 42 || p.ProjectID != 7 || p.Domain != "shop.example.com" || p.KeyID != KeyID(pub) {
		t.Fatalf("verify: %+v, %v", p, err)
	}
	if _, err := client.VerifyProof(pub, tok, now.Add(time.Hour)); !errors.Is(err, client.ErrProofExpired) {
		t.Fatalf("expired: %v", err)
	}
	other := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1)).Public().(ed25519.PublicKey)
	if _, err := client.VerifyProof(other, tok, now); !errors.Is(err, client.ErrProofSignature) {
		t.Fatalf("another key: %v", err)
	}
	parts := strings.Split(tok, ".")
	forged := SignProof(priv, Proof{LicenseID: 43, ExpiresAt: now.Add(time.Hour).Unix()})
	swapped := parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
	if _, err := client.VerifyProof(pub, swapped, now); !errors.Is(err, client.ErrProofSignature) {
		t.Fatalf("payload swapped under a signature: %v", err)
	}
	for _, bad := range []string{"", "lkp1", "lkp2." + parts[1] + "." + parts[2], "lkp1.!!." + parts[2], parts[0] + "." + parts[1] + ".AAAA"} {
		if _, err := client.VerifyProof(pub, bad, now); err == nil {
			t.Fatalf("%q verified", bad)
		}
	}
	// A truncated public key (a bad configuration) is an error, not a
	// panic: the server's former copy of the verifier panicked here.
	for _, k := range []ed25519.PublicKey{nil, pub[:16], append(append(ed25519.PublicKey{}, pub...), 0)} {
		if _, err := client.VerifyProof(k, tok, now); !errors.Is(err, client.ErrProofMalformed) {
			t.Fatalf("%d-byte key: %v, want ErrProofMalformed", len(k), err)
		}
	}
}
