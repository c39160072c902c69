package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

const auditPerPage = 50

type auditData struct {
	Events      []core.AuditEvent
	Projects    map[int64]string
	ProjectList []core.Project
	ActorTypes  []string
	TargetTypes []string
	Actions     []string
	NextURL     string
}

// auditActions are suggested in the action filter; any action or prefix
// ending in "." may be typed.
var auditActions = []string{"project.", "license.", "domain.", "injectable.", "api_key.", "member.", "user.",
	"license.create", "license.revoke", "license.suspend", "license.reactivate", "api_key.create", "api_key.rotate",
	"api_key.revoke", "user.sign_in"}

func (d *dashboard) auditList(w http.ResponseWriter, r *http.Request) error {
	actor := actorOf(r)
	q := r.URL.Query()
	f := newForm()
	f.Values = url.Values{}
	for _, k := range []string{"action", "actor_type", "target_type", "project_id", "since", "until"} {
		if v := q.Get(k); v != "" {
			f.set(k, v)
		}
	}
	filter := core.AuditFilter{Action: f.str("action"), ActorType: f.str("actor_type"), TargetType: f.str("target_type"),
		ProjectID: f.id("project_id"), Since: f.date("since"), Until: f.date("until"), BeforeID: queryID(r, "before"),
		Limit: auditPerPage + 1}
	if filter.Until != nil && len(f.str("until")) == len("2006-01-02") {
		end := filter.Until.Add(24 * time.Hour) // a date means the whole day
		filter.Until = &end
	}
	status := http.StatusOK
	if len(f.problems) > 0 {
		f.Errors = f.problems
		f.Error = "Some filters could not be read and were left out."
		status = http.StatusUnprocessableEntity
	}
	events, err := d.svc.ListAudit(r.Context(), actor, filter)
	if err != nil {
		return err
	}
	data := auditData{Events: events, Projects: map[int64]string{}, Actions: auditActions,
		ActorTypes:  []string{core.ActorUser, core.ActorAPIKey, core.ActorSystem, core.ActorLicense},
		TargetTypes: []string{"project", "license", "domain", "injectable", "api_key", "user"}}
	if len(events) > auditPerPage {
		data.Events = events[:auditPerPage]
		next := url.Values{}
		for k, v := range f.Values {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(data.Events[auditPerPage-1].ID, 10))
		data.NextURL = "/audit?" + next.Encode()
	}
	if actor.Can(core.ScopeProjectsRead) {
		if data.ProjectList, err = d.svc.ListProjects(r.Context(), actor, 0, 1000); err != nil {
			return err
		}
		for _, p := range data.ProjectList {
			data.Projects[p.ID] = p.Name
		}
	}
	return d.render(w, r, status, "audit", &view{Title: "Audit log", Nav: "audit", Form: f, Data: data})
}
