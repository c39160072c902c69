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
	Events      []auditRow
	Projects    map[int64]string
	ProjectList []core.Project
	ActorTypes  []auditOption
	TargetTypes []auditOption
	Actions     []string
	NextURL     string
}

// auditOption is one choice of the actor or target filter.
type auditOption struct{ Value, Label string }

// auditActorTypes and auditTargetTypes are the filters' choices: every
// actor type, and every target type the service writes.
var (
	auditActorTypes = []auditOption{{core.ActorUser, "Member"}, {core.ActorAPIKey, "API key"},
		{core.ActorSystem, "Latchkey"}, {core.ActorLicense, "License"}}
	auditTargetTypes = []auditOption{{"project", "Project"}, {"license", "License"}, {"domain", "Domain"},
		{"injectable", "Injectable"}, {"api_key", "API key"}, {"user", "Member"}, {"organization", "Organization"},
		{"invitation", "Invitation"}, {"webhook_endpoint", "Webhook endpoint"}}
)

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
	nextURL := ""
	if len(events) > auditPerPage {
		events = events[:auditPerPage]
		next := url.Values{}
		for k, v := range f.Values {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(events[auditPerPage-1].ID, 10))
		nextURL = "/audit?" + next.Encode()
	}
	data := auditData{Events: d.auditRows(r, events), Projects: map[int64]string{}, Actions: auditActions,
		ActorTypes: auditActorTypes, TargetTypes: auditTargetTypes, NextURL: nextURL}
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
