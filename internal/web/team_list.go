package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

type teamData struct {
	Members []core.Member
	Roles   []core.Role
}

func (d *dashboard) renderTeam(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	ms, err := d.svc.ListMembers(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	return d.render(w, r, status, "team", &view{Title: "Team", Nav: "team", Form: f, Data: teamData{Members: ms, Roles: core.Roles}})
}

func (d *dashboard) teamList(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.set("role", string(core.RoleDeveloper))
	return d.renderTeam(w, r, http.StatusOK, f)
}

// teamAdd adds a member: an existing user by email, or a new user with the
// password given (there is no email delivery to send invitations with).
func (d *dashboard) teamAdd(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	m, err := d.svc.AddMember(r.Context(), actorOf(r), service.AddMemberInput{Email: f.str("email"), Name: f.str("name"),
		Password: f.Get("password"), Role: core.Role(f.str("role"))})
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderTeam(w, r, status, f)
	}
	d.setFlash(w, r, "ok", m.Email+" was added as "+string(m.Role)+".")
	return redirect(w, r, "/team")
}
