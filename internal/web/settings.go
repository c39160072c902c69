package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/version"
)

type settingsData struct {
	Version         string
	BaseURL         string
	Org             *orgSettings // plan, usage and policy (plan.go)
	LicenseDefaults *licenseDefaultsSection
}

// renderSettings shows the settings; defaults is the organization's
// license defaults form refused, to show again.
func (d *dashboard) renderSettings(w http.ResponseWriter, r *http.Request, status int, f *form, defaults ...*form) error {
	org, f, err := d.orgSettings(r, f)
	if err != nil {
		return err
	}
	if _, posted := f.Values["name"]; !posted {
		f.set("name", sessionOf(r).User.Name)
	}
	if _, posted := f.Values[orgNameField]; !posted {
		f.set(orgNameField, sessionOf(r).OrgName)
	}
	f.Values.Del("current_password")
	f.Values.Del("password")
	return d.render(w, r, status, "settings", &view{Title: "Settings", Nav: "settings", Form: f,
		Data: settingsData{Version: version.String(), BaseURL: d.baseURL(r), Org: org,
			LicenseDefaults: d.orgDefaultsSection(r, defaults)}})
}

func (d *dashboard) settings(w http.ResponseWriter, r *http.Request) error {
	return d.renderSettings(w, r, http.StatusOK, newForm())
}

func (d *dashboard) settingsProfile(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	if _, err := d.svc.UpdateProfile(r.Context(), actorOf(r), f.Get("name")); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderSettings(w, r, status, f)
	}
	d.setFlash(w, r, "ok", "Profile saved.")
	return redirect(w, r, "/settings")
}

// settingsPassword changes the password; every other session of the user
// ends, and this browser gets a fresh one.
func (d *dashboard) settingsPassword(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	token, err := d.svc.ChangePassword(r.Context(), actorOf(r), f.Get("current_password"), f.Get("password"))
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderSettings(w, r, status, f)
	}
	d.startSession(w, r, token)
	d.setFlash(w, r, "ok", "Password changed. Your other sessions were signed out.")
	return redirect(w, r, "/settings")
}
