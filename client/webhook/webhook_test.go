package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client/webhook"
)

func TestParseHeader(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		header string
		t      int64
		n      int
		err    error
	}{
		{"t=1700000000,v1=" + sig, 1700000000, 1, nil},
		{" t=1700000000 , v1=" + sig + ",v1=" + sig, 1700000000, 2, nil},
		{"t=1700000000,v0=zz,v1=" + sig, 1700000000, 1, nil}, // unknown schemes are ignored
		{"", 0, 0, webhook.ErrNoSignature},
		{"v1=" + sig, 0, 0, webhook.ErrHeader},
		{"t=1700000000", 0, 0, webhook.ErrHeader},
		{"t=1700000000,t=1700000001,v1=" + sig, 0, 0, webhook.ErrHeader},
		{"t=-5,v1=" + sig, 0, 0, webhook.ErrHeader},
		{"t=soon,v1=" + sig, 0, 0, webhook.ErrHeader},
		{"t=1700000000,v1=" + sig[:10], 0, 0, webhook.ErrHeader},
		{"t=1700000000,v1=" + strings.Repeat("zz", 32), 0, 0, webhook.ErrHeader},
		{"t=1700000000;v1=" + sig, 0, 0, webhook.ErrHeader},
	}
	for _, tc := range tests {
		ts, v1, err := webhook.ParseHeader(tc.header)
		if !errors.Is(err, tc.err) || ts != tc.t || len(v1) != tc.n {
			t.Errorf("ParseHeader(%q) = %d, %d signatures, %v; want %d, %d, %v", tc.header, ts, len(v1), err, tc.t, tc.n, tc.err)
		}
	}
}

func TestVerifyRefusesWhatIsNotAnEvent(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, payload := range []string{`not json`, `{}`, `{"id":"evt_1"}`, `[]`} {
		h := "t=1700000000,v1=" + hexSig("whsec_x", now.Unix(), payload)
		if _, err := webhook.VerifyAt([]byte(payload), h, "whsec_x", time.Minute, now); !errors.Is(err, webhook.ErrPayload) {
			t.Errorf("%s: %v", payload, err)
		}
	}
}

func hexSig(secret string, t int64, payload string) string {
	const digits = "0123456789abcdef"
	sum := webhook.Sign(secret, t, []byte(payload))
	out := make([]byte, 0, 64)
	for _, b := range sum {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return string(out)
}

// The header parser takes what any client sends: it never panics, and
// what it accepts has a time and 32-byte signatures.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"t=1,v1=" + strings.Repeat("00", 32), "", ",", "t=", "v1=", "t=1,v1=\x00", "t=9223372037854775807,v1=", "t=1,,v1=ab", "\xff=\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		ts, v1, err := webhook.ParseHeader(h)
		if err != nil {
			return
		}
		if ts <= 0 || len(v1) == 0 {
			t.Fatalf("accepted %q: t=%d, %d signatures", h, ts, len(v1))
		}
		for _, s := range v1 {
			if len(s) != 32 {
				t.Fatalf("accepted %q with a %d-byte signature", h, len(s))
			}
		}
	})
}
