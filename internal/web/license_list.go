package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

const licensesPerPage = 20

// maxLicensePage bounds ?page: deeper than this a filter is the way.
const maxLicensePage = 10_000

// licenseRow is a license as lists show it.
type licenseRow struct {
	core.License
	State   string // active, suspended, revoked, or expired
	Project string // the project's name, in the list of every project
}

// sortColumn is a sortable header of the licenses table.
type sortColumn struct {
	Label, URL string
	// Sorted is the header's aria-sort: "ascending", "descending" or "".
	Sorted string
}

// licenseQuery is a licenses list's address, read and checked once for
// the page, its CSV export and its bulk actions, so that the three
// select the same licenses.
type licenseQuery struct {
	Search, Status, Mode, Expiry, Sort string
	Asc                                bool
	Page                               int
}

// Expiry windows of the filter.
var expiryWindows = []struct{ Value, Label string }{
	{"", "Any expiry"}, {"7d", "Expires within 7 days"}, {"30d", "Expires within 30 days"},
	{"90d", "Expires within 90 days"}, {"expired", "Expired"}, {"never", "Never expires"},
}

// readLicenseQuery reads a list's filters from q. An unknown value is a
// 422 naming the filter (the page's own links never send one).
func readLicenseQuery(q url.Values) (licenseQuery, error) {
	// q searches titles, customers and external IDs, and finds a pasted
	// key; search (DevPayr's title-only filter) is still read from old
	// links.
	lq := licenseQuery{Search: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Mode: q.Get("mode"),
		Expiry: q.Get("expiry"), Sort: q.Get("sort"), Page: 1}
	if lq.Search == "" {
		lq.Search = strings.TrimSpace(q.Get("search"))
	}
	p := core.Problems{}
	if utf8.RuneCountInString(lq.Search) > 255 {
		p.Add("q", "The search must not be greater than 255 characters.")
	}
	switch lq.Status {
	case "", core.LicenseActive, core.LicenseSuspended, core.LicenseRevoked:
	default:
		p.Add("status", "The selected status is invalid: use active, suspended or revoked.")
	}
	switch lq.Mode {
	case "", core.ModeLive, core.ModeTest:
	default:
		p.Add("mode", "The selected test data is invalid: use live or test.")
	}
	known := false
	for _, w := range expiryWindows {
		known = known || w.Value == lq.Expiry
	}
	if !known {
		p.Add("expiry", "The selected expiry is invalid: use 7d, 30d, 90d, expired or never.")
	}
	switch lq.Sort {
	case "", core.LicenseSortCreated, core.LicenseSortTitle, core.LicenseSortCustomer, core.LicenseSortStatus, core.LicenseSortExpires:
	default:
		p.Add("sort", "The selected sort is invalid: use created, title, customer, status or expires.")
	}
	switch q.Get("dir") {
	case "", "desc":
	case "asc":
		lq.Asc = true
	default:
		p.Add("dir", "The selected direction is invalid: use asc or desc.")
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLicensePage {
			p.Add("page", "The page must be a whole number from 1 to "+strconv.Itoa(maxLicensePage)+".")
		}
		lq.Page = n
	}
	return lq, p.Err()
}

// filter is the store's filter for lq at now (the expiry window moves
// with the clock).
func (lq *licenseQuery) filter(now time.Time) core.LicenseFilter {
	f := core.LicenseFilter{Status: lq.Status, Query: lq.Search, Mode: lq.Mode, Sort: lq.Sort, Asc: lq.Asc}
	day := 24 * time.Hour
	switch lq.Expiry {
	case "7d":
		f.ExpiresFrom, f.ExpiresBefore = now, now.Add(7*day)
	case "30d":
		f.ExpiresFrom, f.ExpiresBefore = now, now.Add(30*day)
	case "90d":
		f.ExpiresFrom, f.ExpiresBefore = now, now.Add(90*day)
	case "expired":
		f.ExpiresBefore = now
	case "never":
		f.NoExpiry = true
	}
	return f
}

// values is lq as a query string; page 1 and defaults are left out.
func (lq *licenseQuery) values(page int) url.Values {
	v := url.Values{}
	for name, s := range map[string]string{"q": lq.Search, "status": lq.Status, "mode": lq.Mode, "expiry": lq.Expiry, "sort": lq.Sort} {
		if s != "" {
			v.Set(name, s)
		}
	}
	if lq.Asc {
		v.Set("dir", "asc")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

// Filtered reports whether any filter narrows the list.
func (lq licenseQuery) Filtered() bool {
	return lq.Search != "" || lq.Status != "" || lq.Mode != "" || lq.Expiry != ""
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

type licenseListData struct {
	licenseQuery
	Licenses  []licenseRow
	Total     int64
	From, To  int64
	PrevURL   string
	NextURL   string
	ExportURL string
	BulkURL   string
	Columns   []sortColumn
	Projects  []core.Project
	Statuses  []string
	Windows   []struct{ Value, Label string }
	// Hidden holds the filters as the bulk form posts them back.
	Hidden url.Values
	// Mode and ModeLinks are the "Test data" toggle (issue 15).
	ModeLinks []modeLink
}

// licensePicker is the sidebar's "Licenses": every project's licenses
// (issue 19); ?project= narrows to one project's list.
func (d *dashboard) licensePicker(w http.ResponseWriter, r *http.Request) error {
	if raw := r.URL.Query().Get("project"); raw != "" && queryID(r, "project") == 0 {
		return core.Invalid("project", "The selected project is invalid.")
	}
	if id := queryID(r, "project"); id != 0 {
		q := r.URL.Query()
		q.Del("project")
		return redirect(w, r, withQuery("/projects/"+strconv.FormatInt(id, 10)+"/licenses", q))
	}
	ps, err := d.svc.ListProjects(r.Context(), actorOf(r), 0, 1)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return d.render(w, r, http.StatusOK, "license_picker", &view{Title: "Licenses", Nav: "licenses"})
	}
	return d.renderLicenseList(w, r, nil)
}

func (d *dashboard) licenseList(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	return d.renderLicenseList(w, r, p)
}

// listBase is the list's path: one project's (p) or every project's.
func listBase(p *core.Project) string {
	if p == nil {
		return "/licenses"
	}
	return "/projects/" + strconv.FormatInt(p.ID, 10) + "/licenses"
}

func projectID(p *core.Project) int64 {
	if p == nil {
		return 0
	}
	return p.ID
}

func (d *dashboard) renderLicenseList(w http.ResponseWriter, r *http.Request, p *core.Project) error {
	actor := actorOf(r)
	lq, err := readLicenseQuery(r.URL.Query())
	if err != nil {
		return err
	}
	base := listBase(p)
	data := licenseListData{licenseQuery: lq, Statuses: []string{core.LicenseActive, core.LicenseSuspended, core.LicenseRevoked},
		Windows: expiryWindows, ExportURL: withQuery(base+"/export.csv", lq.values(1)), BulkURL: base + "/bulk",
		Hidden: lq.values(1)}
	_, data.ModeLinks = testDataToggle(r.URL.Path, r.URL.Query(), lq.Search, lq.Status)
	now := d.now()
	f := lq.filter(now)
	if data.Total, err = d.svc.CountAllLicenses(r.Context(), actor, projectID(p), f); err != nil {
		return err
	}
	f.Offset, f.Limit = (lq.Page-1)*licensesPerPage, licensesPerPage
	ls, err := d.svc.ListAllLicenses(r.Context(), actor, projectID(p), f)
	if err != nil {
		return err
	}
	if lq.Page > 1 {
		data.PrevURL = withQuery(base, lq.values(lq.Page-1))
	}
	if int64(lq.Page*licensesPerPage) < data.Total {
		data.NextURL = withQuery(base, lq.values(lq.Page+1))
	}
	if len(ls) > 0 {
		data.From, data.To = int64(f.Offset+1), int64(f.Offset+len(ls))
	}
	names := map[int64]string{}
	if p == nil {
		if names, err = d.projectNames(r.Context(), actor); err != nil {
			return err
		}
	}
	for i := range ls {
		data.Licenses = append(data.Licenses, licenseRow{License: ls[i], State: stateOf(&ls[i], now), Project: names[ls[i].ProjectID]})
	}
	for _, c := range []struct{ label, sort string }{{"Title", core.LicenseSortTitle}, {"Customer", core.LicenseSortCustomer},
		{"Status", core.LicenseSortStatus}, {"Expires", core.LicenseSortExpires}, {"Created", core.LicenseSortCreated}} {
		col := sortColumn{Label: c.label}
		cur := lq.Sort == c.sort || (lq.Sort == "" && c.sort == core.LicenseSortCreated)
		next := lq
		next.Sort, next.Asc = c.sort, c.sort == core.LicenseSortTitle || c.sort == core.LicenseSortCustomer
		if cur {
			col.Sorted = map[bool]string{true: "ascending", false: "descending"}[lq.Asc]
			next.Asc = !lq.Asc
		}
		if next.Sort == core.LicenseSortCreated && !next.Asc {
			next.Sort = ""
		}
		col.URL = withQuery(base, next.values(1))
		data.Columns = append(data.Columns, col)
	}
	if data.Projects, err = d.svc.ListProjects(r.Context(), actor, 0, 200); err != nil {
		return err
	}
	title := "All licenses"
	if p != nil {
		title = "Licenses · " + p.Name
	}
	return d.render(w, r, http.StatusOK, "license_list", &view{Title: title, Nav: "licenses",
		Project: p, Tab: "licenses", Data: data})
}
