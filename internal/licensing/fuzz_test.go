package licensing

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// hostileSeeds are the inputs of the outside review (issue 12) that every
// string parser a client reaches is seeded with: NUL bytes, invalid UTF-8,
// 200 × "é" (400 bytes, which a 255-byte cut splits inside a rune),
// malformed percent-encoding, an integer past what a duration holds, and a
// very long string.
var hostileSeeds = []string{
	"",
	" ",
	"\x00",
	"example.com\x00",
	"\xff\xfe",
	"shop.\xc3.example.com",
	strings.Repeat("é", 200), // a cut at 255 bytes splits a rune (issue 12, §3)
	strings.Repeat("é", 200) + ".",
	"%%%%",
	"9223372037",
	strings.Repeat("a", 10000),
	strings.Repeat("a", 254) + " b", // the cut leaves a trailing space…
	strings.Repeat("a", 254) + ".b", // …or a trailing dot, that a second pass strips
	"example.com..",                 // only one trailing dot is stripped per pass
	"Example.COM.",
	"localhost:3000",
	"[::1]:80",
	"İSTANBUL.example.com",
}

// FuzzNormalizeIdentifier: the runtime identifier (X-Devpayr-Domain) is
// any string a client sends. Normalising never panics, keeps at most 255
// bytes, turns valid UTF-8 into valid UTF-8, and is idempotent (a stored,
// normalised identifier normalises to itself, so re-reading it matches).
// The host helpers that run on the result do not panic either.
func FuzzNormalizeIdentifier(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeIdentifier(s)
		if len(n) > 255 {
			t.Fatalf("NormalizeIdentifier kept %d bytes, want at most 255", len(n))
		}
		if utf8.ValidString(s) && !utf8.ValidString(n) {
			t.Fatalf("NormalizeIdentifier(%q) = %q: valid UTF-8 in, invalid out", s, n)
		}
		if again := NormalizeIdentifier(n); again != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, again)
		}
		base := BaseDomain(n)
		if utf8.ValidString(n) && !utf8.ValidString(base) {
			t.Fatalf("BaseDomain(%q) = %q: invalid UTF-8", n, base)
		}
		_ = IsLocal(n)
		_ = MatchDomain([]core.Domain{{Domain: "example.com"}, {Domain: "localhost:3000"}}, n)
	})
}

// FuzzNormalizeKey: a presented license key is trimmed and lower-cased
// before hashing. Normalising is idempotent, the digest is that of the
// normalised key, and a key minted by NewKey (for any instant) is already
// normalised and keeps its digest however a client re-cases or pads it.
func FuzzNormalizeKey(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s, int64(0))
	}
	f.Add("019AE9F4-18B2-706B-B728-3F77C6BD9217", int64(0x019ae9f418b2))
	f.Add(" 019ae9f4-18b2-706b-b728-3f77c6bd9217\n", int64(-1))
	f.Add("9223372037", int64(9223372037))
	f.Fuzz(func(t *testing.T, s string, ms int64) {
		n := NormalizeKey(s)
		if NormalizeKey(n) != n {
			t.Fatalf("NormalizeKey not idempotent on %q", s)
		}
		if string(KeyDigest(s)) != string(KeyDigest(n)) {
			t.Fatalf("digest of %q differs from that of its normal form", s)
		}
		if utf8.ValidString(s) && !utf8.ValidString(n) {
			t.Fatalf("NormalizeKey(%q) = %q: valid UTF-8 in, invalid out", s, n)
		}
		k := NewKey(time.UnixMilli(ms))
		if len(k) != 36 || NormalizeKey(k) != k {
			t.Fatalf("NewKey minted %q, which is not a normalised 36-character key", k)
		}
		if string(KeyDigest(" "+strings.ToUpper(k)+"\t")) != string(KeyDigest(k)) {
			t.Fatalf("digest of %q depends on case or spaces", k)
		}
	})
}

// FuzzParseIPList: a license's allowed_ips. Parsing never panics; it
// either reports an entry of the input as bad and returns nothing, or
// returns masked prefixes that the stored form (FormatIPList) parses back
// to exactly. No accepted entry is an IPv4-mapped IPv6 block: client
// addresses are compared unmapped, so such a block could never match.
func FuzzParseIPList(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"1.2.3.4", "10.0.0.0/8, 192.168.1.7", "2001:db8::/32,::1", "1.2.3.4/33", "fe80::1%eth0",
		"::ffff:1.2.3.4", "::ffff:1.2.3.4/128", "::ffff:10.0.0.0/104", "::ffff:0:0/95", ",,,", " 1.2.3.4 ,\x00",
		"10.1.2.3/8", "01.2.3.4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, bad := ParseIPList(s)
		if bad != "" {
			if ps != nil {
				t.Fatalf("ParseIPList(%q) reported %q and returned %v", s, bad, ps)
			}
			if !strings.Contains(s, bad) {
				t.Fatalf("ParseIPList(%q) reported %q, which is not in the input", s, bad)
			}
			return
		}
		for _, p := range ps {
			if p != p.Masked() {
				t.Fatalf("ParseIPList(%q): %v is not masked", s, p)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				t.Fatalf("ParseIPList(%q) kept the IPv4-mapped block %v, which no client address matches", s, p)
			}
		}
		stored := FormatIPList(ps)
		again, bad := ParseIPList(stored)
		if bad != "" || !slices.Equal(again, ps) {
			t.Fatalf("ParseIPList(%q) = %v, stored as %q, parses back to %v (bad %q)", s, ps, stored, again, bad)
		}
	})
}

// FuzzParseCountries: a license's allowed_countries. Parsing never panics;
// a bad entry is reported as valid UTF-8 (it is quoted in a message);
// accepted codes are valid, and their stored form parses back to them.
func FuzzParseCountries(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	for _, s := range []string{"us", "US, gb ,de", "UK", "EU", "XK", "U\x00S", "us,\xff", "ǅ", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		codes, bad := ParseCountries(s)
		if bad != "" {
			if codes != nil {
				t.Fatalf("ParseCountries(%q) reported %q and returned %v", s, bad, codes)
			}
			if !utf8.ValidString(bad) {
				t.Fatalf("ParseCountries(%q) reported invalid UTF-8 %q", s, bad)
			}
			_ = CountryHint(bad)
			return
		}
		for _, c := range codes {
			if !ValidCountry(c) {
				t.Fatalf("ParseCountries(%q) accepted %q", s, c)
			}
		}
		again, bad := ParseCountries(strings.Join(codes, ", "))
		if bad != "" || !slices.Equal(again, codes) {
			t.Fatalf("ParseCountries(%q) = %v does not survive its stored form: %v, %q", s, codes, again, bad)
		}
	})
}

// FuzzValidHost: a domain registered on a project. Checking never panics;
// an accepted host is printable ASCII, at most 260 bytes, accepted again
// unchanged (normalisation is idempotent), and the host helpers that run
// on it do not panic.
func FuzzValidHost(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	for _, s := range []string{"Example.COM.", "_dmarc.example.com", "1.2.3.4:443", "[2001:DB8::1]:8443", "[::1]", "[fe80::1%25eth0]:80",
		"localhost:0", "localhost:+80", "a.123", "xn--bcher-kva.example", "example.com:65536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ValidHost(s)
		if !ok {
			if h != "" {
				t.Fatalf("ValidHost(%q) refused but returned %q", s, h)
			}
			return
		}
		if len(h) == 0 || len(h) > 260 {
			t.Fatalf("ValidHost(%q) = %q: bad length", s, h)
		}
		for i := 0; i < len(h); i++ {
			if h[i] <= ' ' || h[i] >= 0x7f {
				t.Fatalf("ValidHost(%q) = %q: byte %#x is not printable ASCII", s, h, h[i])
			}
		}
		if again, ok := ValidHost(h); !ok || again != h {
			t.Fatalf("ValidHost not idempotent: %q → %q → %q, %v", s, h, again, ok)
		}
		_ = BaseDomain(h)
		_ = IsLocal(h)
	})
}
