package licensing

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"3600", time.Hour},
		{" 30d ", 30 * day},
		{"1Y", 365 * day},
		{"2w3d", 17 * day},
		{"36h", 36 * time.Hour},
		{"90s", 90 * time.Second},
		{"15m", 15 * time.Minute},
		{"100y", MaxDuration},
		{"101y", 0},
		{"0", 0},
		{"-5", 0},
		{"0d", 0},
		{"", 0},
		{"d", 0},
		{"30", 30 * time.Second},
		{"30x", 0},
		{"1mo", 0},
		{"1.5d", 0},
		{"99999999999999999999d", 0},
		{"9223372036854775807", 0},
		{"30d ", 30 * day},
		{"30 d", 0},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "1y2w", "86400", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && (d <= 0 || d > MaxDuration) {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
