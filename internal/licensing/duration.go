package licensing

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds a license duration (expires_in, renew, bulk extend):
// 100 years, far below time.Duration's limit, so that adding it to any
// stored time cannot overflow.
const MaxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration reads a license duration: a whole number of seconds
// ("3600"), or one or more whole numbers with a unit, as in "30d", "1y",
// "2w3d", "36h": s, m, h, d (24 h), w (7 d), y (365 d). It must be
// positive and at most MaxDuration. Calendar months are left out on
// purpose: "1mo" would mean a different length every month.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, errDuration
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > int64(MaxDuration/time.Second) {
			return 0, errDuration
		}
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 12 {
			return 0, errDuration
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		unit, ok := durationUnits[s[i]]
		if !ok {
			return 0, errDuration
		}
		if n > int64(MaxDuration/unit) {
			return 0, errDuration
		}
		total += time.Duration(n) * unit
		if total > MaxDuration {
			return 0, errDuration
		}
		s = s[i+1:]
	}
	if total <= 0 {
		return 0, errDuration
	}
	return total, nil
}

var errDuration = errors.New("not a duration")

// DurationHint is the message for a field ParseDuration refused.
func DurationHint(field string) string {
	return "The " + strings.ReplaceAll(field, "_", " ") + ` field must be a positive duration of at most 100 years: seconds ("86400") or a number with a unit, as in "30d", "12h", "2w" or "1y".`
}

var durationUnits = map[byte]time.Duration{
	's': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour,
}
