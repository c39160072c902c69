package core

import (
	"bytes"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s is text both backends store as sent: valid
// UTF-8 without NUL bytes. PostgreSQL refuses anything else in a text
// column (SQLSTATE 22021) while SQLite keeps it, so every input is checked
// against this rule where it enters, and the store checks it again.
func ValidText(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// ValidJSONText reports whether a JSON text decodes to text ValidText
// accepts: encoding/json silently turns invalid UTF-8 into U+FFFD, and
// decodes a "\u0000" escape to a NUL (which PostgreSQL's JSONB refuses too),
// so the raw bytes are what must be checked.
func ValidJSONText(b []byte) bool {
	return utf8.Valid(b) && !hasNULEscape(b)
}

// hasNULEscape reports whether JSON text holds a "\u0000" escape, as
// opposed to an escaped backslash followed by "u0000".
func hasNULEscape(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		n := 0 // backslashes right before this one
		for k := j - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		i = j + 1
	}
}

// InvalidText is the one answer to a field that breaks ValidText, from the
// API and the dashboard alike.
func InvalidText(field string) *Error {
	return Invalid(field, "The "+strings.ReplaceAll(field, "_", " ")+" field must be valid UTF-8 text without NUL bytes.")
}

// CleanText makes informational text that is not the client's to choose
// (a User-Agent header) storable: invalid bytes become U+FFFD, NUL bytes
// are dropped, and the result is cut to at most n bytes on a character
// boundary.
func CleanText(s string, n int) string {
	if !ValidText(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	}
	return TruncateText(s, n)
}

// TruncateText cuts s to at most n bytes without splitting a UTF-8
// sequence: a cut in the middle of a character would leave invalid UTF-8.
func TruncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ParseQuery parses URL-encoded text (a query string or a form body) as
// url.ParseQuery does, but reports every parameter it cannot read, by
// name: url.ParseQuery returns one error for the whole text, and
// (*url.URL).Query drops the pair without a word, which turned a mangled
// cursor into a silent first page.
func ParseQuery(s string) (url.Values, error) {
	vals := url.Values{}
	var p Problems
	bad := func(field, msg string) {
		if p == nil {
			p = Problems{}
		}
		if !p.Has(field) {
			p.Add(field, msg)
		}
	}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(rawKey)
		val, verr := url.QueryUnescape(rawVal)
		name := key
		if kerr != nil || !ValidText(key) {
			name = printable(rawKey) // named as sent
		}
		label := strings.ReplaceAll(name, "_", " ")
		switch {
		case kerr != nil || verr != nil:
			bad(name, "The "+label+" field is not correctly percent-encoded.")
		case strings.Contains(pair, ";"):
			bad(name, "The "+label+" field must not contain a semicolon: encode it as %3B.")
		case !ValidText(key) || !ValidText(val):
			bad(name, InvalidText(name).Message)
		default:
			vals[key] = append(vals[key], val)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return vals, nil
}

// printable is a field name that can be shown whatever the client sent.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// CheckFormText refuses a form (url-encoded or multipart) holding a value,
// or an uploaded file's name, that ValidText refuses: a 422 naming each
// such field, or unnamed for a field whose own name is bad. files maps a
// field to the names of the files uploaded under it (nil: none).
func CheckFormText(values map[string][]string, files map[string][]string, unnamed string) error {
	p := Problems{}
	check := func(m map[string][]string) {
		for k, vs := range m {
			for _, v := range vs {
				if ValidText(k) && ValidText(v) {
					continue
				}
				field := k
				if !ValidText(field) {
					field = unnamed
				}
				if !p.Has(field) {
					p.Add(field, InvalidText(field).Message)
				}
			}
		}
	}
	check(values)
	check(files)
	return p.Err()
}
