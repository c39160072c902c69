package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

type projectShowData struct {
	Counts  map[string]int64
	Total   int64
	Domains int
	Plan    *planUsage // the project's usage against the plan (plan.go)
	// Insight is the project's runtime answers (insight.go); nil for a
	// role without audit:read.
	Insight *insightData
}

func (d *dashboard) projectShow(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	actor := actorOf(r)
	data := projectShowData{}
	if actor.Can(core.ScopeLicensesRead) {
		if data.Counts, err = d.svc.LicenseCounts(r.Context(), actor, p.ID); err != nil {
			return err
		}
		for _, n := range data.Counts {
			data.Total += n
		}
	}
	if actor.Can(core.ScopeDomainsRead) {
		ds, err := d.svc.ListDomains(r.Context(), actor, p.ID, 0, 1000)
		if err != nil {
			return err
		}
		data.Domains = len(ds)
	}
	if data.Plan, err = d.projectPlanUsage(r, p.ID); err != nil {
		return err
	}
	if data.Insight, err = d.insight(r, p.ID, "/projects/"+strconv.FormatInt(p.ID, 10)); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "project_show", &view{Title: p.Name, Nav: "projects", Project: p, Tab: "overview", Data: data})
}
