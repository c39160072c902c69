package httpapi

import (
	"context"
	"net/http"
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
	in.Problems = b.p
	return in
}

func (h *api) listLicenses(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := core.LicenseFilter{Status: q.Get("status"), Search: strings.TrimSpace(q.Get("search"))}
	switch f.Status {
	case "", core.LicenseActive, core.LicenseRevoked, core.LicenseSuspended:
	default:
		return core.Invalid("status", "The selected status is invalid: use active, revoked or suspended.")
	}
	list := "licenses/" + strconv.FormatInt(pid, 10) + "/" + f.Status + "/" + f.Search
	if f.BeforeID, err = h.cursors.decode(list, q.Get("cursor")); err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	f.Limit = n + 1
	ls, err := h.svc.ListLicenses(r.Context(), actorFrom(r), pid, f)
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
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, PerPage: n, Path: r.URL.Path})
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
