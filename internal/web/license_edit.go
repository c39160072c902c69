package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// licenseInput reads the license form (seed 001's fields, and issue 14's
// customer, metadata, seat and churn fields). On edit, an
// expiry left as it was is not sent again: an expired license must stay
// editable, and "must be a date after now" applies only to a new expiry.
func licenseInput(f *form, cur *core.License) service.LicenseInput {
	in := service.LicenseInput{
		Title:                  service.Some(f.str("title")),
		DomainID:               service.Some(f.id("domain_id")),
		MaxDomains:             service.Some(f.optInt("max_domains")),
		MaxSubdomainsPerDomain: service.Some(f.optInt("max_subdomains_per_domain")),
		MaxUsagePerDay:         service.Some(f.optInt("max_usage_per_day")),
		AllowedIPs:             service.Some(f.optStr("allowed_ips")),
		AllowedCountries:       service.Some(f.optStr("allowed_countries")),
		IsTestLicense:          service.Some(f.bool("is_test_license")),
		AllowConfigs:           service.Some(f.bool("allow_configs")),
	}
	if cur == nil || f.str("expires_at") != formDate(cur.ExpiresAt) {
		in.ExpiresAt = service.Some(f.date("expires_at"))
	}
	if va := f.str("validate_against"); va != "" {
		in.ValidateAgainst = service.Some(va)
	}
	in.CustomerName = service.Some(f.optStr("customer_name"))
	in.CustomerEmail = service.Some(f.optStr("customer_email"))
	in.ExternalID = service.Some(f.optStr("external_id"))
	in.MaxConcurrent = service.Some(f.optInt("max_concurrent"))
	in.HeartbeatTTL = service.Some(f.optInt("heartbeat_ttl"))
	in.MaxNewActivationsPerDay = service.Some(f.optInt("max_new_activations_per_day"))
	var meta map[string]string
	if cur != nil {
		meta = cur.Metadata
	}
	if patch, ok := metadataPatch(f, meta); ok {
		in.Metadata = service.Some(patch)
	}
	if cur == nil {
		omitUnsent(f, &in) // license defaults (issue 15)
	}
	in.Problems = f.problems
	return in
}

// metadataPatch reads the metadata textarea, one key=value a line, as the
// whole metadata: on edit, the keys of cur no longer listed are removed.
// It reports false when there is nothing to send: no entries, and none to
// remove.
func metadataPatch(f *form, cur map[string]string) (service.MetadataPatch, bool) {
	patch := service.MetadataPatch{}
	for i, line := range strings.Split(f.Get("metadata"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			f.problems.Add("metadata", "Line "+strconv.Itoa(i+1)+" of the metadata is not key=value.")
			continue
		}
		v = strings.TrimSpace(v)
		patch[strings.TrimSpace(k)] = &v
	}
	for k := range cur {
		if _, listed := patch[k]; !listed {
			patch[k] = nil
		}
	}
	if len(patch) == 0 {
		return nil, false
	}
	return patch, true
}

// metadataText is the metadata as the textarea holds it, sorted by key.
func metadataText(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return b.String()
}

// refusedLicense puts a service error on the license form; the problems of
// one metadata entry (metadata.<key>) are shown under the textarea.
func refusedLicense(f *form, err error, r *http.Request) (int, error) {
	status, err := f.refused(err, r)
	if err != nil {
		return 0, err
	}
	for field, msgs := range f.Errors {
		if strings.HasPrefix(field, "metadata.") {
			f.Errors["metadata"] = append(f.Errors["metadata"], msgs...)
		}
	}
	return status, nil
}

// formDate is a date as a date input holds it.
func formDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

type licenseFormData struct {
	License *core.License // nil when creating
	Domains []core.Domain
}

func (d *dashboard) renderLicenseForm(w http.ResponseWriter, r *http.Request, status int, f *form, p *core.Project, l *core.License) error {
	domains, err := d.svc.ListDomains(r.Context(), actorOf(r), p.ID, 0, 1000)
	if err != nil && !core.IsCode(err, core.EForbidden) {
		return err
	}
	title := "New license"
	if l != nil {
		title = "Edit " + l.Title
	}
	return d.render(w, r, status, "license_form", &view{Title: title, Nav: "licenses", Project: p, Tab: "licenses", Form: f,
		Data: licenseFormData{License: l, Domains: domains}})
}

func (d *dashboard) licenseNew(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := newForm()
	d.prefillLicenseDefaults(r, f, p)
	return d.renderLicenseForm(w, r, http.StatusOK, f, p, nil)
}

func (d *dashboard) licenseCreate(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	l, err := d.svc.CreateLicense(r.Context(), actorOf(r), p.ID, licenseInput(f, nil))
	if err != nil {
		status, err := refusedLicense(f, err, r)
		if err != nil {
			return err
		}
		return d.renderLicenseForm(w, r, status, f, p, nil)
	}
	d.setFlash(w, r, "ok", "License "+l.Title+" created. Its key is below.")
	return redirect(w, r, licensePath(l))
}

func licensePath(l *core.License) string {
	return "/projects/" + strconv.FormatInt(l.ProjectID, 10) + "/licenses/" + strconv.FormatInt(l.ID, 10)
}

func (d *dashboard) licenseEdit(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("title", l.Title)
	if l.DomainID != 0 {
		f.set("domain_id", strconv.FormatInt(l.DomainID, 10))
	}
	if l.ExpiresAt != nil {
		f.set("expires_at", formDate(l.ExpiresAt))
	}
	for name, v := range map[string]*int64{"max_domains": l.MaxDomains, "max_subdomains_per_domain": l.MaxSubdomainsPerDomain,
		"max_usage_per_day": l.MaxUsagePerDay, "max_concurrent": l.MaxConcurrent, "heartbeat_ttl": l.HeartbeatTTL,
		"max_new_activations_per_day": l.MaxNewActivationsPerDay} {
		if v != nil {
			f.set(name, strconv.FormatInt(*v, 10))
		}
	}
	f.set("allowed_ips", deref(l.AllowedIPs))
	f.set("allowed_countries", deref(l.AllowedCountries))
	f.setBool("is_test_license", l.IsTestLicense)
	f.setBool("allow_configs", l.AllowConfigs)
	f.set("validate_against", l.ValidateAgainst)
	f.set("customer_name", deref(l.CustomerName))
	f.set("customer_email", deref(l.CustomerEmail))
	f.set("external_id", deref(l.ExternalID))
	f.set("metadata", metadataText(l.Metadata))
	return d.renderLicenseForm(w, r, http.StatusOK, f, p, l)
}

func (d *dashboard) licenseUpdate(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	if _, err := d.svc.UpdateLicense(r.Context(), actorOf(r), p.ID, l.ID, licenseInput(f, l)); err != nil {
		status, err := refusedLicense(f, err, r)
		if err != nil {
			return err
		}
		return d.renderLicenseForm(w, r, status, f, p, l)
	}
	d.setFlash(w, r, "ok", "License saved.")
	return redirect(w, r, licensePath(l))
}
