package service

import (
	"time"

	"github.com/latchkey/latchkey/internal/licensing"
)

// ParseLifetime reads a key lifetime for a policy or a plan as the
// dashboard's policy form takes it: a duration as licenses take them
// ("90d", "1y", "36h", seconds), in whole seconds. The bounds are the
// policy's and the plan's own check (1 hour to 100 years); ok is false for
// text that is not a duration.
func ParseLifetime(s string) (sec int64, ok bool) {
	d, err := licensing.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return int64(d / time.Second), true
}
