package web

import (
	"strconv"

	"github.com/latchkey/latchkey/internal/service"
)

// outcomeChart is a stacked bar chart of runtime answers per bucket, one
// colour per result code, drawn by the "outcome-chart" template. The
// colours are classes (app.css, "insight"), so the page's palette (light
// or dark) applies; the legend and a table beside it carry every number in
// text, for screen readers and for anyone who cannot tell the colours
// apart.
type outcomeChart struct {
	Title   string
	Width   int
	Height  int
	Left    int
	Bottom  int
	Grid    []chartLine
	Labels  []chartText
	Columns []outcomeColumn
	Legend  []outcomeLegend
	Total   int64
	Empty   bool
	Hourly  bool
}

type outcomeColumn struct {
	Label string // the bucket: "Mar 14" or "15:00"
	X, W  float64
	Total int64
	Segs  []outcomeSeg
	// Counts are the column's counts in Legend order, for the table.
	Counts []int64
}

type outcomeSeg struct {
	Y, H  float64
	Class string
	Code  string
	Count int64
}

type outcomeLegend struct {
	Code    string
	Message string
	Class   string
	Count   int64
}

// outcomeClass is a code's colour class: VALID green, UNPAID amber, the
// refusals six hues in their order of frequency (then cycling).
func outcomeClass(code string, refusal int) string {
	switch code {
	case service.OutcomeValid:
		return "o-valid"
	case service.OutcomeUnpaid:
		return "o-unpaid"
	}
	return "o-r" + strconv.Itoa(refusal%6+1)
}

// newOutcomeChart lays out a report's buckets as stacked bars.
func newOutcomeChart(title string, rep *service.UsageReport) outcomeChart {
	c := outcomeChart{Title: title, Width: chartW, Height: chartH, Left: chartLeft, Bottom: chartH - chartBottom,
		Total: rep.Total, Empty: rep.Total == 0, Hourly: rep.Bucket == "hour"}
	codes := rep.Codes()
	classes := make(map[string]string, len(codes))
	refusal := 0
	for _, code := range codes {
		cl := outcomeClass(code, refusal)
		if code != service.OutcomeValid && code != service.OutcomeUnpaid {
			refusal++
		}
		classes[code] = cl
		c.Legend = append(c.Legend, outcomeLegend{Code: code, Message: service.OutcomeMessage(code), Class: cl, Count: rep.Totals[code]})
	}
	var peak int64
	for _, b := range rep.Buckets {
		peak = max(peak, b.Total)
	}
	top := niceCeil(peak)
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	n := max(len(rep.Buckets), 1)
	slot := plotW / float64(n)
	gap := min(slot*0.2, 4)
	for i, b := range rep.Buckets {
		col := outcomeColumn{Label: bucketLabel(rep, i), X: float64(chartLeft) + float64(i)*slot + gap/2, W: slot - gap, Total: b.Total}
		y := float64(c.Bottom)
		for _, code := range codes {
			v := b.Counts[code]
			col.Counts = append(col.Counts, v)
			if v == 0 {
				continue
			}
			h := plotH * float64(v) / float64(top)
			if h < 1 {
				h = 1 // a code with answers is never invisible
			}
			y -= h
			col.Segs = append(col.Segs, outcomeSeg{Y: y, H: h, Class: classes[code], Code: code, Count: v})
		}
		c.Columns = append(c.Columns, col)
	}
	for _, frac := range []int64{0, 1, 2} {
		c.Grid = append(c.Grid, chartLine{Y: float64(c.Bottom) - plotH*float64(frac)/2, Label: strconv.FormatInt(top*frac/2, 10)})
	}
	last := len(rep.Buckets) - 1
	step := max(len(rep.Buckets)/4, 1)
	for i := 0; i <= last; i++ {
		if i != last && (i%step != 0 || last-i < step/2) {
			continue
		}
		t := chartText{X: float64(chartLeft) + (float64(i)+0.5)*slot, Label: c.Columns[i].Label, Anchor: "middle"}
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

// bucketLabel names bucket i: its UTC hour, or its day.
func bucketLabel(rep *service.UsageReport, i int) string {
	start := rep.Buckets[i].Start.UTC()
	if rep.Bucket == "hour" {
		return start.Format("15:04")
	}
	return shortDay(start.Format("2006-01-02"))
}
