package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

// maxListed is how many domains or injectables a project page lists; the
// API pages through more.
const maxListed = 500

func (d *dashboard) domainList(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	ds, err := d.svc.ListDomains(r.Context(), actorOf(r), p.ID, 0, maxListed)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "domain_list", &view{Title: "Domains · " + p.Name, Nav: "projects", Project: p, Tab: "domains", Data: ds})
}

// domain loads the domain named by the path, in the path's project.
func (d *dashboard) domain(r *http.Request) (*core.Project, *core.Domain, error) {
	p, err := d.project(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "d")
	if err != nil {
		return nil, nil, err
	}
	dom, err := d.svc.Domain(r.Context(), actorOf(r), p.ID, id)
	return p, dom, err
}
