package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

func (d *dashboard) injectableList(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	is, err := d.svc.ListInjectables(r.Context(), actorOf(r), p.ID, 0, maxListed)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "injectable_list", &view{Title: "Injectables · " + p.Name, Nav: "projects",
		Project: p, Tab: "injectables", Data: is})
}

// injectable loads the injectable named by the path, in the path's project.
func (d *dashboard) injectable(r *http.Request) (*core.Project, *core.Injectable, error) {
	p, err := d.project(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "i")
	if err != nil {
		return nil, nil, err
	}
	i, err := d.svc.Injectable(r.Context(), actorOf(r), p.ID, id)
	return p, i, err
}

func injectablesPath(p *core.Project) string {
	return "/projects/" + strconv.FormatInt(p.ID, 10) + "/injectables"
}
