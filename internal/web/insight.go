package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// topLicensesShown is how many of the busiest licenses an overview lists,
// as many as the API's usage report (httpapi.topLicensesShown).
const topLicensesShown = 10

// insightData is what the organization's home page and a project's
// overview show (templates/_insight.html).
type insightData struct {
	Range   string
	Ranges  []string
	Base    string // the page's path, for the range links
	Chart   outcomeChart
	Insight *service.Insight
	// Requests charts the organization's API requests per day.
	Requests *chart
	// Recent is the latest audit events, made readable (audit_names.go).
	Recent []auditRow
}

// usageRange reads ?range= (24h, 7d, 30d or 90d; 30d when absent). An
// unknown value is refused by the service with a message naming the
// field.
func usageRange(r *http.Request) (string, error) {
	if err := checkQuery(r); err != nil {
		return "", err
	}
	rg := r.URL.Query().Get("range")
	if rg == "" {
		rg = service.DefaultUsageRange
	}
	return rg, nil
}

// insight loads the figures of the organization (projectID 0) or of a
// project; nil when the user's role may not read usage figures.
func (d *dashboard) insight(r *http.Request, projectID int64, base string) (*insightData, error) {
	actor := actorOf(r)
	if !actor.Can(core.ScopeAuditRead) {
		return nil, nil
	}
	rg, err := usageRange(r)
	if err != nil {
		return nil, err
	}
	var keyPending func([]int64) map[string]int64
	if d.usage != nil {
		keyPending = d.keyPending
	}
	in, err := d.svc.Insight(r.Context(), actor, service.UsageQuery{ProjectID: projectID, Range: rg, TopLicenses: topLicensesShown},
		d.validator, keyPending)
	if err != nil {
		return nil, err
	}
	data := &insightData{Range: rg, Ranges: service.UsageRanges, Base: base, Insight: in,
		Chart: newOutcomeChart("Runtime answers by outcome", in.Usage), Recent: d.auditRows(r, in.Recent)}
	if in.Requests != nil {
		c := newChart("API requests per UTC day", in.Requests)
		data.Requests = &c
	}
	return data, nil
}

// keyPending sums this node's unflushed API-key requests of ids by day.
func (d *dashboard) keyPending(ids []int64) map[string]int64 {
	out := map[string]int64{}
	for _, id := range ids {
		_, _, days := d.usage.Pending(id)
		for day, n := range days {
			out[day] += n
		}
	}
	return out
}

// insightHome is the organization's home page (GET / when signed in).
func (d *dashboard) insightHome(w http.ResponseWriter, r *http.Request) error {
	data, err := d.insight(r, 0, "/")
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "home", &view{Title: "Overview", Nav: "home", Data: data})
}

// keyUsageDays is how many UTC days of requests a key's chart shows for a
// range: API-key requests are counted per day, so 24 h shows today and
// yesterday.
func keyUsageDays(rg string) (int, error) {
	switch rg {
	case "24h":
		return 2, nil
	case "7d", "30d", "90d":
		n, _ := strconv.Atoi(rg[:len(rg)-1])
		return n, nil
	}
	return 0, core.Invalid("range", "The range field must be one of 24h, 7d, 30d or 90d.")
}

// keyUsageData is the API-key page's request chart
// (templates/_key_usage.html).
type keyUsageData struct {
	Range  string
	Ranges []string
	Base   string
	Chart  chart
}

func (d *dashboard) keyUsage(r *http.Request, k *core.APIKey) (*keyUsageData, error) {
	rg, err := usageRange(r)
	if err != nil {
		return nil, err
	}
	days, err := keyUsageDays(rg)
	if err != nil {
		return nil, err
	}
	var pending map[string]int64
	if d.usage != nil {
		_, _, pending = d.usage.Pending(k.ID)
	}
	series, err := d.svc.APIKeyUsage(r.Context(), actorOf(r), k.ID, days, pending)
	if err != nil {
		return nil, err
	}
	return &keyUsageData{Range: rg, Ranges: service.UsageRanges, Base: "/api-keys/" + strconv.FormatInt(k.ID, 10),
		Chart: newChart("Requests per UTC day", series)}, nil
}

// The insight templates' functions, kept beside what they draw.
func init() {
	funcs["rangeLabel"] = func(rg string) string {
		return map[string]string{"24h": "24 h", "7d": "7 days", "30d": "30 days", "90d": "90 days"}[rg]
	}
	funcs["codeMessage"] = func(code string) string { return service.OutcomeMessage(code) }
}
