package postgres

import (
	"strings"
	"testing"
)

// An installation in the default schema keeps the plain channel and
// listener names (nodes of two versions agree during an upgrade); one in
// another schema gets names of its own, so that installations sharing a
// database never wait on each other's barriers.
func TestScope(t *testing.T) {
	for _, tc := range []struct {
		url, channel, suffix string
	}{
		{"postgres://u@h/db", "latchkey_changes", ""},
		{"postgres://u@h/db?search_path=public", "latchkey_changes", ""},
		{"postgres://u@h/db?search_path=lk_test_ab12", "latchkey_changes_lk_test_ab12", "@lk_test_ab12"},
		{"postgres://u@h/db?search_path=Tenant-1", "latchkey_changes_tenant1", "@tenant1"},
		{"::not a url", "latchkey_changes", ""},
		{"postgres://u@h/db?search_path=" + strings.Repeat("s", 80), "latchkey_changes_" + strings.Repeat("s", 46), "@" + strings.Repeat("s", 46)},
	} {
		s := scopeOf(tc.url)
		if s.channel() != tc.channel || s.suffix() != tc.suffix {
			t.Errorf("%s: channel %q, suffix %q; want %q, %q", tc.url, s.channel(), s.suffix(), tc.channel, tc.suffix)
		}
	}
}
