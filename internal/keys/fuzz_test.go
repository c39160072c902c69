package keys

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
)

// FuzzValid: any string a client sends as an API key (X-API-KEY, Bearer,
// X-Secret-Key). Valid and the helpers never panic; what Valid accepts is
// exactly SecretLen ASCII bytes with a known prefix, is found by the
// scanner Pattern, and stops being valid when any one character after
// the prefix is changed (the checksum catches every single-character
// edit). ValidPublicID accepts only the pk_ shape.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		"", "\x00", "\xff\xfe", strings.Repeat("é", 200), "%%%%", "9223372037", strings.Repeat("a", 10000),
		"sk_live_", "sk_test_" + strings.Repeat("0", 38), "pk_live_" + strings.Repeat("A", 24),
		"sk_live_" + strings.Repeat("é", 19), Mint(core.EnvLive).Secret, Mint(core.EnvTest).Secret,
		Mint(core.EnvLive).Secret + "\x00", " " + Mint(core.EnvLive).Secret,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = Env(s)
		if ValidPublicID(s) && (len(s) != prefixLen+publicLen || !strings.HasPrefix(s, "pk_")) {
			t.Fatalf("ValidPublicID accepted %q", s)
		}
		if !Valid(s) {
			return
		}
		if len(s) != SecretLen || !strings.HasPrefix(s, "sk_live_") && !strings.HasPrefix(s, "sk_test_") {
			t.Fatalf("Valid accepted %q: wrong shape", s)
		}
		if !Pattern.MatchString(" " + s + " ") {
			t.Fatalf("Pattern misses valid %q", s)
		}
		for i := prefixLen; i < len(s); i++ {
			c := byte('a')
			if s[i] == 'a' {
				c = 'b'
			}
			if Valid(s[:i] + string(c) + s[i+1:]) {
				t.Fatalf("Valid still accepts %q with character %d changed", s, i)
			}
		}
	})
}

// FuzzChecksumRoundTrip: mint → parse. A key built the way Mint builds
// one, from any 32 base62 characters, is Valid, matched by Pattern, and
// reports its environment; the checksum is always six base62 characters.
func FuzzChecksumRoundTrip(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuv"), false)
	f.Add([]byte{}, true)
	f.Add([]byte("\x00\xff\xfe"), false)
	f.Add([]byte(strings.Repeat("é", 200)), true)
	f.Fuzz(func(t *testing.T, data []byte, test bool) {
		env := core.EnvLive
		if test {
			env = core.EnvTest
		}
		random := make([]byte, randomLen)
		for i := range random {
			if i < len(data) {
				random[i] = base62[int(data[i])%62]
			} else {
				random[i] = '0'
			}
		}
		body := "sk_" + env + "_" + string(random)
		sum := checksum(body)
		if len(sum) != checksumLen || strings.Trim(sum, base62) != "" {
			t.Fatalf("checksum(%q) = %q", body, sum)
		}
		secret := body + sum
		if !Valid(secret) || !Pattern.MatchString(secret) || Env(secret) != env {
			t.Fatalf("%q does not parse back (Valid %v, Env %q)", secret, Valid(secret), Env(secret))
		}
		if d := Display(env, secret[len(secret)-4:]); !strings.HasSuffix(d, secret[len(secret)-4:]) {
			t.Fatalf("Display = %q", d)
		}
	})
}
