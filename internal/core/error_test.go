package core

import (
	"net/http"
	"testing"
)

// TestHTTPStatus pins the one code → status table every transport uses.
func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code   string
		status int
		reason string
	}{
		{EInvalid, http.StatusUnprocessableEntity, "VALIDATION_ERROR"},
		{EBadRequest, http.StatusBadRequest, "BAD_REQUEST"},
		{EUnauthorized, http.StatusUnauthorized, "UNAUTHENTICATED"},
		{EForbidden, http.StatusForbidden, "FORBIDDEN"},
		{ENotFound, http.StatusNotFound, "NOT_FOUND"},
		{EConflict, http.StatusConflict, "CONFLICT"},
		{ETooLarge, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
		{ERateLimited, http.StatusTooManyRequests, "RATE_LIMITED"},
		{EUnavailable, http.StatusServiceUnavailable, "UNAVAILABLE"},
		{EInternal, http.StatusInternalServerError, "INTERNAL"},
		{"no such code", http.StatusInternalServerError, "INTERNAL"},
		{"", http.StatusInternalServerError, "INTERNAL"},
	}
	for _, tt := range tests {
		if got := HTTPStatus(tt.code); got != tt.status {
			t.Errorf("HTTPStatus(%q) = %d, want %d", tt.code, got, tt.status)
		}
		if got := DefaultReason(tt.code); got != tt.reason {
			t.Errorf("DefaultReason(%q) = %q, want %q", tt.code, got, tt.reason)
		}
	}
	if len(transport) != len(tests)-2 {
		t.Errorf("the table has %d codes, the test %d", len(transport), len(tests)-2)
	}
}
