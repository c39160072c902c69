package licensing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestArmorRoundTrip(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 128, 1000} {
		token := strings.Repeat("a", n/2) + "." + strings.Repeat("b", n-n/2) + ".c"
		armoured := Armor(token)
		lines := strings.Split(strings.TrimSuffix(armoured, "\n"), "\n")
		if lines[0] != ArmorBegin || lines[len(lines)-1] != ArmorEnd || !strings.HasSuffix(armoured, ArmorEnd+"\n") {
			t.Fatalf("%d: boundaries %q", n, armoured)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if len(l) == 0 || len(l) > 64 {
				t.Fatalf("%d: line of %d columns", n, len(l))
			}
		}
		for _, mangled := range []string{armoured, strings.ReplaceAll(armoured, "\n", "\r\n"), "Your license:\n\n  " +
			strings.ReplaceAll(armoured, "\n", "\n  ") + "\nThanks!", token} {
			got, err := Unarmor([]byte(mangled))
			if err != nil || got != token {
				t.Fatalf("%d: unarmour %q = %q, %v", n, mangled, got, err)
			}
		}
	}
	for _, bad := range []string{"", "hello", ArmorBegin + "\nabc.def.ghi\n", ArmorBegin + "\na.b\n" + ArmorEnd, ArmorBegin + "\na.b.c<script>\n" + ArmorEnd,
		ArmorBegin + "\n\x00.b.c\n" + ArmorEnd} {
		if _, err := Unarmor([]byte(bad)); !errors.Is(err, ErrArmor) {
			t.Errorf("Unarmor(%q) = %v, want ErrArmor", bad, err)
		}
	}
}

func TestEncryptFile(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	jws, err := NewSigner(priv).SignJWS(TypeLicenseFile, Claims{Subject: "42", Audience: "7", Result: CodeValid})
	if err != nil {
		t.Fatal(err)
	}
	const key = "019ae9f4-18b2-706b-b728-3f77c6bd9217"
	jwe, err := EncryptFile(jws, key)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwe, ".")
	if len(parts) != 5 || parts[1] != "" {
		t.Fatalf("not a direct-key compact JWE: %q", jwe)
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var hdr map[string]string
	if err := json.Unmarshal(h, &hdr); err != nil || hdr["alg"] != "dir" || hdr["enc"] != "A256GCM" || hdr["cty"] != "JWT" ||
		hdr["typ"] != TypeLicenseFileJWE || len(hdr) != 4 {
		t.Fatalf("header %s", h)
	}
	if got, err := DecryptFile(jwe, key); err != nil || got != jws {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	if again, _ := EncryptFile(jws, key); again == jwe {
		t.Fatal("two encryptions share an IV")
	}
	// Another key, a flipped ciphertext byte, an altered header (the AAD):
	// none opens.
	if _, err := DecryptFile(jwe, "019ae9f4-18b2-706b-b728-3f77c6bd9218"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("another key: %v", err)
	}
	ct, _ := base64.RawURLEncoding.DecodeString(parts[3])
	ct[0] ^= 1
	flipped := strings.Join([]string{parts[0], "", parts[2], base64.RawURLEncoding.EncodeToString(ct), parts[4]}, ".")
	if _, err := DecryptFile(flipped, key); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("flipped byte: %v", err)
	}
	other := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM","cty":"JWT","typ":"x"}`))
	if _, err := DecryptFile(other+strings.TrimPrefix(jwe, parts[0]), key); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("altered header: %v", err)
	}
	for _, bad := range []string{jws, "a..b.c.d", parts[0] + ".x." + strings.Join(parts[2:], ".")} {
		if _, err := DecryptFile(bad, key); !errors.Is(err, ErrArmor) {
			t.Errorf("DecryptFile(%q) = %v, want ErrArmor", bad, err)
		}
	}
}

// TestFileKeyVector pins the derivation (RFC 5869 HKDF-SHA256), so that a
// change that would strand every encrypted file in the wild fails here.
// The vector was computed independently, with Python's hmac module:
// PRK = HMAC(salt, ikm), OKM = HMAC(PRK, info || 0x01).
func TestFileKeyVector(t *testing.T) {
	const want = "9p7oI5WfTKZymZrXLgHRk-6TtT-2GQqzyKDWwC9IxpQ"
	if got := base64.RawURLEncoding.EncodeToString(FileKey("019ae9f4-18b2-706b-b728-3f77c6bd9217")); got != want {
		t.Fatalf("file key %s, want %s", got, want)
	}
}
