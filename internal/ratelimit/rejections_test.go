package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// Refused decisions, and only those, are counted by kind; Peek's refusals
// too (the per-IP guard answers 429 from them).
func TestRejectionsByKind(t *testing.T) {
	l := New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ip := Key{Kind: "ip", Addr: netip.MustParseAddr("192.0.2.1")}
	for range 3 {
		l.Allow(Key{Kind: "k", ID: 1}, 2, now) // the third is refused
		l.Allow(ip, 1, now)                    // the second and third
	}
	l.Peek(ip, 1, now)                         // refused
	l.Peek(Key{Kind: "l", ID: 9}, 5, now)      // allowed
	l.Allow(Key{Kind: "weird", ID: 1}, 0, now) // a kind of its own: other
	want := map[string]int64{"api_key": 1, "ip": 3, "license": 0, "login_ip": 0, "login_email": 0, "other": 1}
	got := l.Rejections()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d refusals, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("kinds %v", got)
	}
}

func BenchmarkAllowCountsRefusals(b *testing.B) {
	l := New()
	now := time.Now()
	k := Key{Kind: "k", ID: 1}
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(k, 1, now)
	}
}
