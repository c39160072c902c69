package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

const licensesPerPage = 20

// licenseRow is a license as lists show it.
type licenseRow struct {
	core.License
	State string // active, suspended, revoked, or expired
}

type licenseListData struct {
	Licenses []licenseRow
	Search   string
	Status   string
	NextURL  string
	Projects []core.Project
	Statuses []string
	// Mode and ModeLinks are the "Test data" toggle (issue 15).
	Mode      string
	ModeLinks []modeLink
}

// licensePicker is the sidebar's "Licenses": the licenses of the project
// chosen (or the first one).
func (d *dashboard) licensePicker(w http.ResponseWriter, r *http.Request) error {
	if id := queryID(r, "project"); id != 0 {
		return redirect(w, r, "/projects/"+strconv.FormatInt(id, 10)+"/licenses")
	}
	ps, err := d.svc.ListProjects(r.Context(), actorOf(r), 0, 1)
	if err != nil {
		return err
	}
	if len(ps) == 1 {
		return redirect(w, r, "/projects/"+strconv.FormatInt(ps[0].ID, 10)+"/licenses")
	}
	return d.render(w, r, http.StatusOK, "license_picker", &view{Title: "Licenses", Nav: "licenses"})
}

func (d *dashboard) licenseList(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	actor := actorOf(r)
	q := r.URL.Query()
	// q searches titles, customers and external IDs, and finds a pasted
	// key; search (DevPayr's title-only filter) is still read from old
	// links.
	search := q.Get("q")
	if search == "" {
		search = q.Get("search")
	}
	data := licenseListData{Search: strings.TrimSpace(search), Status: q.Get("status"),
		Statuses: []string{core.LicenseActive, core.LicenseSuspended, core.LicenseRevoked}}
	if utf8.RuneCountInString(data.Search) > 255 {
		data.Search = string([]rune(data.Search)[:255])
	}
	switch data.Status {
	case core.LicenseActive, core.LicenseSuspended, core.LicenseRevoked:
	default:
		data.Status = ""
	}
	data.Mode, data.ModeLinks = testDataToggle(r.URL.Path, q, data.Search, data.Status)
	ls, err := d.svc.ListLicenses(r.Context(), actor, p.ID, core.LicenseFilter{Status: data.Status, Query: data.Search,
		Mode: data.Mode, BeforeID: queryID(r, "before"), Limit: licensesPerPage + 1})
	if err != nil {
		return err
	}
	if len(ls) > licensesPerPage {
		ls = ls[:licensesPerPage]
		next := url.Values{"before": {strconv.FormatInt(ls[len(ls)-1].ID, 10)}}
		if data.Search != "" {
			next.Set("q", data.Search)
		}
		if data.Status != "" {
			next.Set("status", data.Status)
		}
		if data.Mode != "" {
			next.Set("mode", data.Mode)
		}
		data.NextURL = r.URL.Path + "?" + next.Encode()
	}
	now := d.now()
	for i := range ls {
		data.Licenses = append(data.Licenses, licenseRow{License: ls[i], State: stateOf(&ls[i], now)})
	}
	if data.Projects, err = d.svc.ListProjects(r.Context(), actor, 0, 200); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "license_list", &view{Title: "Licenses · " + p.Name, Nav: "licenses",
		Project: p, Tab: "licenses", Data: data})
}
