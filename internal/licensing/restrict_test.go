package licensing

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewKey(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	now := time.Date(2025, 12, 4, 10, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		k := NewKey(now.Add(time.Duration(i) * time.Millisecond))
		if !re.MatchString(k) {
			t.Fatalf("%q is not a UUIDv7", k)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
		if k[:13] < prev[:min(13, len(prev))] {
			t.Fatalf("keys do not sort by time: %s after %s", k, prev)
		}
		prev = k
	}
	// The timestamp is the first 48 bits.
	if got := NewKey(time.UnixMilli(0x019ae9f418b2)); !strings.HasPrefix(got, "019ae9f4-18b2-7") {
		t.Fatalf("timestamp bits: %s", got)
	}
	if string(KeyDigest(" 019AE9F4-18B2-706B-B728-3F77C6BD9217 ")) != string(KeyDigest("019ae9f4-18b2-706b-b728-3f77c6bd9217")) {
		t.Fatal("digest depends on case or spaces")
	}
}

func TestCountries(t *testing.T) {
	if len(countries) != 250 {
		t.Fatalf("%d codes, want 249 ISO codes + XK", len(countries))
	}
	got, bad := ParseCountries("ng, US ,GB,,")
	if bad != "" || strings.Join(got, ",") != "NG,US,GB" {
		t.Fatalf("got %v, bad %q", got, bad)
	}
	for _, in := range []string{"NG, UK", "USA", "N1", "ZZ"} {
		if _, bad := ParseCountries(in); bad == "" {
			t.Fatalf("%q accepted", in)
		}
	}
}

func TestIPList(t *testing.T) {
	got, bad := ParseIPList("127.0.0.1, 102.90.101.2, 10.0.0.0/8, 2001:db8::1, ::ffff:192.0.2.1")
	if bad != "" || FormatIPList(got) != "127.0.0.1, 102.90.101.2, 10.0.0.0/8, 2001:db8::1, 192.0.2.1" {
		t.Fatalf("got %q, bad %q", FormatIPList(got), bad)
	}
	// Client addresses are compared unmapped, so an IPv4-mapped block is
	// stored as the IPv4 block it means; kept mapped it would match nobody.
	for in, want := range map[string]string{
		"::ffff:10.0.0.0/104":  "10.0.0.0/8",
		"::ffff:192.0.2.1/128": "192.0.2.1",
		"::ffff:0:0/95":        "::fffe:0:0/95", // wider than the mapped range: an IPv6 block
	} {
		if got, bad := ParseIPList(in); bad != "" || FormatIPList(got) != want {
			t.Errorf("ParseIPList(%q) = %q (bad %q), want %q", in, FormatIPList(got), bad, want)
		}
	}
	for _, in := range []string{"1.2.3", "10.0.0.0/33", "localhost", "fe80::1%eth0"} {
		if _, bad := ParseIPList(in); bad == "" {
			t.Fatalf("%q accepted", in)
		}
	}
}

func TestValidHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.com", "example.com", true},
		{"App.Example.COM.", "app.example.com", true},
		{"localhost", "localhost", true},
		{"localhost:3000", "localhost:3000", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"192.168.1.10:8080", "192.168.1.10:8080", true},
		{"[::1]:3000", "[::1]:3000", true},
		{"[2001:DB8::1]:443", "[2001:db8::1]:443", true},
		{"my-site.co.uk", "my-site.co.uk", true},
		{"_dmarc.example.com", "_dmarc.example.com", true},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"example", "", false},
		{"example.com:443", "", false},
		{"-bad.example.com", "", false},
		{"bad-.example.com", "", false},
		{"exa mple.com", "", false},
		{"example..com", "", false},
		{"http://example.com", "", false},
		{"example.com/path", "", false},
		{"1.2.3.4.5", "", false},
		{"::1", "", false},
		{"[::1]", "", false},
		{"localhost:0", "", false},
		{"localhost:65536", "", false},
		{"localhost:08", "", false},
		{"[fe80::1%eth0]:80", "", false},
		{"fp_0123456789abcdef0123456789abcdef", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
	}
	for _, tc := range tests {
		got, ok := ValidHost(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ValidHost(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
