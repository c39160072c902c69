package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// projectInput reads the project form. On edit, a blank webhook secret
// keeps the stored one unless "remove" is ticked: the secret is never
// shown again, so the field cannot be pre-filled.
func projectInput(f *form, edit bool) service.ProjectInput {
	in := service.ProjectInput{
		Name:               service.Some(f.str("name")),
		Description:        service.Some(f.optStr("description")),
		DefaultRedirectURL: service.Some(f.optStr("default_redirect_url")),
		LogoURL:            service.Some(f.optStr("logo_url")),
		WebhookURL:         service.Some(f.optStr("webhook_url")),
		HasPaid:            service.Some(f.bool("has_paid")),
		IsActive:           service.Some(f.bool("is_active")),
		// Offline license files encrypted to each license's key (issue 16).
		LicenseFileEncryption: service.Some(f.bool("license_file_encryption")),
	}
	if s := f.str("slug"); s != "" || edit {
		in.Slug = service.Some(s)
	}
	if s := f.optStr("webhook_secret"); s != nil {
		in.WebhookSecret = service.Some(s)
	} else if edit && f.bool("clear_webhook_secret") {
		in.WebhookSecret = service.Some[*string](nil)
	}
	in.Problems = f.problems
	return in
}

type projectFormData struct {
	Edit             bool
	HasWebhookSecret bool
	LicenseDefaults  *licenseDefaultsSection
}

// renderProjectForm shows the project form; on edit, defaults is the
// license defaults form refused, to show again.
func (d *dashboard) renderProjectForm(w http.ResponseWriter, r *http.Request, status int, f *form, p *core.Project, defaults ...*form) error {
	v := &view{Title: "New project", Nav: "projects", Form: f, Data: projectFormData{}}
	if p != nil {
		v.Title, v.Project, v.Tab = "Project settings", p, "edit"
		v.Data = projectFormData{Edit: true, HasWebhookSecret: len(p.WebhookSecretEnc) > 0,
			LicenseDefaults: d.projectDefaultsSection(r, p, defaults)}
	}
	return d.render(w, r, status, "project_form", v)
}

func (d *dashboard) projectNew(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.setBool("is_active", true)
	return d.renderProjectForm(w, r, http.StatusOK, f, nil)
}

func (d *dashboard) projectCreate(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	p, err := d.svc.CreateProject(r.Context(), actorOf(r), projectInput(f, false))
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderProjectForm(w, r, status, f, nil)
	}
	d.setFlash(w, r, "ok", "Project "+p.Name+" created.")
	return redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10))
}

func (d *dashboard) projectEdit(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	return d.renderProjectForm(w, r, http.StatusOK, projectEditForm(p), p)
}

// projectEditForm is the project form holding p's fields.
func projectEditForm(p *core.Project) *form {
	f := newForm()
	f.set("name", p.Name)
	f.set("slug", p.Slug)
	f.set("description", deref(p.Description))
	f.set("default_redirect_url", deref(p.DefaultRedirectURL))
	f.set("logo_url", deref(p.LogoURL))
	f.set("webhook_url", deref(p.WebhookURL))
	f.setBool("has_paid", p.HasPaid)
	f.setBool("is_active", p.IsActive)
	f.setBool("license_file_encryption", p.LicenseFileEncryption)
	return f
}

func (d *dashboard) projectUpdate(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	if _, err := d.svc.UpdateProject(r.Context(), actorOf(r), p.ID, projectInput(f, true)); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderProjectForm(w, r, status, f, p)
	}
	d.setFlash(w, r, "ok", "Project saved.")
	return redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
