package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

type teamData struct {
	Members     []core.Member
	Invitations []core.Invitation // owners only
	Roles       []core.Role
}

func (d *dashboard) renderTeam(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	actor := actorOf(r)
	ms, err := d.svc.ListMembers(r.Context(), actor)
	if err != nil {
		return err
	}
	var invs []core.Invitation
	if actor.Role.ManagesMembers() {
		if invs, err = d.svc.ListInvitations(r.Context(), actor); err != nil {
			return err
		}
	}
	return d.render(w, r, status, "team", &view{Title: "Team", Nav: "team", Form: f,
		Data: teamData{Members: ms, Invitations: invs, Roles: core.Roles}})
}

func (d *dashboard) teamList(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.set("role", string(core.RoleDeveloper))
	return d.renderTeam(w, r, http.StatusOK, f)
}

// teamAdd invites a member by email. The answer is the same whether or not
// the email has an account; the person joins only by accepting at their
// next sign-in (there is no email delivery to send invitations with yet).
func (d *dashboard) teamAdd(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	inv, err := d.svc.AddMember(r.Context(), actorOf(r), service.AddMemberInput{Email: f.str("email"), Name: f.str("name"),
		Password: f.Get("password"), Role: core.Role(f.str("role"))})
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderTeam(w, r, status, f)
	}
	d.setFlash(w, r, "ok", inv.Email+" was invited as "+string(inv.Role)+
		". They join when they accept the invitation at their next sign-in: with the first password you set if the email had no account here, else with their own.")
	return redirect(w, r, "/team")
}

// teamCancelInvitation withdraws a pending invitation.
func (d *dashboard) teamCancelInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "u")
	if err != nil {
		return err
	}
	if err := d.svc.CancelInvitation(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "The invitation was withdrawn.")
	return redirect(w, r, "/team")
}
