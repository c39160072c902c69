package httpapi

import (
	"net/http"
	"testing"
)

// BenchmarkHasPaidReply measures encoding DevPayr's runtime answer into
// the envelope, as every validation does.
func BenchmarkHasPaidReply(b *testing.B) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		_ = ok(w, http.StatusOK, "", hasPaidData{HasPaid: true, Code: "VALID"})
	}
}
