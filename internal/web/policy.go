package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The organization's policy (issue 15), set by its owners on the settings
// page: the plan's switches, only ever stricter, the scopes developers
// may give their keys, and a default key lifetime. The service refuses a
// policy looser than the plan (PLAN_LIMIT); the refusal is shown in the
// policy panel, with what was posted.

// policyValues fills the policy form from the saved policy. A switch the
// policy sets to false is a ticked "forbid"; true and unset both leave
// the plan to decide, so both are unticked.
func policyValues(pol core.Policy) *form {
	f := newForm()
	f.set("form", "policy")
	for _, sw := range switchDefs {
		if v := *sw.of(&pol.Switches); v != nil && !*v {
			f.set(sw.field, "1")
		}
	}
	if v := pol.MaxKeyLifetime; v != nil {
		f.set("max_key_lifetime", lifetimeInput(*v))
	}
	if v := pol.DefaultKeyLifetime; v != nil {
		f.set("default_key_lifetime", lifetimeInput(*v))
	}
	if pol.DeveloperScopes != nil {
		f.set("limit_developer_scopes", "1")
		f.Values["developer_scopes"] = pol.DeveloperScopes.Strings()
	}
	return f
}

// lifetime reads an optional key lifetime ("90d", "1y", "36h", seconds):
// blank is nil.
func (f *form) lifetime(name string) *int64 {
	s := f.str(name)
	if s == "" {
		return nil
	}
	sec, ok := service.ParseLifetime(s)
	if !ok {
		f.problems.Add(name, "The "+label(name)+" field must be a duration such as 90d, 1y or 36h.")
		return nil
	}
	return &sec
}

// policyOf reads the posted policy form.
func policyOf(f *form) core.Policy {
	var pol core.Policy
	for _, sw := range switchDefs {
		if f.bool(sw.field) {
			forbid := false
			*sw.of(&pol.Switches) = &forbid
		}
	}
	pol.MaxKeyLifetime = f.lifetime("max_key_lifetime")
	pol.DefaultKeyLifetime = f.lifetime("default_key_lifetime")
	if f.bool("limit_developer_scopes") {
		set, err := core.ParseScopes(f.Values["developer_scopes"])
		if err != nil {
			f.problems.Add("developer_scopes", "The developer scopes field holds an unknown scope.")
		}
		pol.DeveloperScopes = &set
	}
	return pol
}

// settingsPolicy saves the organization's policy (owners; the service
// decides).
func (d *dashboard) settingsPolicy(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	f.set("form", "policy")
	pol := policyOf(f)
	err := f.problems.Err()
	if err == nil {
		_, err = d.svc.SetPolicy(r.Context(), actorOf(r), pol)
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderSettings(w, r, status, f)
	}
	d.setFlash(w, r, "ok", "Policy saved.")
	return redirect(w, r, "/settings")
}
