package web

import (
	"io"
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// injectableInput reads the injectable form. Content is encrypted and
// never stored in clear, so it cannot be shown for editing: blank content
// (and no file) on edit keeps what is stored.
func injectableInput(f *form, r *http.Request, edit bool) (service.InjectableInput, error) {
	in := service.InjectableInput{
		Title:            service.Some(f.str("title")),
		Type:             service.Some(f.str("type")),
		Mode:             service.Some(f.str("mode")),
		TargetPath:       service.Some(f.str("target_path")),
		ValidateEndpoint: service.Some(f.optStr("validate_endpoint")),
		OnlyIfPaid:       service.Some(f.bool("only_if_paid")),
		IsActive:         service.Some(f.bool("is_active")),
	}
	if s := f.str("slug"); s != "" || edit {
		in.Slug = service.Some(s)
	}
	if s := f.Get("secret"); s != "" {
		in.Secret = service.Some(s)
	}
	if c := f.Get("content"); c != "" {
		in.Content = service.Some(c)
	}
	if r.MultipartForm != nil {
		if fh := r.MultipartForm.File["file"]; len(fh) > 0 && fh[0].Size > 0 {
			file, err := fh[0].Open()
			if err != nil {
				return in, err
			}
			defer func() { _ = file.Close() }() // read only
			data, err := io.ReadAll(io.LimitReader(file, service.MaxInjectableFile+1))
			if err != nil {
				return in, err
			}
			in.File = &service.Upload{Name: fh[0].Filename, Data: data}
		}
	}
	in.Problems = f.problems
	return in, nil
}

type injectableFormData struct {
	Injectable *core.Injectable
	Types      []string
	Modes      []string
}

func (d *dashboard) renderInjectableForm(w http.ResponseWriter, r *http.Request, status int, f *form, p *core.Project, i *core.Injectable) error {
	title := "New injectable"
	if i != nil {
		title = "Edit " + i.Slug
	}
	// Secrets and content are never sent back into the page.
	f.Values.Del("secret")
	return d.render(w, r, status, "injectable_form", &view{Title: title, Nav: "projects", Project: p, Tab: "injectables", Form: f,
		Data: injectableFormData{Injectable: i, Types: core.InjectableTypes, Modes: core.InjectableModes}})
}

func (d *dashboard) injectableNew(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("type", "snippet")
	f.set("mode", "inject")
	f.setBool("is_active", true)
	f.setBool("only_if_paid", true)
	return d.renderInjectableForm(w, r, http.StatusOK, f, p, nil)
}

func (d *dashboard) injectableCreate(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	in, err := injectableInput(f, r, false)
	if err != nil {
		return err
	}
	i, err := d.svc.CreateInjectable(r.Context(), actorOf(r), p.ID, in)
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderInjectableForm(w, r, status, f, p, nil)
	}
	d.setFlash(w, r, "ok", "Injectable "+i.Slug+" created.")
	return redirect(w, r, injectablesPath(p))
}

func (d *dashboard) injectableEdit(w http.ResponseWriter, r *http.Request) error {
	p, i, err := d.injectable(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("title", i.Title)
	f.set("slug", i.Slug)
	f.set("type", i.Type)
	f.set("mode", i.Mode)
	f.set("target_path", i.TargetPath)
	f.set("validate_endpoint", deref(i.ValidateEndpoint))
	f.setBool("only_if_paid", i.OnlyIfPaid)
	f.setBool("is_active", i.IsActive)
	return d.renderInjectableForm(w, r, http.StatusOK, f, p, i)
}

func (d *dashboard) injectableUpdate(w http.ResponseWriter, r *http.Request) error {
	p, i, err := d.injectable(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	in, err := injectableInput(f, r, true)
	if err != nil {
		return err
	}
	if _, err := d.svc.UpdateInjectable(r.Context(), actorOf(r), p.ID, i.ID, in); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderInjectableForm(w, r, status, f, p, i)
	}
	d.setFlash(w, r, "ok", "Injectable saved.")
	return redirect(w, r, injectablesPath(p))
}
