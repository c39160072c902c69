package web

import "net/http"

func (d *dashboard) domainDeletePage(w http.ResponseWriter, r *http.Request) error {
	p, dom, err := d.domain(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Remove domain", Nav: "projects", Project: p, Tab: "domains",
		Data: confirmData{
			Heading: "Remove the domain " + dom.Domain + "?",
			Body:    "Licenses pinned to it become unpinned, and copies that validate against the project's domains are refused on it.",
			Action:  r.URL.Path, Button: "Remove domain", Cancel: domainsPath(p),
		}})
}

func (d *dashboard) domainDelete(w http.ResponseWriter, r *http.Request) error {
	p, dom, err := d.domain(r)
	if err != nil {
		return err
	}
	if err := d.svc.DeleteDomain(r.Context(), actorOf(r), p.ID, dom.ID); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Domain "+dom.Domain+" removed.")
	return redirect(w, r, domainsPath(p))
}
