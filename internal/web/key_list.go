package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/service"
)

const keysPerPage = 20

// keyRow is an API key as the dashboard shows it: never its secret, which
// is not stored.
type keyRow struct {
	core.APIKey
	Display string // sk_live_…9f3a
	Project string // the project's name, or "" for a global key
	Owner   string // the owner's email
	Status  string
	// Disabled: switched off for a while (issue 19); Label is the status
	// shown, "disabled" for an active key that is.
	Disabled bool
	Label    string
	// AllScopes: the key holds every scope its owner's role allows.
	AllScopes  bool
	LastUsedAt *time.Time
	LastUsedIP string
	// ReplacedBy names the successor of a rotated key, whose grace ends
	// at its ExpiresAt.
	ReplacedBy string
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
	roles := map[int64]core.Role{}
	for _, m := range members {
		emails[m.UserID], roles[m.UserID] = m.Email, m.Role
	}
	now := d.now()
	rows := make([]keyRow, len(ks))
	for i, k := range ks {
		row := keyRow{APIKey: k, Display: keys.Display(k.Env, k.Last4), Owner: emails[k.UserID], Status: k.Status(now),
			LastUsedAt: k.LastUsedAt, LastUsedIP: k.LastUsedIP}
		row.Label = row.Status
		if k.DisabledAt != nil && row.Status == core.KeyActive {
			row.Disabled, row.Label = true, core.KeyDisabled
		}
		if role, ok := roles[k.UserID]; ok {
			row.AllScopes = k.Scopes == role.Scopes()
		}
		if k.RotatedTo != 0 {
			row.ReplacedBy = "key #" + strconv.FormatInt(k.RotatedTo, 10)
			if nk, err := d.svc.APIKey(ctx, actor, k.RotatedTo); err == nil {
				row.ReplacedBy = nk.Name + " (" + keys.Display(nk.Env, nk.Last4) + ")"
			}
		}
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
	Keys     []keyRow
	NextURL  string
	Filter   keyFilterForm
	Owners   []core.Member
	Projects []core.Project
	// Filtered: a filter narrows the list (the empty state says so).
	Filtered bool
	Statuses []string
}

// keyFilterForm is the key list's filters as the page shows them.
type keyFilterForm struct {
	Owner, Project, Status, Env string
}

// readKeyFilter reads the key list's ?owner, ?project ("global" or an
// ID), ?status and ?env. A value that is none of these is a 422 naming it.
func readKeyFilter(r *http.Request) (service.KeyListFilter, keyFilterForm, error) {
	q := r.URL.Query()
	ff := keyFilterForm{Owner: q.Get("owner"), Project: q.Get("project"), Status: q.Get("status"), Env: q.Get("env")}
	kf := service.KeyListFilter{Status: ff.Status, Env: ff.Env}
	p := core.Problems{}
	if ff.Owner != "" {
		n, err := strconv.ParseInt(ff.Owner, 10, 64)
		if err != nil || n <= 0 {
			p.Add("owner", "The selected owner is invalid.")
		}
		kf.UserID = n
	}
	switch ff.Project {
	case "":
	case "global":
		kf.GlobalOnly = true
	default:
		n, err := strconv.ParseInt(ff.Project, 10, 64)
		if err != nil || n <= 0 {
			p.Add("project", "The selected project is invalid.")
		}
		kf.ProjectID = n
	}
	return kf, ff, p.Err()
}

func (d *dashboard) keyList(w http.ResponseWriter, r *http.Request) error {
	actor := actorOf(r)
	kf, ff, err := readKeyFilter(r)
	if err != nil {
		return err
	}
	ks, err := d.svc.ListAPIKeysFiltered(r.Context(), actor, kf, queryID(r, "before"), keysPerPage+1)
	if err != nil {
		return err
	}
	data := keyListData{Filter: ff, Filtered: ff != keyFilterForm{},
		Statuses: []string{core.KeyActive, core.KeyDisabled, core.KeyRevoked, core.KeyExpired}}
	if len(ks) > keysPerPage {
		ks = ks[:keysPerPage]
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(ks[len(ks)-1].ID, 10))
		data.NextURL = "/api-keys?" + q.Encode()
	}
	if data.Keys, err = d.keyRows(r.Context(), actor, ks); err != nil {
		return err
	}
	if actor.Role.ManagesOthersKeys() {
		if data.Owners, err = d.svc.ListMembers(r.Context(), actor); err != nil {
			return err
		}
	}
	if actor.Can(core.ScopeProjectsRead) {
		if data.Projects, err = d.svc.ListProjects(r.Context(), actor, 0, 200); err != nil {
			return err
		}
	}
	return d.render(w, r, http.StatusOK, "key_list", &view{Title: "API Keys", Nav: "keys", Data: data})
}
