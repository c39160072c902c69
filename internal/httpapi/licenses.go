package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// licenseJSON is a license as the API returns it, with the message some
// status routes add.
type licenseJSON struct {
	view.License
	Message string `json:"message,omitempty"`
}

func licenseView(l *core.License, now time.Time) licenseJSON {
	return licenseJSON{License: view.LicenseOf(l, now)}
}

// csv reads a comma-separated list field: a string as sent, an array of
// strings joined, null as nil.
func (b *body) csv(name string) *string {
	if b.isNull(name) {
		return nil
	}
	if s, ok := b.str(name); ok {
		return &s
	}
	if b.p.Has(name) {
		delete(b.p, name) // not a string: maybe an array
		if list, ok := b.strList(name); ok {
			s := strings.Join(list, ",")
			return &s
		}
	}
	return nil
}

func licenseInput(b *body) service.LicenseInput {
	var in service.LicenseInput
	if b.has("title") {
		s, _ := b.str("title")
		in.Title = service.Some(s)
	}
	if b.has("domain_id") {
		id, ok := b.integer("domain_id")
		if ok && id <= 0 {
			b.problems().Add("domain_id", "The selected domain id is invalid.")
		}
		in.DomainID = service.Some(id)
	}
	if b.has("expires_at") {
		t, _ := b.date("expires_at")
		in.ExpiresAt = service.Some(t)
	}
	for name, dst := range map[string]*service.Opt[*int64]{"max_domains": &in.MaxDomains,
		"max_subdomains_per_domain": &in.MaxSubdomainsPerDomain, "max_usage_per_day": &in.MaxUsagePerDay} {
		if v, sent := b.optInt(name, 0); sent {
			*dst = service.Some(v)
		}
	}
	if b.has("allowed_ips") {
		in.AllowedIPs = service.Some(b.csv("allowed_ips"))
	}
	if b.has("allowed_countries") {
		in.AllowedCountries = service.Some(b.csv("allowed_countries"))
	}
	for name, dst := range map[string]*service.Opt[bool]{"is_test_license": &in.IsTestLicense, "allow_configs": &in.AllowConfigs} {
		if b.has(name) {
			v, _ := b.boolean(name)
			*dst = service.Some(v)
		}
	}
	if b.has("validate_against") {
		s, _ := b.str("validate_against")
		in.ValidateAgainst = service.Some(s)
	}
	for name, dst := range map[string]*service.Opt[*string]{"customer_name": &in.CustomerName,
		"customer_email": &in.CustomerEmail, "external_id": &in.ExternalID} {
		if b.has(name) {
			var v *string
			if s, ok := b.str(name); ok {
				v = &s
			}
			*dst = service.Some(v)
		}
	}
	if b.has("metadata") {
		in.Metadata = service.Some(b.metadata("metadata"))
	}
	// Seats and the churn limit: the service checks the ranges, so that
	// the dashboard's form gets the same messages.
	for name, dst := range map[string]*service.Opt[*int64]{"max_concurrent": &in.MaxConcurrent,
		"heartbeat_ttl": &in.HeartbeatTTL, "max_new_activations_per_day": &in.MaxNewActivationsPerDay} {
		if b.has(name) {
			var v *int64
			if n, ok := b.integer(name); ok {
				v = &n
			}
			*dst = service.Some(v)
		}
	}
	if b.has("expires_in") && !b.isNull("expires_in") {
		s, _ := b.str("expires_in")
		in.ExpiresIn = service.Some(s)
	} else if b.isNull("expires_in") && !b.has("expires_at") {
		// expires_in: null is "no expiry", as expires_at: null: neither takes
		// a default expiry (issue 15).
		in.ExpiresAt = service.Some[*time.Time](nil)
	}
	in.Problems = b.p
	return in
}

// metadata reads a metadata object of string values; null (or a value
// null) removes, as in Stripe's merge patches. A value of another type is
// refused under metadata.<key>, so the caller learns which one.
func (b *body) metadata(name string) service.MetadataPatch {
	if string(b.fields[name]) == "null" {
		return nil
	}
	m, _ := stringMap(b, name, true)
	if m == nil {
		return service.MetadataPatch{}
	}
	return m
}

// licenseFilter reads a license list's query: DevPayr's status and
// search, and q, external_id, customer_email and metadata[key]=value. It
// also returns the text the listing's cursors are bound to: the whole
// filter, so that a cursor cannot continue another search.
func licenseFilter(q url.Values, scope string) (core.LicenseFilter, string, error) {
	f := core.LicenseFilter{Status: q.Get("status"), Search: strings.TrimSpace(q.Get("search")),
		Query: strings.TrimSpace(q.Get("q")), ExternalID: strings.TrimSpace(q.Get("external_id")),
		CustomerEmail: strings.TrimSpace(q.Get("customer_email")), Mode: strings.TrimSpace(q.Get("mode"))}
	switch f.Status {
	case "", core.LicenseActive, core.LicenseRevoked, core.LicenseSuspended:
	default:
		return f, "", core.Invalid("status", "The selected status is invalid: use active, revoked or suspended.")
	}
	for k, vs := range q {
		if k == "metadata" {
			return f, "", core.Invalid("metadata", "Filter by metadata as metadata[key]=value.")
		}
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok {
			continue
		}
		key, ok = strings.CutSuffix(key, "]")
		if !ok {
			return f, "", core.Invalid("metadata", "Filter by metadata as metadata[key]=value.")
		}
		if f.Metadata == nil {
			f.Metadata = map[string]string{}
		}
		f.Metadata[key] = vs[len(vs)-1]
	}
	list := "licenses/" + scope + "/" + f.Status + "/" + f.Search
	if f.Mode != "" {
		list += "/mode=" + f.Mode // issue 15: a cursor continues one mode's list
	}
	if f.Query != "" || f.ExternalID != "" || f.CustomerEmail != "" || f.Metadata != nil {
		// Marshalling sorts the map's keys: one text per filter.
		extra, _ := json.Marshal([]any{f.Query, f.ExternalID, f.CustomerEmail, f.Metadata})
		list += "\x00" + string(extra)
	}
	return f, list, nil
}

// licensePage runs a license listing and writes its page.
func (h *api) licensePage(w http.ResponseWriter, r *http.Request, list string, f core.LicenseFilter,
	run func(f core.LicenseFilter) ([]core.License, error)) error {
	var err error
	if f.BeforeID, err = h.cursors.decode(list, r.URL.Query().Get("cursor")); err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	f.Limit = n + 1
	ls, err := run(f)
	if err != nil {
		return err
	}
	var next *string
	if len(ls) > n {
		ls = ls[:n]
		c := h.cursors.encode(list, ls[n-1].ID)
		next = &c
	}
	now := h.now()
	out := make([]licenseJSON, len(ls))
	for i := range ls {
		out[i] = licenseView(&ls[i], now)
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}

func (h *api) listLicenses(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	f, list, err := licenseFilter(r.URL.Query(), strconv.FormatInt(pid, 10))
	if err != nil {
		return err
	}
	return h.licensePage(w, r, list, f, func(f core.LicenseFilter) ([]core.License, error) {
		return h.svc.ListLicenses(r.Context(), actorFrom(r), pid, f)
	})
}

// listAllLicenses lists the licenses of every project the key can see
// (GET /api/v1/licenses), with the per-project list's filters and
// project_id to narrow it.
func (h *api) listAllLicenses(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var pid int64
	if s := strings.TrimSpace(q.Get("project_id")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return core.Invalid("project_id", "The project id field must be a project's ID.")
		}
		pid = n
	}
	f, list, err := licenseFilter(q, "all/"+strconv.FormatInt(pid, 10))
	if err != nil {
		return err
	}
	return h.licensePage(w, r, list, f, func(f core.LicenseFilter) ([]core.License, error) {
		return h.svc.ListAllLicenses(r.Context(), actorFrom(r), pid, f)
	})
}

// renewLicense extends a license's expiry: {"duration": "30d"|seconds,
// "from": "expiry"|"now"}.
func (h *api) renewLicense(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	var in service.RenewInput
	in.Duration, _ = b.str("duration")
	in.From, _ = b.str("from")
	in.From = strings.TrimSpace(in.From)
	in.Problems = b.p
	l, err := h.svc.RenewLicense(r.Context(), actorFrom(r), pid, id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "License renewed successfully.", licenseView(l, h.now()))
}

func (h *api) showLicense(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	l, err := h.svc.License(r.Context(), actorFrom(r), pid, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", licenseView(l, h.now()))
}

func (h *api) createLicense(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := licenseInput(b)
	l, err := h.svc.CreateLicense(r.Context(), actorFrom(r), pid, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "License created successfully.", licenseView(l, h.now()))
}

func (h *api) updateLicense(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := licenseInput(b)
	l, err := h.svc.UpdateLicense(r.Context(), actorFrom(r), pid, id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "License updated successfully.", licenseView(l, h.now()))
}

// licenseTransition serves revoke, suspend and reactivate: no body is read
// beyond the cap ([], {} or nothing), and the answer carries the message
// both at the top and in data, as DevPayr's reactivate does.
func (h *api) licenseTransition(do func(ctx context.Context, a *core.Actor, p, id int64) (*core.License, error), msg string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pid, id, err := itemIDs(r, "license", "License")
		if err != nil {
			return err
		}
		if _, err := readBody(w, r, h.maxBody); err != nil {
			return err
		}
		l, err := do(r.Context(), actorFrom(r), pid, id)
		if err != nil {
			return err
		}
		v := licenseView(l, h.now())
		v.Message = msg
		return ok(w, http.StatusOK, msg, v)
	}
}

func (h *api) deleteLicense(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	l, err := h.svc.DeleteLicense(r.Context(), actorFrom(r), pid, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "License deleted successfully.", map[string]any{"id": l.ID, "title": l.Title, "deleted": true})
}
