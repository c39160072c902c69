package web

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// confirmData describes a confirmation page: what will happen, and where
// the form posts.
type confirmData struct {
	Heading string
	Body    string
	Action  string
	Button  string
	Cancel  string
	// TypeName, when set, is the name the person must type (in the
	// confirm_name field) before the action is taken: for deletions that
	// take much with them (a project, an organization).
	TypeName string
}

// confirmNameField is the field of a type-the-name confirmation.
const confirmNameField = "confirm_name"

// typedName checks a type-the-name confirmation on the server: the typed
// name, spaces around it aside, must be the name exactly. what names the
// thing ("project", "organization") in the message.
func typedName(f *form, name, what string) error {
	if strings.TrimSpace(f.Get(confirmNameField)) == name {
		return nil
	}
	return core.Invalid(confirmNameField, "Type the "+what+"'s name, "+name+", exactly to confirm.")
}

// renderConfirm shows a confirmation page; f holds a refused post.
func (d *dashboard) renderConfirm(w http.ResponseWriter, r *http.Request, status int, title, nav string, f *form, c confirmData) error {
	if f == nil {
		f = newForm()
	}
	return d.render(w, r, status, "confirm", &view{Title: title, Nav: nav, Form: f, Data: c})
}

func (d *dashboard) projectDeletePage(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	return d.renderConfirm(w, r, http.StatusOK, "Delete project", "projects", nil, projectDeleteConfirm(r, p))
}

func projectDeleteConfirm(r *http.Request, p *core.Project) confirmData {
	return confirmData{
		Heading: "Delete the project " + p.Name + "?",
		Body: "Its domains, licenses and injectables become inaccessible at once, every copy validating one of its " +
			"licenses is refused, and its project-scoped API keys are revoked. This cannot be undone from the dashboard.",
		Action: r.URL.Path, Button: "Delete project", Cancel: "/projects/" + r.PathValue("p"), TypeName: p.Name,
	}
}

func (d *dashboard) projectDelete(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	// Whoever may not delete it hears that first, not about the name.
	if actorOf(r).Can(core.ScopeProjectsWrite) {
		err = typedName(f, p.Name, "project")
	}
	if err == nil {
		err = d.svc.DeleteProject(r.Context(), actorOf(r), p.ID)
	}
	if err != nil && !core.IsCode(err, core.EInvalid) {
		return err // refused (a viewer's post): an error page
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderConfirm(w, r, status, "Delete project", "projects", f, projectDeleteConfirm(r, p))
	}
	d.setFlash(w, r, "ok", "Project "+p.Name+" deleted.")
	return redirect(w, r, "/projects")
}
