package web

import (
	"bytes"
	"html/template"
	"testing"
	"time"
)

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	cases := []struct {
		offset time.Duration
		want   string
	}{
		{0, "just now"},
		{-999 * time.Millisecond, "just now"},
		{999 * time.Millisecond, "just now"},
		{-time.Second, "1 second ago"},
		{-59 * time.Second, "59 seconds ago"},
		{-time.Minute, "1 minute ago"},
		{-(time.Hour - time.Second), "59 minutes ago"},
		{-3 * time.Hour, "3 hours ago"},
		{-(3*time.Hour + 59*time.Minute), "3 hours ago"}, // rounded down
		{-(day - time.Second), "23 hours ago"},
		{-day, "1 day ago"},
		{-29 * day, "29 days ago"},
		{-30 * day, "1 month ago"},
		{-364 * day, "12 months ago"},
		{-365 * day, "1 year ago"},
		{-3 * 365 * day, "3 years ago"},
		{time.Second, "in 1 second"},
		{5 * time.Minute, "in 5 minutes"},
		{time.Hour, "in 1 hour"},
		{2 * day, "in 2 days"},
		{90 * day, "in 3 months"},
		{366 * day, "in 1 year"},
	}
	for _, c := range cases {
		if got := relativeTime(now, now.Add(c.offset)); got != c.want {
			t.Errorf("%v from now: %q, want %q", c.offset, got, c.want)
		}
	}
}

// TestTimeFuncs: each function renders a <time> with the machine-readable
// time, the absolute UTC time as its title, and the relative text; nil and
// other types render nothing.
func TestTimeFuncs(t *testing.T) {
	now := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 7, 10, 59, 55, 0, time.FixedZone("CET", 3600)) // 09:59:55 UTC
	var nilTime *time.Time
	cases := []struct {
		src  string
		arg  any
		want string
	}{
		{`{{date .}}`, at, `<time datetime="2026-12-07T09:59:55Z" title="2026-12-07 09:59 UTC">4 hours ago</time>`},
		{`{{datetime .}}`, &at, `<time datetime="2026-12-07T09:59:55Z" title="2026-12-07 09:59 UTC">4 hours ago</time>`},
		{`{{seconds .}}`, at, `<time datetime="2026-12-07T09:59:55Z" title="2026-12-07 09:59:55 UTC">4 hours ago</time>`},
		{`{{datetime .}}`, nilTime, ``},
		{`{{datetime .}}`, "2026-12-07", ``},
	}
	for _, c := range cases {
		tpl := template.Must(template.New("").Funcs(timeFuncs(func() time.Time { return now })).Parse(c.src))
		var b bytes.Buffer
		if err := tpl.Execute(&b, c.arg); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s of %v:\n got %s\nwant %s", c.src, c.arg, b.String(), c.want)
		}
	}
}
