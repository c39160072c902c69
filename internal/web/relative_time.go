package web

import (
	"html/template"
	"strconv"
	"time"
)

// Every date the dashboard shows is a <time> element whose text is relative
// ("3 hours ago", "in 5 minutes") and whose title, shown on hover, is the
// absolute time in UTC. "Now" is the dashboard's clock (Deps.Now), so the
// words are the server's and tests can fix them; the markup needs no script.

// Title formats: date and datetime to the minute, seconds to the second.
const (
	titleMinute = "2006-01-02 15:04 UTC"
	titleSecond = "2006-01-02 15:04:05 UTC"
)

// timeFuncs returns the template functions that render times against now.
// date, datetime and seconds kept their names from before times became
// relative, so that every template using them switched at once.
func timeFuncs(now func() time.Time) template.FuncMap {
	at := func(layout string) func(t any) template.HTML {
		return func(t any) template.HTML {
			switch t := t.(type) {
			case time.Time:
				return timeElement(now(), t, layout)
			case *time.Time:
				if t != nil {
					return timeElement(now(), *t, layout)
				}
			}
			return ""
		}
	}
	return template.FuncMap{
		"date":     at(titleMinute),
		"datetime": at(titleMinute),
		"seconds":  at(titleSecond),
	}
}

// timeElement renders t as <time datetime="RFC 3339" title="absolute UTC">
// relative to now</time>. Every part is made here from a time, never from
// input, so it is safe as HTML.
func timeElement(now, t time.Time, layout string) template.HTML {
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `" title="` + t.Format(layout) + `">` +
		relativeTime(now, t) + `</time>`)
}

// relativeTime says how far t is from now in the largest whole unit:
// seconds, minutes, hours, days, months (30 days) or years (365 days),
// rounded down, so that "3 hours ago" is never more than what happened.
// Less than a second either way is "just now".
func relativeTime(now, t time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	if d < time.Second {
		return "just now"
	}
	const day = 24 * time.Hour
	var n int64
	var unit string
	switch {
	case d < time.Minute:
		n, unit = int64(d/time.Second), "second"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), "minute"
	case d < day:
		n, unit = int64(d/time.Hour), "hour"
	case d < 30*day:
		n, unit = int64(d/day), "day"
	case d < 365*day:
		n, unit = int64(d/(30*day)), "month"
	default:
		n, unit = int64(d/(365*day)), "year"
	}
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}
