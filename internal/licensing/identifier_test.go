package licensing

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct{ in, want string }{
		{" Shop.Example.COM. ", "shop.example.com"},
		{"localhost:3000", "localhost:3000"},
		{strings.Repeat("a", 300), strings.Repeat("a", 255)},
		// 200 × "é" is 400 bytes; a cut at byte 255 would split the 128th
		// character and leave invalid UTF-8, which PostgreSQL refuses.
		{strings.Repeat("é", 200), strings.Repeat("é", 127)},
		{strings.Repeat("É", 200), strings.Repeat("é", 127)},
		{"a" + strings.Repeat("☕", 100), "a" + strings.Repeat("☕", 84)},
		// Every trailing dot and space goes, not only the last one, so a
		// normalised identifier normalises to itself (what is stored is
		// matched again as sent).
		{"example.com..", "example.com"},
		{"Example.COM . \t", "example.com"},
		{"example.com.\u00a0", "example.com"},
		{".", ""},
		{" . . ", ""},
		{".example.com", ".example.com"},
		// The cut at 255 bytes can itself leave a trailing space or dot.
		{strings.Repeat("a", 254) + " b", strings.Repeat("a", 254)},
		{strings.Repeat("a", 254) + ".b", strings.Repeat("a", 254)},
		{strings.Repeat("é", 127) + " é", strings.Repeat("é", 127)},
	}
	for _, tc := range tests {
		got := NormalizeIdentifier(tc.in)
		if got != tc.want {
			t.Errorf("NormalizeIdentifier(%.20q…) = %.20q… (%d bytes), want %d bytes", tc.in, got, len(got), len(tc.want))
		}
		if again := NormalizeIdentifier(got); again != got {
			t.Errorf("NormalizeIdentifier(%.20q…) = %.20q…, which normalises again to %.20q…", tc.in, got, again)
		}
		if !utf8.ValidString(got) || len(got) > 255 {
			t.Errorf("NormalizeIdentifier(%.20q…): %d bytes, valid UTF-8 %v", tc.in, len(got), utf8.ValidString(got))
		}
	}
}
