package web

import (
	"net/http"
)

// confirmData describes a confirmation page: what will happen, and where
// the form posts.
type confirmData struct {
	Heading string
	Body    string
	Action  string
	Button  string
	Cancel  string
}

func (d *dashboard) projectDeletePage(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Delete project", Nav: "projects", Data: confirmData{
		Heading: "Delete the project " + p.Name + "?",
		Body: "Its domains, licenses and injectables become inaccessible at once, every copy validating one of its " +
			"licenses is refused, and its project-scoped API keys are revoked. This cannot be undone from the dashboard.",
		Action: r.URL.Path, Button: "Delete project", Cancel: "/projects/" + r.PathValue("p"),
	}})
}

func (d *dashboard) projectDelete(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	if err := d.svc.DeleteProject(r.Context(), actorOf(r), p.ID); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Project "+p.Name+" deleted.")
	return redirect(w, r, "/projects")
}
