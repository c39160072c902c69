package keys

import (
	"crypto/sha256"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
)

func TestMintFormat(t *testing.T) {
	seen := map[string]bool{}
	for _, env := range []string{core.EnvLive, core.EnvTest} {
		for range 200 {
			m := Mint(env)
			if !strings.HasPrefix(m.Secret, "sk_"+env+"_") || len(m.Secret) != SecretLen {
				t.Fatalf("secret %q has the wrong shape", m.Secret)
			}
			if !Valid(m.Secret) {
				t.Fatalf("minted secret %q is not Valid", m.Secret)
			}
			if !Pattern.MatchString("token=" + m.Secret + ";") {
				t.Fatalf("Pattern misses %q", m.Secret)
			}
			if !ValidPublicID(m.PublicID) || !strings.HasPrefix(m.PublicID, "pk_"+env+"_") {
				t.Fatalf("public id %q has the wrong shape", m.PublicID)
			}
			if d := sha256.Sum256([]byte(m.Secret)); string(d[:]) != string(m.Digest) {
				t.Fatal("digest is not the SHA-256 of the secret")
			}
			if m.Last4 != m.Secret[len(m.Secret)-4:] {
				t.Fatal("last4 is wrong")
			}
			if Env(m.Secret) != env || Env(m.PublicID) != env {
				t.Fatalf("Env(%q) != %q", m.Secret, env)
			}
			if seen[m.Secret] || seen[m.PublicID] {
				t.Fatal("minted a duplicate")
			}
			seen[m.Secret], seen[m.PublicID] = true, true
		}
	}
}

func TestValidRejects(t *testing.T) {
	good := Mint(core.EnvLive).Secret
	flip := []byte(good)
	// Change one character of the random part to another base62 character.
	if flip[10] == 'a' {
		flip[10] = 'b'
	} else {
		flip[10] = 'a'
	}
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"prefix only", "sk_live_"},
		{"wrong prefix", "sk_prod_" + good[8:]},
		{"public id", Mint(core.EnvLive).PublicID},
		{"too short", good[:len(good)-1]},
		{"too long", good + "0"},
		{"non-base62", good[:20] + "-" + good[21:]},
		{"bad checksum", string(flip)},
		{"devpayr style", "gk_1_1764854584_8df72c5f159622ddf04c8a7e0590fb79"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if Valid(tc.in) {
				t.Fatalf("Valid(%q) = true", tc.in)
			}
		})
	}
}

func TestRandomStringUniform(t *testing.T) {
	counts := map[byte]int{}
	const n = 62 * 2000
	for _, c := range []byte(randomString(n)) {
		counts[c]++
	}
	if len(counts) != 62 {
		t.Fatalf("saw %d distinct characters, want 62", len(counts))
	}
	for c, k := range counts {
		// Expected 2000 each; a biased generator (plain b%62) gives the
		// first 8 characters about 2.3% more, well inside this band, so this
		// only guards against gross errors such as a missing alphabet range.
		if k < 1700 || k > 2300 {
			t.Fatalf("character %q appeared %d times, want about 2000", c, k)
		}
	}
}

func BenchmarkValid(b *testing.B) {
	s := Mint(core.EnvLive).Secret
	for b.Loop() {
		if !Valid(s) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	s := Mint(core.EnvLive).Secret
	for b.Loop() {
		_ = Digest(s)
	}
}

// TestChecksumMatchesCRC32: the table loop computes crc32.ChecksumIEEE.
func TestChecksumMatchesCRC32(t *testing.T) {
	for _, body := range []string{"", "a", "sk_live_0123456789", strings.Repeat("xyz", 50), "\x00\xff"} {
		v := crc32.ChecksumIEEE([]byte(body))
		var want [checksumLen]byte
		for i := checksumLen - 1; i >= 0; i-- {
			want[i] = base62[v%62]
			v /= 62
		}
		if got := checksumBytes(body); got != want {
			t.Fatalf("%q: %q, want %q", body, got, want)
		}
	}
}
