package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

// member loads the member named by the path.
func (d *dashboard) member(r *http.Request) (*core.Member, error) {
	id, err := pathID(r, "u")
	if err != nil {
		return nil, err
	}
	ms, err := d.svc.ListMembers(r.Context(), actorOf(r))
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if ms[i].UserID == id {
			return &ms[i], nil
		}
	}
	return nil, core.NotFound("Member")
}

func (d *dashboard) teamRole(w http.ResponseWriter, r *http.Request) error {
	m, err := d.member(r)
	if err != nil {
		return err
	}
	role := core.Role(r.PostFormValue("role"))
	if err := d.svc.ChangeMemberRole(r.Context(), actorOf(r), m.UserID, role); err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/team")
	}
	d.setFlash(w, r, "ok", m.Email+" is now "+string(role)+".")
	return redirect(w, r, "/team")
}

func (d *dashboard) teamRemovePage(w http.ResponseWriter, r *http.Request) error {
	m, err := d.member(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Remove member", Nav: "team", Data: confirmData{
		Heading: "Remove " + m.Email + " from the organization?",
		Body: "Their API keys in this organization are revoked and stop working at once, and they are signed out of it. " +
			"Their user account itself stays, with its other organizations.",
		Action: r.URL.Path, Button: "Remove member", Cancel: "/team",
	}})
}

func (d *dashboard) teamRemove(w http.ResponseWriter, r *http.Request) error {
	m, err := d.member(r)
	if err != nil {
		return err
	}
	if err := d.svc.RemoveMember(r.Context(), actorOf(r), m.UserID); err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/team")
	}
	if m.UserID == sessionOf(r).User.ID {
		// Leaving the organization ended this session too.
		d.setCookie(w, r, sessionCookie, "", -1)
		d.setFlash(w, r, "ok", "You left the organization.")
		return redirect(w, r, "/login")
	}
	d.setFlash(w, r, "ok", m.Email+" was removed; their API keys were revoked.")
	return redirect(w, r, "/team")
}
