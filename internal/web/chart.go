package web

import (
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

// chart is a bar chart of counts per day, drawn as SVG by the "chart"
// template: no chart library and no script, and it prints.
type chart struct {
	Title  string
	Width  int
	Height int
	Bars   []chartBar
	Grid   []chartLine // horizontal lines with their values
	Labels []chartText // a few day labels under the bars
	Total  int64
	Empty  bool
	Left   int // x of the plot area
	Bottom int // y of the base line
}

type chartBar struct {
	X, Y, W, H float64
	Day        string
	Count      int64
}

type chartLine struct {
	Y     float64
	Label string
}

type chartText struct {
	X      float64
	Label  string
	Anchor string // SVG text-anchor: the outer labels stay inside the box
}

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW      = 480
	chartH      = 200
	chartLeft   = 40
	chartRight  = 8
	chartTop    = 12
	chartBottom = 28
)

// newChart lays out one bar per day.
func newChart(title string, series []core.DayCount) chart {
	c := chart{Title: title, Width: chartW, Height: chartH, Left: chartLeft, Bottom: chartH - chartBottom}
	var peak int64
	for _, d := range series {
		c.Total += d.Count
		peak = max(peak, d.Count)
	}
	c.Empty = c.Total == 0
	top := niceCeil(peak)
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	n := max(len(series), 1)
	slot := plotW / float64(n)
	gap := min(slot*0.2, 4)
	for i, d := range series {
		h := plotH * float64(d.Count) / float64(top)
		if d.Count > 0 && h < 1 {
			h = 1 // a day with uses is never invisible
		}
		x := float64(chartLeft) + float64(i)*slot
		c.Bars = append(c.Bars, chartBar{X: x + gap/2, Y: float64(c.Bottom) - h, W: slot - gap, H: h, Day: d.Day, Count: d.Count})
	}
	for _, frac := range []int64{0, 1, 2} {
		v := top * frac / 2
		c.Grid = append(c.Grid, chartLine{Y: float64(c.Bottom) - plotH*float64(frac)/2, Label: strconv.FormatInt(v, 10)})
	}
	// Label the first day, the last, and a few between.
	last := len(series) - 1
	step := max(len(series)/4, 1)
	for i := 0; i <= last; i++ {
		if i != last && (i%step != 0 || last-i < step/2) {
			continue // not a labelled day, or too close to the last label
		}
		t := chartText{X: float64(chartLeft) + (float64(i)+0.5)*slot, Label: shortDay(series[i].Day), Anchor: "middle"}
		switch i {
		case 0:
			t.X, t.Anchor = float64(chartLeft), "start"
		case last:
			t.X, t.Anchor = float64(chartW-chartRight), "end"
		}
		c.Labels = append(c.Labels, t)
	}
	return c
}

// niceCeil rounds n up to 2, 4, 6, 10, 20, 40… so the grid reads well; the
// middle line is half of it.
func niceCeil(n int64) int64 {
	if n <= 2 {
		return 2
	}
	p := int64(1)
	for p*10 < n {
		p *= 10
	}
	for _, m := range []int64{2, 4, 6, 10} {
		if p*m >= n {
			return p * m
		}
	}
	return p * 10
}

// shortDay turns 2026-03-14 into "Mar 14".
func shortDay(day string) string {
	if len(day) != 10 {
		return day
	}
	m, err := strconv.Atoi(day[5:7])
	if err != nil || m < 1 || m > 12 {
		return day
	}
	months := [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	d := day[8:10]
	if d[0] == '0' {
		d = d[1:]
	}
	return months[m-1] + " " + d
}
