package core

import (
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
