package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

const webhooksPerPage = 50

// webhookRow is a webhook endpoint as the dashboard shows it: never its
// secret, which is shown once (reveal.go).
type webhookRow struct {
	core.WebhookEndpoint
	Project   string // the project's name, or "" for every project
	AllEvents bool
	// RotatingUntil is when the previous secret stops signing, while it
	// still does.
	RotatingUntil *time.Time
}

// FromProject reports whether the endpoint stands for a project's
// webhook_url (its url and events are the project's).
func (e webhookRow) FromProject() bool { return e.Source == core.EndpointSourceProject }

// webhook loads the endpoint named by the path, if the user may see it.
func (d *dashboard) webhook(r *http.Request) (*core.WebhookEndpoint, error) {
	id, err := pathID(r, "w")
	if err != nil {
		return nil, err
	}
	return d.svc.WebhookEndpoint(r.Context(), actorOf(r), id)
}

func webhookPath(id int64) string { return "/webhooks/" + strconv.FormatInt(id, 10) }

// projectNames returns the names of the projects the actor sees, by ID.
func (d *dashboard) projectNames(ctx context.Context, actor *core.Actor) (map[int64]string, error) {
	names := map[int64]string{}
	if !actor.Can(core.ScopeProjectsRead) {
		return names, nil
	}
	ps, err := d.svc.ListProjects(ctx, actor, 0, 1000)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	return names, nil
}

// webhookRows decorates endpoints with their project's name.
func (d *dashboard) webhookRows(ctx context.Context, actor *core.Actor, eps []core.WebhookEndpoint) ([]webhookRow, error) {
	names, err := d.projectNames(ctx, actor)
	if err != nil {
		return nil, err
	}
	now := d.now()
	rows := make([]webhookRow, len(eps))
	for i, ep := range eps {
		row := webhookRow{WebhookEndpoint: ep, AllEvents: len(ep.Events) == 1 && ep.Events[0] == "*"}
		if ep.ProjectID != 0 {
			row.Project = names[ep.ProjectID]
			if row.Project == "" {
				row.Project = "Project #" + strconv.FormatInt(ep.ProjectID, 10)
			}
		}
		if u := ep.PreviousSecretUntil; u != nil && len(ep.PreviousSecretEnc) > 0 && u.After(now) {
			row.RotatingUntil = u
		}
		rows[i] = row
	}
	return rows, nil
}

type webhookListData struct {
	Endpoints []webhookRow
	Next      int64 // ID to continue after; 0 on the last page
}

func (d *dashboard) webhookList(w http.ResponseWriter, r *http.Request) error {
	actor := actorOf(r)
	eps, err := d.svc.ListWebhookEndpoints(r.Context(), actor, queryID(r, "after"), webhooksPerPage+1)
	if err != nil {
		return err
	}
	var data webhookListData
	if len(eps) > webhooksPerPage {
		eps = eps[:webhooksPerPage]
		data.Next = eps[webhooksPerPage-1].ID
	}
	if data.Endpoints, err = d.webhookRows(r.Context(), actor, eps); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "webhook_list", &view{Title: "Webhooks", Nav: "webhooks", Data: data})
}
