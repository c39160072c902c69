package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// teamAdd invites a member by email. With SMTP the link is mailed; without,
// or when the mail fails, the page shows the link for the owner to hand
// over (rendered, not redirected: the link is shown once and never put in
// a cookie or a URL of this site).
func (d *dashboard) teamAdd(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	res, err := d.svc.Invite(r.Context(), actorOf(r), service.InviteInput{Email: f.str("email"), Role: core.Role(f.str("role"))})
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderTeam(w, r, status, f, nil)
	}
	return d.invitationSent(w, r, res)
}

// invitationSent answers an invitation made or resent.
func (d *dashboard) invitationSent(w http.ResponseWriter, r *http.Request, res *service.InviteResult) error {
	inv := res.Invitation
	if res.Mailed {
		d.setFlash(w, r, "ok", "An invitation to join as "+string(inv.Role)+" was sent to "+inv.Email+
			". The link works once, for 7 days.")
		return redirect(w, r, "/team")
	}
	link := &inviteLink{Email: inv.Email, URL: res.Link, MailError: res.MailError}
	if link.URL == "" {
		link.URL = d.origin(r) + "/invite/" + res.Token
	}
	f := newForm()
	f.set("role", string(core.RoleDeveloper))
	return d.renderTeam(w, r, http.StatusOK, f, link)
}

// origin is where this request reached the dashboard, for links shown to
// the signed-in owner when --public-url is not set (never in mails).
func (d *dashboard) origin(r *http.Request) string {
	if d.publicURL != "" {
		return d.publicURL
	}
	scheme := "http"
	if d.https(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// teamResendInvitation gives a pending invitation a new link.
func (d *dashboard) teamResendInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "i")
	if err != nil {
		return err
	}
	res, err := d.svc.ResendInvitation(r.Context(), actorOf(r), id)
	if err != nil {
		return err
	}
	return d.invitationSent(w, r, res)
}

// teamRevokeInvitation withdraws a pending invitation.
func (d *dashboard) teamRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "i")
	if err != nil {
		return err
	}
	if err := d.svc.RevokeInvitation(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "The invitation was withdrawn: its link no longer works.")
	return redirect(w, r, "/team")
}
