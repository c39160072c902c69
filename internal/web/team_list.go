package web

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

type teamData struct {
	Members     []core.Member
	Invitations []core.Invitation // owners only
	Roles       []core.Role
	Now         time.Time
	// Mail tells whether invitations are mailed; Link, after an invitation
	// was made or resent without a mail, is the link to hand over.
	Mail bool
	Link *inviteLink
}

// inviteLink is an invitation link shown once to the owner who made it.
type inviteLink struct {
	Email     string
	URL       string
	MailError string
}

func (d *dashboard) renderTeam(w http.ResponseWriter, r *http.Request, status int, f *form, link *inviteLink) error {
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
	if link != nil {
		// The page holds a one-time link: keep it out of referrers.
		w.Header().Set("Referrer-Policy", "no-referrer")
	}
	return d.render(w, r, status, "team", &view{Title: "Team", Nav: "team", Form: f,
		Data: teamData{Members: ms, Invitations: invs, Roles: core.Roles, Now: d.now(), Mail: d.svc.MailConfigured(), Link: link}})
}

func (d *dashboard) teamList(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.set("role", string(core.RoleDeveloper))
	return d.renderTeam(w, r, http.StatusOK, f, nil)
}
