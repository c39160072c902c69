package web

import "net/http"

func (d *dashboard) injectableDeletePage(w http.ResponseWriter, r *http.Request) error {
	p, i, err := d.injectable(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Delete injectable", Nav: "projects", Project: p, Tab: "injectables",
		Data: confirmData{
			Heading: "Delete the injectable " + i.Slug + "?",
			Body:    "Copies stop receiving it on their next validation.",
			Action:  r.URL.Path, Button: "Delete injectable", Cancel: injectablesPath(p),
		}})
}

func (d *dashboard) injectableDelete(w http.ResponseWriter, r *http.Request) error {
	p, i, err := d.injectable(r)
	if err != nil {
		return err
	}
	if err := d.svc.DeleteInjectable(r.Context(), actorOf(r), p.ID, i.ID); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Injectable "+i.Slug+" deleted.")
	return redirect(w, r, injectablesPath(p))
}
