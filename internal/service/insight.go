package service

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// UsageRanges are the ranges of the usage reports, shortest first: 24 h in
// hourly buckets, the others in UTC days.
var UsageRanges = []string{"24h", "7d", "30d", "90d"}

// DefaultUsageRange is the range of a report that names none.
const DefaultUsageRange = "30d"

// usageWindow returns the buckets of a range ending now: their size, and
// the first bucket's start and the end of the last.
func usageWindow(name string, now time.Time) (bucket string, from, to time.Time, err error) {
	now = now.UTC()
	days := 0
	switch name {
	case "24h":
		to = now.Truncate(time.Hour).Add(time.Hour)
		return "hour", to.Add(-24 * time.Hour), to, nil
	case "7d":
		days = 7
	case "30d", "":
		days = 30
	case "90d":
		days = 90
	default:
		return "", time.Time{}, time.Time{}, core.Invalid("range", "The range field must be one of 24h, 7d, 30d or 90d.")
	}
	to = time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	return "day", to.AddDate(0, 0, -days), to, nil
}

// UsageQuery selects a usage report: the actor's organization, one of its
// projects, or one license of a project.
type UsageQuery struct {
	ProjectID int64
	LicenseID int64 // with ProjectID
	Range     string
	// TopLicenses is how many of the busiest licenses to list (project
	// and organization reports); 0 lists none.
	TopLicenses int
}

// UsageReport is what runtime answers a scope got over a range, by bucket
// and result code, what this node counted but has not flushed included.
type UsageReport struct {
	Range   string
	Bucket  string // "hour" or "day"
	From    time.Time
	To      time.Time
	Buckets []UsageBucket
	// Totals are the range's answers by code; Total their sum.
	Totals map[string]int64
	Total  int64
	// Refusals are the codes other than VALID, most first.
	Refusals    []CodeCount
	TopLicenses []core.LicenseOutcomes
}

// UsageBucket is one hour's or day's answers by code.
type UsageBucket struct {
	Start  time.Time
	Counts map[string]int64
	Total  int64
}

// CodeCount is a result code's count.
type CodeCount struct {
	Code  string
	Count int64
}

// Codes returns the report's codes, VALID first, then the others as
// Refusals orders them: the legend and the table of a chart.
func (r *UsageReport) Codes() []string {
	var out []string
	if _, ok := r.Totals[licensing.CodeValid]; ok {
		out = append(out, licensing.CodeValid)
	}
	for _, c := range r.Refusals {
		out = append(out, c.Code)
	}
	return out
}

// Usage returns the runtime answers of the actor's organization, of a
// project (ProjectID) or of a license (LicenseID too), by bucket and code.
// It needs audit:read (usage figures) and, for a project, the project's
// access; a project-bound key sees its project's figures only.
func (s *Service) Usage(ctx context.Context, actor *core.Actor, q UsageQuery, v *Validator) (*UsageReport, error) {
	f, err := s.usageScope(ctx, actor, q)
	if err != nil {
		return nil, err
	}
	bucket, from, to, err := usageWindow(q.Range, s.now())
	if err != nil {
		return nil, err
	}
	f.From, f.To = from, to
	rep := &UsageReport{Range: q.Range, Bucket: bucket, From: from, To: to, Totals: map[string]int64{}}
	if rep.Range == "" {
		rep.Range = DefaultUsageRange
	}
	stored, err := s.store.OutcomeSeries(ctx, f)
	if err != nil {
		return nil, err
	}
	var pending []core.OutcomeCount
	if v != nil {
		match, err := s.outcomeMatch(ctx, f)
		if err != nil {
			return nil, err
		}
		pending = v.outcomes.pending(match)
	}
	step := time.Hour
	if bucket == "day" {
		step = 24 * time.Hour
	}
	n := int(to.Sub(from) / step)
	rep.Buckets = make([]UsageBucket, n)
	for i := range rep.Buckets {
		rep.Buckets[i] = UsageBucket{Start: from.Add(time.Duration(i) * step), Counts: map[string]int64{}}
	}
	add := func(c core.OutcomeCount) {
		if c.Hour.Before(from) || !c.Hour.Before(to) || c.Count <= 0 {
			return
		}
		b := &rep.Buckets[int(c.Hour.Sub(from)/step)]
		b.Counts[c.Code] += c.Count
		b.Total += c.Count
		rep.Totals[c.Code] += c.Count
		rep.Total += c.Count
	}
	for _, c := range stored {
		add(c)
	}
	for _, c := range pending {
		add(c)
	}
	for code, n := range rep.Totals {
		if code != licensing.CodeValid {
			rep.Refusals = append(rep.Refusals, CodeCount{Code: code, Count: n})
		}
	}
	slices.SortFunc(rep.Refusals, func(a, b CodeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code))
	})
	if q.TopLicenses > 0 && q.LicenseID == 0 {
		if rep.TopLicenses, err = s.topLicenses(ctx, f, q.TopLicenses, pending); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// usageScope checks the actor's access to the query's scope and returns
// its filter.
func (s *Service) usageScope(ctx context.Context, actor *core.Actor, q UsageQuery) (core.OutcomeFilter, error) {
	f := core.OutcomeFilter{OrgID: actor.OrgID}
	if q.ProjectID == 0 {
		if err := actor.Require(core.ScopeAuditRead); err != nil {
			return f, err
		}
		// A project-bound key's organization is its project.
		f.ProjectID = actor.ProjectID
		return f, nil
	}
	if q.LicenseID == 0 {
		p, err := s.projectAccess(ctx, s.store, actor, q.ProjectID, core.ScopeAuditRead)
		if err != nil {
			return f, err
		}
		f.ProjectID = p.ID
		return f, nil
	}
	p, l, err := recordAccess(ctx, s, s.store, actor, q.ProjectID, core.ScopeAuditRead, licenseRecord, q.LicenseID,
		core.Errorf(core.ENotFound, "License not found."))
	if err != nil {
		return f, err
	}
	f.ProjectID, f.LicenseID = p.ID, l.ID
	return f, nil
}

// outcomeMatch returns which pending counts belong to f.
func (s *Service) outcomeMatch(ctx context.Context, f core.OutcomeFilter) (func(license, project int64) bool, error) {
	switch {
	case f.LicenseID != 0:
		return func(l, _ int64) bool { return l == f.LicenseID }, nil
	case f.ProjectID != 0:
		return func(_, p int64) bool { return p == f.ProjectID }, nil
	}
	projects, err := s.store.ListProjects(ctx, core.ProjectFilter{OrgID: f.OrgID, Limit: 100000})
	if err != nil {
		return nil, err
	}
	ids := make(map[int64]bool, len(projects))
	for _, p := range projects {
		ids[p.ID] = true
	}
	return func(_, p int64) bool { return ids[p] }, nil
}

// topLicenses ranks the scope's licenses by answers, pending ones added:
// the store ranks enough that none of the first n can be missed (as many
// more as there are licenses with pending counts).
func (s *Service) topLicenses(ctx context.Context, f core.OutcomeFilter, n int, pending []core.OutcomeCount) ([]core.LicenseOutcomes, error) {
	extra := map[int64]*core.LicenseOutcomes{}
	for _, c := range pending {
		if c.Hour.Before(f.From) || !c.Hour.Before(f.To) {
			continue
		}
		e := extra[c.LicenseID]
		if e == nil {
			e = &core.LicenseOutcomes{LicenseID: c.LicenseID, ProjectID: c.ProjectID}
			extra[c.LicenseID] = e
		}
		e.Total += c.Count
		if c.Code == licensing.CodeValid {
			e.Valid += c.Count
		}
	}
	list, err := s.store.TopLicenses(ctx, f, n+len(extra))
	if err != nil {
		return nil, err
	}
	for i := range list {
		if e := extra[list[i].LicenseID]; e != nil {
			list[i].Total += e.Total
			list[i].Valid += e.Valid
			delete(extra, list[i].LicenseID)
		}
	}
	for _, e := range extra {
		l, err := s.store.License(ctx, e.LicenseID)
		if core.IsCode(err, core.ENotFound) {
			continue // deleted since it was counted
		}
		if err != nil {
			return nil, err
		}
		e.Title, e.ProjectID = l.Title, l.ProjectID
		list = append(list, *e)
	}
	slices.SortFunc(list, func(a, b core.LicenseOutcomes) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.LicenseID, b.LicenseID))
	})
	if len(list) > n {
		list = list[:n]
	}
	return list, nil
}

// Insight is what a home page shows beside its usage report.
type Insight struct {
	Usage *UsageReport
	core.InsightFigures
	// Requests are the organization's API requests per UTC day over the
	// range (organization pages only).
	Requests []core.DayCount
	Recent   []core.AuditEvent
}

// expiringWithin is how far ahead "expiring soon" looks.
const expiringWithin = 30 * 24 * time.Hour

// Insight returns the figures of an organization's (ProjectID 0) or a
// project's home page over q's range: the usage report, active licenses,
// new activations, licenses expiring within 30 days, the organization's
// API requests per day (with keyPending, this node's unflushed counts by
// day) and the latest audit events the actor may read.
func (s *Service) Insight(ctx context.Context, actor *core.Actor, q UsageQuery, v *Validator,
	keyPending func(keyIDs []int64) map[string]int64) (*Insight, error) {
	rep, err := s.Usage(ctx, actor, q, v)
	if err != nil {
		return nil, err
	}
	in := &Insight{Usage: rep}
	f := core.InsightFilter{OrgID: actor.OrgID, ProjectID: q.ProjectID, From: rep.From, To: s.now().UTC(),
		ExpiringLimit: 10}
	if f.ProjectID == 0 {
		f.ProjectID = actor.ProjectID
	}
	f.ExpiringBy = f.To.Add(expiringWithin)
	figs, err := s.store.InsightFigures(ctx, f)
	if err != nil {
		return nil, err
	}
	in.InsightFigures = *figs
	if f.ProjectID == 0 {
		if in.Requests, err = s.orgRequests(ctx, actor, rep, keyPending); err != nil {
			return nil, err
		}
	}
	if in.Recent, err = s.ListAudit(ctx, actor, core.AuditFilter{ProjectID: q.ProjectID, Limit: 8}); err != nil {
		return nil, err
	}
	return in, nil
}

// orgRequests returns the organization's API requests per day over the
// report's days (at least today and yesterday, for the 24 h range).
func (s *Service) orgRequests(ctx context.Context, actor *core.Actor, rep *UsageReport,
	keyPending func(keyIDs []int64) map[string]int64) ([]core.DayCount, error) {
	days := int(rep.To.Sub(rep.From) / (24 * time.Hour))
	if rep.Bucket == "hour" {
		days = 2
	}
	var pending map[string]int64
	if keyPending != nil {
		ks, err := s.store.ListAPIKeys(ctx, core.APIKeyFilter{OrgID: actor.OrgID, Limit: 100000})
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(ks))
		for i := range ks {
			ids[i] = ks[i].ID
		}
		pending = keyPending(ids)
	}
	return s.dailySeries(days, func(from, to string) ([]core.DayCount, error) {
		return s.store.OrgKeyUsage(ctx, actor.OrgID, from, to)
	}, pending)
}

// The result codes an outcome chart colours apart from the refusals.
const (
	OutcomeValid  = licensing.CodeValid
	OutcomeUnpaid = licensing.CodeUnpaid
)

// OutcomeMessage is what a copy is told with code.
func OutcomeMessage(code string) string { return licensing.Messages[code] }
