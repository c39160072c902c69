package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// License defaults (issue 15) in the dashboard: a section of the project
// settings page and of the organization settings page, each its own form
// that replaces the whole set (an empty field has no default), and the new
// license form, prefilled with the defaults that apply.

// defaultsPrefix names the section's fields as the service names their
// problems ("license_defaults.max_domains"), so each lands on its input.
const defaultsPrefix = "license_defaults."

// licenseDefaultsSection is what _license_defaults.html shows.
type licenseDefaultsSection struct {
	Form    *form
	Action  string
	CanEdit bool
	// Fallback is shown as a hint: on a project, the organization's
	// default of each field (what applies when the project has none).
	Fallback map[string]string
	Project  bool
}

// defaultsText is each default that is set, as the form holds it.
func defaultsText(d core.LicenseDefaults) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]*string{"expires_in": d.ExpiresIn, "allowed_countries": d.AllowedCountries, "allowed_ips": d.AllowedIPs} {
		if v != nil {
			out[k] = *v
		}
	}
	for k, v := range map[string]*int64{"max_domains": d.MaxDomains, "max_subdomains_per_domain": d.MaxSubdomainsPerDomain,
		"max_usage_per_day": d.MaxUsagePerDay, "max_concurrent": d.MaxConcurrent, "heartbeat_ttl": d.HeartbeatTTL} {
		if v != nil {
			out[k] = strconv.FormatInt(*v, 10)
		}
	}
	for k, v := range map[string]*bool{"is_test_license": d.IsTestLicense, "allow_configs": d.AllowConfigs} {
		if v != nil {
			out[k] = "0"
			if *v {
				out[k] = "1"
			}
		}
	}
	return out
}

// defaultsForm is a form showing d.
func defaultsForm(d core.LicenseDefaults) *form {
	f := newForm()
	for k, v := range defaultsText(d) {
		f.set(defaultsPrefix+k, v)
	}
	return f
}

// defaultsPatch reads the section's form as the whole new set of defaults.
func defaultsPatch(f *form) service.LicenseDefaultsPatch {
	p := service.LicenseDefaultsPatch{Clear: true}
	text := func(name string) *string { return f.optStr(defaultsPrefix + name) }
	p.ExpiresIn, p.AllowedCountries, p.AllowedIPs = service.Some(text("expires_in")), service.Some(text("allowed_countries")),
		service.Some(text("allowed_ips"))
	for name, dst := range map[string]*service.Opt[*int64]{"max_domains": &p.MaxDomains, "max_subdomains_per_domain": &p.MaxSubdomainsPerDomain,
		"max_usage_per_day": &p.MaxUsagePerDay, "max_concurrent": &p.MaxConcurrent, "heartbeat_ttl": &p.HeartbeatTTL} {
		*dst = service.Some(f.optInt(defaultsPrefix + name))
	}
	for name, dst := range map[string]*service.Opt[*bool]{"is_test_license": &p.IsTestLicense, "allow_configs": &p.AllowConfigs} {
		var v *bool
		switch f.str(defaultsPrefix + name) {
		case "1":
			v = new(true)
		case "0":
			v = new(false)
		case "":
		default:
			f.problems.Add(defaultsPrefix+name, "The "+label(defaultsPrefix+name)+" field must be yes, no or no default.")
		}
		*dst = service.Some(v)
	}
	return p
}

// projectDefaultsSection is the project settings page's section; posted
// is the refused form to show again, when there is one.
func (d *dashboard) projectDefaultsSection(r *http.Request, p *core.Project, posted []*form) *licenseDefaultsSection {
	s := &licenseDefaultsSection{Form: defaultsForm(p.LicenseDefaults), Project: true, CanEdit: actorOf(r).Can(core.ScopeProjectsWrite),
		Action: "/projects/" + strconv.FormatInt(p.ID, 10) + "/license-defaults"}
	if len(posted) > 0 && posted[0] != nil {
		s.Form = posted[0]
	}
	if org, err := d.svc.OrganizationLicenseDefaults(r.Context(), actorOf(r)); err == nil {
		s.Fallback = defaultsText(org)
	}
	return s
}

// orgDefaultsSection is the organization settings page's section.
func (d *dashboard) orgDefaultsSection(r *http.Request, posted []*form) *licenseDefaultsSection {
	a := actorOf(r)
	s := &licenseDefaultsSection{Action: "/settings/license-defaults",
		CanEdit: a.Role.Rank() >= core.RoleAdmin.Rank() && a.Can(core.ScopeProjectsWrite)}
	if len(posted) > 0 && posted[0] != nil {
		s.Form = posted[0]
		return s
	}
	org, err := d.svc.OrganizationLicenseDefaults(r.Context(), a)
	if err != nil {
		return nil
	}
	s.Form = defaultsForm(org)
	return s
}

func (d *dashboard) projectDefaultsUpdate(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	patch := defaultsPatch(f)
	_, err = d.svc.UpdateProject(r.Context(), actorOf(r), p.ID, service.ProjectInput{LicenseDefaults: service.Some(patch), Problems: f.problems})
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderProjectForm(w, r, status, projectEditForm(p), p, f)
	}
	d.setFlash(w, r, "ok", "License defaults saved.")
	return redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10)+"/edit")
}

func (d *dashboard) orgDefaultsUpdate(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	patch := defaultsPatch(f)
	if _, err := d.svc.SetOrganizationLicenseDefaults(r.Context(), actorOf(r), patch, f.problems); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderSettings(w, r, status, newForm(), f)
	}
	d.setFlash(w, r, "ok", "Organization license defaults saved.")
	return redirect(w, r, "/settings")
}

// prefillLicenseDefaults fills the new license form with the defaults that
// apply, so that what is posted is what the person saw: an emptied field
// is "no restriction".
func (d *dashboard) prefillLicenseDefaults(r *http.Request, f *form, p *core.Project) {
	_, eff, err := d.svc.ProjectLicenseDefaults(r.Context(), actorOf(r), p.ID)
	if err != nil {
		return
	}
	for k, v := range defaultsText(eff) {
		switch {
		case k == "expires_in" && v == service.NeverExpires:
		case k == "is_test_license" || k == "allow_configs":
			f.setBool(k, v == "1")
		default:
			f.set(k, v)
		}
	}
}

// omitUnsent leaves out of a license create the defaultable fields the
// form did not post at all (a form that has no such input), so that they
// take the defaults; a field posted empty is "no restriction". The form's
// checkboxes are followed by a hidden input, so an unticked one is posted
// (as "0") rather than missing.
func omitUnsent(f *form, in *service.LicenseInput) {
	sent := func(name string) bool { _, ok := f.Values[name]; return ok }
	for name, o := range map[string]*service.Opt[*int64]{"max_domains": &in.MaxDomains, "max_subdomains_per_domain": &in.MaxSubdomainsPerDomain,
		"max_usage_per_day": &in.MaxUsagePerDay, "max_concurrent": &in.MaxConcurrent, "heartbeat_ttl": &in.HeartbeatTTL} {
		if !sent(name) {
			*o = service.Opt[*int64]{}
		}
	}
	for name, o := range map[string]*service.Opt[*string]{"allowed_ips": &in.AllowedIPs, "allowed_countries": &in.AllowedCountries} {
		if !sent(name) {
			*o = service.Opt[*string]{}
		}
	}
	for name, o := range map[string]*service.Opt[bool]{"is_test_license": &in.IsTestLicense, "allow_configs": &in.AllowConfigs} {
		if !sent(name) {
			*o = service.Opt[bool]{}
		}
	}
	switch v := strings.TrimSpace(f.Get("expires_in")); {
	case v != "":
		in.ExpiresIn = service.Some(v)
		if f.str("expires_at") == "" {
			in.ExpiresAt = service.Opt[*time.Time]{}
		}
	case !sent("expires_at") && !sent("expires_in"):
		in.ExpiresAt = service.Opt[*time.Time]{}
	}
}
