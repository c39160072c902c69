package service_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// FuzzParseAllowedIPs: an API key's allowed_ips, one entry per array
// item. Parsing never panics; every non-blank entry is either accepted or
// named in a 422 on the field (whose message is valid UTF-8 for valid
// UTF-8 input); accepted blocks are masked, survive their stored text
// form, and are never IPv4-mapped IPv6 blocks, which no client address
// (compared unmapped) could match.
func FuzzParseAllowedIPs(f *testing.F) {
	for _, s := range []string{
		"", " ", "\x00", "\xff\xfe", strings.Repeat("é", 200), "%%%%", "9223372037", strings.Repeat("1", 10000),
		"1.2.3.4", "10.0.0.0/8", "10.1.2.3/8", "2001:db8::/32", "fe80::1%eth0", "fe80::/10%eth0", "::ffff:1.2.3.4",
		"::ffff:1.2.3.4/128", "::ffff:10.0.0.0/104", "1.2.3.4/33",
	} {
		f.Add(s, "192.0.2.1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		p := core.Problems{}
		out := service.ParseAllowedIPs(p, "allowed_ips", []string{a, b})
		blank := 0
		for _, s := range []string{a, b} {
			if strings.TrimSpace(s) == "" {
				blank++
			}
		}
		if len(out)+len(p["allowed_ips"]) != 2-blank {
			t.Fatalf("%q, %q: %d accepted and %d problems", a, b, len(out), len(p["allowed_ips"]))
		}
		for _, m := range p["allowed_ips"] {
			if utf8.ValidString(a+b) && !utf8.ValidString(m) {
				t.Fatalf("message %q is invalid UTF-8", m)
			}
		}
		for _, pf := range out {
			if pf != pf.Masked() {
				t.Fatalf("%v is not masked", pf)
			}
			if pf.Addr().Is4In6() && pf.Bits() >= 96 {
				t.Fatalf("kept the IPv4-mapped block %v, which no client address matches", pf)
			}
			again := service.ParseAllowedIPs(core.Problems{}, "allowed_ips", []string{pf.String()})
			if len(again) != 1 || again[0] != pf {
				t.Fatalf("%v does not survive its text form: %v", pf, again)
			}
		}
	})
}
