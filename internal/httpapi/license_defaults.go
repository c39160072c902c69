package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// licenseDefaultsPatch reads a license_defaults object (issue 15) as a
// merge patch: a field sent as null removes that default, the object sent
// as null removes them all. A string holding a JSON object is read as the
// object (form bodies). Problems are named name.field, as the service
// names its own.
func licenseDefaultsPatch(b *body, name string) service.LicenseDefaultsPatch {
	var d service.LicenseDefaultsPatch
	raw := b.fields[name]
	if string(raw) == "null" {
		d.Clear = true
		return d
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		raw = json.RawMessage(s)
		if err := checkFields(raw, nil); err != nil || !core.ValidJSONText(raw) {
			b.problems().Add(name, core.InvalidText(name).Message)
			return d
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		b.problems().Add(name, "The "+label(name)+" field must be a JSON object.")
		return d
	}
	// The fields are read by a body of their own, keyed name.field, so the
	// getters' messages name them in full.
	sub := &body{fields: map[string]json.RawMessage{}, p: b.problems()}
	for k, v := range fields {
		if !slices.Contains(service.LicenseDefaultFields, k) {
			field := name + "." + k
			if !core.ValidText(k) {
				field = name
			}
			sub.p.Add(field, "The "+label(field)+" field is not a license default: use "+
				strings.Join(service.LicenseDefaultFields, ", ")+".")
			continue
		}
		sub.fields[name+"."+k] = v
	}
	at := func(f string) string { return name + "." + f }
	if f := at("expires_in"); sub.has(f) {
		if sub.isNull(f) {
			d.ExpiresIn = service.Some[*string](nil)
		} else if v, ok := sub.str(f); ok {
			d.ExpiresIn = service.Some(&v)
		}
	}
	for f, dst := range map[string]*service.Opt[*int64]{"max_domains": &d.MaxDomains,
		"max_subdomains_per_domain": &d.MaxSubdomainsPerDomain, "max_usage_per_day": &d.MaxUsagePerDay,
		"max_concurrent": &d.MaxConcurrent, "heartbeat_ttl": &d.HeartbeatTTL} {
		if f = at(f); !sub.has(f) {
			continue
		}
		if sub.isNull(f) {
			*dst = service.Some[*int64](nil)
		} else if n, ok := sub.integer(f); ok {
			*dst = service.Some(&n)
		}
	}
	for f, dst := range map[string]*service.Opt[*string]{"allowed_countries": &d.AllowedCountries, "allowed_ips": &d.AllowedIPs} {
		if f = at(f); !sub.has(f) {
			continue
		}
		if sub.isNull(f) {
			*dst = service.Some[*string](nil)
		} else if v := sub.csv(f); v != nil {
			*dst = service.Some(v)
		}
	}
	for f, dst := range map[string]*service.Opt[*bool]{"is_test_license": &d.IsTestLicense, "allow_configs": &d.AllowConfigs} {
		if f = at(f); !sub.has(f) {
			continue
		}
		if sub.isNull(f) {
			*dst = service.Some[*bool](nil)
		} else if v, ok := sub.boolean(f); ok {
			*dst = service.Some(&v)
		}
	}
	return d
}

// licenseDefaultsJSON is how the organization's defaults are shown and
// sent: the same object as a project's license_defaults.
type licenseDefaultsJSON struct {
	LicenseDefaults core.LicenseDefaults `json:"license_defaults"`
}

func (h *api) showOrgLicenseDefaults(w http.ResponseWriter, r *http.Request) error {
	d, err := h.svc.OrganizationLicenseDefaults(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", licenseDefaultsJSON{d})
}

// setOrgLicenseDefaults replaces the organization's defaults with the
// license_defaults object sent (PUT: a field left out has no default
// afterwards; null clears them all).
func (h *api) setOrgLicenseDefaults(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	patch := service.LicenseDefaultsPatch{Clear: true}
	if !b.has("license_defaults") {
		b.problems().Add("license_defaults", "The license defaults field is required.")
	} else {
		patch = licenseDefaultsPatch(b, "license_defaults")
		patch.Clear = true
	}
	d, err := h.svc.SetOrganizationLicenseDefaults(r.Context(), actorFrom(r), patch, b.p)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "License defaults saved.", licenseDefaultsJSON{d})
}
