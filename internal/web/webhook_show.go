package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

const deliveriesPerPage = 20

// deliveryStatuses are the delivery filter's choices, as the API's.
var deliveryStatuses = []string{core.DeliveryPending, core.DeliverySucceeded, core.DeliveryFailed}

// secretGraces are the rotation overlaps offered, in seconds: the old
// secret signs too (a second v1) until then.
var secretGraces = []grace{{0, "none: the old secret stops at once"}, {3600, "1 hour"}, {86400, "24 hours"}, {7 * 86400, "7 days"}}

type webhookShowData struct {
	Endpoint   webhookRow
	Deliveries []core.WebhookDelivery
	NextURL    string
	Status     string // the delivery filter
	Statuses   []string
	Graces     []grace
	// OwnSecret is set for a project's endpoint signed with the project's
	// webhook secret: saving the project puts that secret back, so the
	// page points there instead of offering a rotation.
	OwnSecret bool
}

func (d *dashboard) webhookShow(w http.ResponseWriter, r *http.Request) error {
	ep, err := d.webhook(r)
	if err != nil {
		return err
	}
	actor := actorOf(r)
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(deliveryStatuses, status) {
		return core.Invalid("status", "The status field must be pending, succeeded or failed.")
	}
	ds, err := d.svc.ListDeliveries(r.Context(), actor, ep.ID,
		core.DeliveryFilter{Status: status, BeforeID: queryID(r, "before"), Limit: deliveriesPerPage + 1})
	if err != nil {
		return err
	}
	rows, err := d.webhookRows(r.Context(), actor, []core.WebhookEndpoint{*ep})
	if err != nil {
		return err
	}
	data := webhookShowData{Endpoint: rows[0], Deliveries: ds, Status: status, Statuses: deliveryStatuses, Graces: secretGraces}
	if len(ds) > deliveriesPerPage {
		data.Deliveries = ds[:deliveriesPerPage]
		q := url.Values{"before": {strconv.FormatInt(ds[deliveriesPerPage-1].ID, 10)}}
		if status != "" {
			q.Set("status", status)
		}
		data.NextURL = webhookPath(ep.ID) + "?" + q.Encode()
	}
	if ep.Source == core.EndpointSourceProject && actor.Can(core.ScopeProjectsRead) {
		p, err := d.svc.Project(r.Context(), actor, ep.ProjectID)
		if err != nil {
			return err
		}
		data.OwnSecret = len(p.WebhookSecretEnc) > 0
	}
	return d.render(w, r, http.StatusOK, "webhook_show", &view{Title: ep.URL, Nav: "webhooks", Data: data})
}
