package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// Bulk actions the licenses list offers, with the words of their outcome.
var listBulkActions = map[string]struct{ Verb, Done string }{
	service.BulkSuspend:    {"Suspend", "suspended"},
	service.BulkReactivate: {"Reactivate", "reactivated"},
	service.BulkRevoke:     {"Revoke", "revoked"},
}

type licenseBulkData struct {
	Action, Verb string
	Count        int64
	Sample       []licenseRow
	Hidden       url.Values
	Post, Cancel string
}

// licenseBulk runs the list's bulk action: first as a dry run that shows
// how many licenses it would change (what the service counts, with the
// state the action applies to folded in) and asks to confirm, then, posted
// again with confirm, for real, in one transaction.
func (d *dashboard) licenseBulk(all bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var p *core.Project
		if !all {
			var err error
			if p, err = d.project(r); err != nil {
				return err
			}
		}
		lq, err := readLicenseQuery(r.PostForm)
		if err != nil {
			return err
		}
		action := r.PostForm.Get("action")
		words, ok := listBulkActions[action]
		if !ok {
			return core.Invalid("action", "The selected action is invalid: use suspend, reactivate or revoke.")
		}
		f := lq.filter(d.now())
		f.Sort, f.Asc = "", false
		switch r.PostForm.Get("scope") {
		case "filter":
		case "selected":
			f.IDs = []int64{}
			for _, s := range r.PostForm["id"] {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil || id <= 0 {
					return core.Invalid("id", "The selected licenses are invalid.")
				}
				f.IDs = append(f.IDs, id)
			}
			if len(f.IDs) == 0 {
				return core.Invalid("id", "Select at least one license, or choose every license of this filter.")
			}
			if len(f.IDs) > service.MaxBulk {
				return core.Invalid("id", "Select at most "+strconv.Itoa(service.MaxBulk)+" licenses.")
			}
		default:
			return core.Invalid("scope", "The selected licenses are invalid: choose the selected ones or every license of this filter.")
		}
		confirm := r.PostForm.Get("confirm") == "1"
		res, err := d.svc.BulkLicenses(r.Context(), actorOf(r), projectID(p), service.BulkLicenseInput{
			Filter: f, Action: action, DryRun: !confirm})
		if err != nil {
			return err
		}
		back := withQuery(listBase(p), lq.values(1))
		if confirm {
			d.setFlash(w, r, "ok", strconv.FormatInt(res.Count, 10)+" "+plural(res.Count, "license", "licenses")+" "+words.Done+".")
			return redirect(w, r, back)
		}
		hidden := url.Values{}
		for k, vs := range r.PostForm {
			if k != "_csrf" && k != "confirm" {
				hidden[k] = vs
			}
		}
		hidden.Set("confirm", "1")
		data := licenseBulkData{Action: action, Verb: words.Verb, Count: res.Count, Hidden: hidden, Post: r.URL.Path, Cancel: back}
		now := d.now()
		for i := range res.Sample {
			data.Sample = append(data.Sample, licenseRow{License: res.Sample[i], State: stateOf(&res.Sample[i], now)})
		}
		return d.render(w, r, http.StatusOK, "license_bulk", &view{Title: words.Verb + " licenses", Nav: "licenses",
			Project: p, Tab: "licenses", Data: data})
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Exports stream in pages of this many, up to maxExport rows.
const (
	exportPage = 1000
	maxExport  = 100_000
)

// licenseExport answers the list's filter as CSV (every page of it, in the
// list's order). Cells a spreadsheet would read as a formula are defused.
func (d *dashboard) licenseExport(all bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var p *core.Project
		if !all {
			var err error
			if p, err = d.project(r); err != nil {
				return err
			}
		}
		actor := actorOf(r)
		lq, err := readLicenseQuery(r.URL.Query())
		if err != nil {
			return err
		}
		f := lq.filter(d.now())
		n, err := d.svc.CountAllLicenses(r.Context(), actor, projectID(p), f)
		if err != nil {
			return err
		}
		if n > maxExport {
			return core.Invalid("q", "The filter selects "+strconv.FormatInt(n, 10)+" licenses: an export holds at most "+
				strconv.Itoa(maxExport)+". Narrow the filter.")
		}
		names, err := d.projectNames(r.Context(), actor)
		if err != nil {
			return err
		}
		// The first page is read before anything is written, so that a
		// refusal is still an error page.
		f.Limit = exportPage
		ls, err := d.svc.ListAllLicenses(r.Context(), actor, projectID(p), f)
		if err != nil {
			return err
		}
		name := "licenses"
		if p != nil {
			name += "-" + p.Slug
		}
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+"-"+d.now().UTC().Format("2006-01-02")+`.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "project", "title", "license_key", "status", "test", "customer_name", "customer_email",
			"external_id", "expires_at", "created_at"})
		now := d.now()
		for {
			for i := range ls {
				l := &ls[i]
				exp := ""
				if l.ExpiresAt != nil {
					exp = l.ExpiresAt.UTC().Format(time.RFC3339)
				}
				_ = cw.Write(csvRow(strconv.FormatInt(l.ID, 10), names[l.ProjectID], l.Title, l.UUID, stateOf(l, now),
					strconv.FormatBool(l.IsTestLicense), deref(l.CustomerName), deref(l.CustomerEmail), deref(l.ExternalID),
					exp, l.CreatedAt.UTC().Format(time.RFC3339)))
			}
			if len(ls) < exportPage {
				break
			}
			f.Offset += exportPage
			if ls, err = d.svc.ListAllLicenses(r.Context(), actor, projectID(p), f); err != nil {
				// The header is sent: end the file short, and say why in
				// the log.
				d.log.ErrorContext(r.Context(), "license export", "error", err)
				break
			}
		}
		cw.Flush()
		return nil
	}
}

// csvRow defuses cells that spreadsheets evaluate (CSV injection, OWASP):
// one starting with =, +, -, @, a tab or a carriage return is prefixed
// with a single quote, which shows as text. encoding/csv quotes the rest
// (commas, quotes, line breaks).
func csvRow(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
