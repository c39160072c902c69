package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
)

const keysPerPage = 20

// keyRow is an API key as the dashboard shows it: never its secret, which
// is not stored.
type keyRow struct {
	core.APIKey
	Display    string // sk_live_…9f3a
	Project    string // the project's name, or "" for a global key
	Owner      string // the owner's email
	Status     string
	AllScopes  bool
	LastUsedAt *time.Time
	LastUsedIP string
}

// keyRows decorates keys with names and with the uses this node counted
// but has not yet written, so "last used" is current.
func (d *dashboard) keyRows(ctx context.Context, actor *core.Actor, ks []core.APIKey) ([]keyRow, error) {
	projects, err := d.projectNames(ctx, actor)
	if err != nil {
		return nil, err
	}
	members, err := d.svc.ListMembers(ctx, actor)
	if err != nil {
		return nil, err
	}
	emails := map[int64]string{}
	for _, m := range members {
		emails[m.UserID] = m.Email
	}
	now := d.now()
	rows := make([]keyRow, len(ks))
	for i, k := range ks {
		row := keyRow{APIKey: k, Display: keys.Display(k.Env, k.Last4), Owner: emails[k.UserID], Status: k.Status(now),
			AllScopes: k.Scopes == core.NewScopeSet(core.AllScopes...), LastUsedAt: k.LastUsedAt, LastUsedIP: k.LastUsedIP}
		if k.ProjectID != 0 {
			row.Project = projects[k.ProjectID]
			if row.Project == "" {
				row.Project = "Project #" + strconv.FormatInt(k.ProjectID, 10)
			}
		}
		if d.usage != nil {
			if t, ip, _ := d.usage.Pending(k.ID); !t.IsZero() && (row.LastUsedAt == nil || t.After(*row.LastUsedAt)) {
				row.LastUsedAt, row.LastUsedIP = &t, ip.String()
			}
		}
		rows[i] = row
	}
	return rows, nil
}

type keyListData struct {
	Keys    []keyRow
	NextURL string
}

func (d *dashboard) keyList(w http.ResponseWriter, r *http.Request) error {
	actor := actorOf(r)
	ks, err := d.svc.ListAPIKeys(r.Context(), actor, queryID(r, "before"), keysPerPage+1)
	if err != nil {
		return err
	}
	var data keyListData
	if len(ks) > keysPerPage {
		ks = ks[:keysPerPage]
		data.NextURL = "/api-keys?before=" + strconv.FormatInt(ks[len(ks)-1].ID, 10)
	}
	if data.Keys, err = d.keyRows(r.Context(), actor, ks); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "key_list", &view{Title: "API Keys", Nav: "keys", Data: data})
}
