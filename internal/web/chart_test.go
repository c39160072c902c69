package web

import (
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
)

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int64]int64{0: 2, 1: 2, 2: 2, 3: 4, 5: 6, 7: 10, 10: 10, 11: 20, 35: 40, 99: 100, 101: 200, 1583: 2000, 7000: 10000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestChart(t *testing.T) {
	var series []core.DayCount
	for i := range 30 {
		series = append(series, core.DayCount{Day: fmt.Sprintf("2026-03-%02d", i+1), Count: int64(i)})
	}
	c := newChart("Requests", series)
	if len(c.Bars) != 30 || c.Total != 435 || c.Empty {
		t.Fatalf("bars %d, total %d, empty %v", len(c.Bars), c.Total, c.Empty)
	}
	if c.Bars[0].H != 0 || c.Bars[29].Y < chartTop || c.Bars[29].Y+c.Bars[29].H != float64(c.Bottom) {
		t.Fatalf("bars out of the plot: %+v %+v", c.Bars[0], c.Bars[29])
	}
	if first, last := c.Labels[0], c.Labels[len(c.Labels)-1]; first.Label != "Mar 1" || first.Anchor != "start" ||
		last.Label != "Mar 30" || last.Anchor != "end" || len(c.Labels) > 6 {
		t.Fatalf("labels %+v", c.Labels)
	}
	if g := c.Grid[2]; g.Label != "40" || g.Y != chartTop {
		t.Fatalf("top grid line %+v", g)
	}
	// A day with one use among thousands is still visible.
	if c := newChart("x", []core.DayCount{{Day: "2026-03-01", Count: 1}, {Day: "2026-03-02", Count: 9000}}); c.Bars[0].H < 1 {
		t.Fatalf("a small day vanished: %+v", c.Bars[0])
	}
	if c := newChart("x", nil); !c.Empty || len(c.Bars) != 0 || len(c.Labels) != 0 {
		t.Fatalf("empty chart %+v", c)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "/projects",
		"/api-keys":              "/api-keys",
		"/audit?action=license.": "/audit?action=license.",
		"//evil.example":         "/projects",
		"/\\evil.example":        "/projects",
		"https://evil.example":   "/projects",
		"evil.example":           "/projects",
		"/login":                 "/projects",
		"/x\r\nSet-Cookie: a=b":  "/projects",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
