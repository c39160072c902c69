package core

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidText(t *testing.T) {
	for s, want := range map[string]bool{
		"":                             true,
		"shop.example.com":             true,
		"café ☕":                       true,
		"a\x00b":                       false,
		"a\xffb":                       false,
		strings.Repeat("é", 200)[:255]: false,
	} {
		if got := ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTruncateText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{strings.Repeat("é", 200), 255, strings.Repeat("é", 127)}, // 254 bytes: the 128th "é" would be cut
		{"a☕", 3, "a"},
		{"☕", 2, ""},
	}
	for _, tc := range tests {
		got := TruncateText(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"curl/8.0", "curl/8.0"},
		{"a\xffb", "a\uFFFDb"},
		{"a\x00b", "ab"},
	}
	for _, tc := range tests {
		if got := CleanText(tc.in, 512); got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := CleanText(strings.Repeat("é", 300), 512); len(got) != 512 || !ValidText(got) {
		t.Errorf("CleanText cut to %d bytes, valid %v", len(got), ValidText(got))
	}
}

func TestValidJSONText(t *testing.T) {
	for s, want := range map[string]bool{
		`{"a":"b"}`:        true,
		`{"a":"\u0000"}`:   false,
		`{"a":"\\u0000"}`:  true, // an escaped backslash, then text
		`{"a":"\\\u0000"}`: false,
		`{"\u0000":1}`:     false,
		"{\"a\":\"\xff\"}": false,
	} {
		if got := ValidJSONText([]byte(s)); got != want {
			t.Errorf("ValidJSONText(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in     string
		want   string // the values, url-encoded again
		fields []string
	}{
		{"", "", nil},
		{"a=1&b=caf%C3%A9&a=2&&c", "a=1&a=2&b=caf%C3%A9&c=", nil},
		{"cursor=%%%%&ok=1", "", []string{"cursor"}},
		{"q=a%00b", "", []string{"q"}},
		{"q=a%FFb", "", []string{"q"}},
		{"a%00=1", "", []string{"a%00"}},
		{"%zz=1", "", []string{"%zz"}},
		{"q=a;b", "", []string{"q"}},
		{"x=%zz&y=%00", "", []string{"x", "y"}},
	}
	for _, tc := range tests {
		vals, err := ParseQuery(tc.in)
		if tc.fields == nil {
			if err != nil || vals.Encode() != tc.want {
				t.Errorf("ParseQuery(%q) = %q, %v; want %q", tc.in, vals.Encode(), err, tc.want)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Code != EInvalid || len(ce.Fields) != len(tc.fields) {
			t.Errorf("ParseQuery(%q): %v, want 422 on %v", tc.in, err, tc.fields)
			continue
		}
		for _, f := range tc.fields {
			if len(ce.Fields[f]) == 0 {
				t.Errorf("ParseQuery(%q): %v does not name %q", tc.in, ce.Fields, f)
			}
		}
	}
}
