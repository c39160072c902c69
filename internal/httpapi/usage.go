package httpapi

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/service"
)

// topLicensesShown is how many of the busiest licenses a usage report
// lists: the dashboard's overview shows the same number.
const topLicensesShown = 10

// usageJSONReport is a usage report: runtime answers by bucket and result
// code (issue 19; docs/api.md, "Usage").
type usageReportJSON struct {
	Range       string               `json:"range"`
	Bucket      string               `json:"bucket"`
	From        string               `json:"from"`
	To          string               `json:"to"`
	Buckets     []usageBucketJSON    `json:"buckets"`
	Totals      map[string]int64     `json:"totals"`
	Total       int64                `json:"total"`
	Refusals    []codeCountJSON      `json:"refusals"`
	TopLicenses []licenseOutcomeJSON `json:"top_licenses"`
}

type usageBucketJSON struct {
	Start  string           `json:"start"`
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
}

type codeCountJSON struct {
	Code  string `json:"code"`
	Count int64  `json:"count"`
}

type licenseOutcomeJSON struct {
	LicenseID int64  `json:"license_id"`
	ProjectID int64  `json:"project_id"`
	Title     string `json:"title"`
	Total     int64  `json:"total"`
	Valid     int64  `json:"valid"`
}

func usageView(rep *service.UsageReport) usageReportJSON {
	out := usageReportJSON{Range: rep.Range, Bucket: rep.Bucket, From: rep.From.Format(time.RFC3339), To: rep.To.Format(time.RFC3339),
		Buckets: make([]usageBucketJSON, len(rep.Buckets)), Totals: rep.Totals, Total: rep.Total,
		Refusals: make([]codeCountJSON, len(rep.Refusals)), TopLicenses: make([]licenseOutcomeJSON, len(rep.TopLicenses))}
	for i, b := range rep.Buckets {
		out.Buckets[i] = usageBucketJSON{Start: b.Start.Format(time.RFC3339), Counts: b.Counts, Total: b.Total}
	}
	for i, c := range rep.Refusals {
		out.Refusals[i] = codeCountJSON{Code: c.Code, Count: c.Count}
	}
	for i, l := range rep.TopLicenses {
		out.TopLicenses[i] = licenseOutcomeJSON{LicenseID: l.LicenseID, ProjectID: l.ProjectID, Title: l.Title, Total: l.Total, Valid: l.Valid}
	}
	return out
}

// usage answers GET /usage, /project/{project}/usage and
// /project/{project}/licenses/{license}/usage: the scope's runtime answers
// over ?range= (24h, 7d, 30d or 90d), this node's unflushed counts
// included.
func (h *api) usage(scope string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := service.UsageQuery{Range: r.URL.Query().Get("range"), TopLicenses: topLicensesShown}
		var err error
		if scope != "organization" {
			if q.ProjectID, err = pathID(r, "project", "Project"); err != nil {
				return err
			}
		}
		if scope == "license" {
			if q.LicenseID, err = pathID(r, "license", "License"); err != nil {
				return err
			}
		}
		rep, err := h.svc.Usage(r.Context(), actorFrom(r), q, h.validator)
		if err != nil {
			return err
		}
		return ok(w, http.StatusOK, "", usageView(rep))
	}
}
