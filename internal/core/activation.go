package core

import "context"

// ActivationStore holds a license's activations as a resource of their
// own (issue 14): listed a page at a time, removed one by one, and the
// churn counts the limit on new activations reads.
type ActivationStore interface {
	// ListActivationPage returns the license's activations with an ID
	// above f.AfterID, oldest first, at most f.Limit.
	ListActivationPage(ctx context.Context, f ActivationFilter) ([]Activation, error)
	// DeleteActivation removes one activation of the license and returns
	// it; ENotFound when the license has no activation id. The churn
	// counts (activation_days) are not decreased.
	DeleteActivation(ctx context.Context, licenseID, id int64) (*Activation, error)
	// ActivationChurn returns the counts the churn limit decides on, for
	// the UTC day.
	ActivationChurn(ctx context.Context, licenseID int64, day string) (ChurnCount, error)
	// ReleaseEventDedupe frees an event's dedupe key, so that the next
	// event with it is written (an activation removed and made again is
	// announced again). The event itself stays.
	ReleaseEventDedupe(ctx context.Context, key string) error
}

// ActivationFilter selects a page of one license's activations.
type ActivationFilter struct {
	LicenseID int64
	AfterID   int64
	Limit     int
}

// ChurnCount is what the churn limit (max_new_activations_per_day) is
// decided on: the new activations counted on days before the day and on
// the day itself (activation_days, which deletions do not decrease), and
// the activations the license has now.
type ChurnCount struct {
	Before int64
	Today  int64
	Live   int64
}

// Allows reports whether one more new activation is allowed today under
// the churn limit: the first free activations a license ever has (its
// max_domains) are not limited; after them at most perDay a UTC day.
//
// Activations recorded before the limit was set were not counted: the
// live ones the day's count does not explain stand in for them, so a
// license that already had its free activations gets no new free ones
// when the limit is set.
func (c ChurnCount) Allows(free, perDay int64) bool {
	if perDay <= 0 {
		return true
	}
	prior := max(c.Before, c.Live-c.Today, 0)
	if prior+c.Today < free {
		return true // this one is still free
	}
	freeToday := min(c.Today, max(free-prior, 0))
	return c.Today-freeToday < perDay
}

// ChargedToday returns how many of the day's new activations counted
// against the churn limit (those past the free ones).
func (c ChurnCount) ChargedToday(free int64) int64 {
	prior := max(c.Before, c.Live-c.Today, 0)
	return c.Today - min(c.Today, max(free-prior, 0))
}
