package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

const projectsPerPage = 50

// project loads the project named by the path, if the user may see it.
func (d *dashboard) project(r *http.Request) (*core.Project, error) {
	id, err := pathID(r, "p")
	if err != nil {
		return nil, err
	}
	return d.svc.Project(r.Context(), actorOf(r), id)
}

// queryID reads an optional numeric query parameter; garbage is 0, as if
// it were absent.
func queryID(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

type projectListData struct {
	Projects []core.Project
	Next     int64 // ID to continue after; 0 on the last page
}

func (d *dashboard) projectList(w http.ResponseWriter, r *http.Request) error {
	ps, err := d.svc.ListProjects(r.Context(), actorOf(r), queryID(r, "after"), projectsPerPage+1)
	if err != nil {
		return err
	}
	data := projectListData{Projects: ps}
	if len(ps) > projectsPerPage {
		data.Projects = ps[:projectsPerPage]
		data.Next = ps[projectsPerPage-1].ID
	}
	return d.render(w, r, http.StatusOK, "project_list", &view{Title: "Projects", Nav: "projects", Data: data})
}
