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
	}
	for _, tc := range tests {
		got := NormalizeIdentifier(tc.in)
		if got != tc.want {
			t.Errorf("NormalizeIdentifier(%.20q…) = %.20q… (%d bytes), want %d bytes", tc.in, got, len(got), len(tc.want))
		}
		if !utf8.ValidString(got) || len(got) > 255 {
			t.Errorf("NormalizeIdentifier(%.20q…): %d bytes, valid UTF-8 %v", tc.in, len(got), utf8.ValidString(got))
		}
	}
}
