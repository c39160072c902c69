package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

type keyShowData struct {
	Key   keyRow
	Usage *keyUsageData // the request chart over a range (insight.go)
	// Graces are the rotation grace periods offered, in seconds.
	Graces []grace
}

type grace struct {
	Seconds int
	Label   string
}

var graces = []grace{{0, "none: the old key stops at once"}, {300, "5 minutes"}, {3600, "1 hour"}, {6 * 3600, "6 hours"}, {86400, "24 hours"}}

// apiKey loads the key named by the path, if the user may see it.
func (d *dashboard) apiKey(r *http.Request) (*core.APIKey, error) {
	id, err := pathID(r, "k")
	if err != nil {
		return nil, err
	}
	return d.svc.APIKey(r.Context(), actorOf(r), id)
}

func (d *dashboard) keyShow(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	actor := actorOf(r)
	rows, err := d.keyRows(r.Context(), actor, []core.APIKey{*k})
	if err != nil {
		return err
	}
	usage, err := d.keyUsage(r, k)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "key_show", &view{Title: k.Name, Nav: "keys",
		Data: keyShowData{Key: rows[0], Usage: usage, Graces: graces}})
}
