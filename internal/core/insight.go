package core

import (
	"context"
	"time"
)

// OutcomeCount is how many runtime answers of one code a license got in one
// UTC hour. Written in batches from the validator's memory (RecordOutcomes)
// and read back aggregated (OutcomeSeries: LicenseID is then 0 unless the
// filter named one).
type OutcomeCount struct {
	ProjectID int64
	LicenseID int64
	Hour      time.Time // the start of a UTC hour
	Code      string    // a licensing result code (VALID, EXPIRED…)
	Count     int64
}

// OutcomeFilter selects outcome counts: of an organization, a project or a
// license (the narrowest set wins), in hours [From, To).
type OutcomeFilter struct {
	OrgID     int64
	ProjectID int64
	LicenseID int64
	From, To  time.Time
}

// LicenseOutcomes is one license's runtime answers over a range.
type LicenseOutcomes struct {
	LicenseID int64
	ProjectID int64
	Title     string
	Total     int64
	Valid     int64
}

// InsightFilter selects the figures of an organization's or one project's
// home page.
type InsightFilter struct {
	OrgID     int64
	ProjectID int64 // 0: the whole organization
	// From, To bound new activations (first seen in [From, To)).
	From, To time.Time
	// ExpiringBy lists active licenses expiring in [To, ExpiringBy).
	ExpiringBy    time.Time
	ExpiringLimit int
}

// InsightFigures are the figures beside the charts.
type InsightFigures struct {
	ActiveLicenses int64
	NewActivations int64
	Expiring       []License // soonest first
}

// InsightStore holds the runtime outcome counts and the figures the
// dashboard's home pages show.
type InsightStore interface {
	// RecordOutcomes adds counts; counts of a license deleted meanwhile are
	// dropped.
	RecordOutcomes(ctx context.Context, counts []OutcomeCount) error
	// PruneOutcomes deletes up to n outcome counts of hours before t.
	PruneOutcomes(ctx context.Context, before time.Time, n int) (int64, error)
	// OutcomeSeries returns the counts of f by hour and code, oldest first.
	OutcomeSeries(ctx context.Context, f OutcomeFilter) ([]OutcomeCount, error)
	// TopLicenses returns the licenses of f with the most answers, at most
	// limit, most first (then by ID).
	TopLicenses(ctx context.Context, f OutcomeFilter, limit int) ([]LicenseOutcomes, error)
	// InsightFigures counts active licenses and new activations, and lists
	// licenses expiring soon.
	InsightFigures(ctx context.Context, f InsightFilter) (*InsightFigures, error)
	// OrgKeyUsage returns the per-day requests of every API key of an
	// organization in [from, to], summed.
	OrgKeyUsage(ctx context.Context, orgID int64, from, to string) ([]DayCount, error)
}
