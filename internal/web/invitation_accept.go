package web

import (
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// inviteData is what the page of an invitation's link shows.
type inviteData struct {
	Invitation service.OpenedInvitation
	Token      string
	// SignedIn is the email of this browser's session, if any.
	SignedIn string
}

// invitePage is where an invitation's link leads: a new account's form,
// or, for an email with an account, signing in (the whole sign-in, with
// whatever it asks for) and then joining.
func (d *dashboard) invitePage(w http.ResponseWriter, r *http.Request) error {
	return d.renderInvite(w, r, http.StatusOK, newForm())
}

func (d *dashboard) renderInvite(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	// The URL holds the token: no referrer carries it elsewhere.
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.PathValue("token")
	inv, err := d.svc.OpenInvitation(r.Context(), token)
	if err != nil {
		return err
	}
	data := inviteData{Invitation: *inv, Token: token}
	v := &view{Title: "Join " + inv.Invitation.OrgName, Form: f, Data: &data}
	if info, err := d.svc.Session(r.Context(), sessionToken(r)); err == nil {
		// Signed in: the join form posts with the session's token.
		data.SignedIn = info.User.Email
		v.CSRF = info.Session.CSRFToken
	} else {
		v.CSRF = d.formToken(w, r)
	}
	return d.render(w, r, status, "invite", v)
}

// inviteAccept creates the invited email's account and signs it in.
func (d *dashboard) inviteAccept(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return err
	}
	if err := d.throttle(w, r, ""); err != nil {
		return err
	}
	f := formOf(r)
	token, err := d.svc.AcceptInvitation(r.Context(), service.AcceptInvitationInput{Token: r.PathValue("token"),
		Name: f.str("name"), Password: f.Get("password"), Addr: core.ClientIP(r.Context()), UserAgent: r.UserAgent()})
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderInvite(w, r, status, f)
	}
	d.startSession(w, r, token)
	d.setFlash(w, r, "ok", "Welcome: your account was created and you joined the organization.")
	return redirect(w, r, "/projects")
}

// inviteJoin adds the signed-in user to the invitation's organization.
func (d *dashboard) inviteJoin(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	inv, err := d.svc.JoinInvitation(r.Context(), sessionOf(r), token, core.ClientIP(r.Context()), r.UserAgent())
	if err != nil {
		if e, ok := publicError(err, r); ok && e.Code != core.ENotFound {
			d.setFlash(w, r, "error", e.Message)
			return redirect(w, r, "/invite/"+url.PathEscape(token))
		}
		return err
	}
	d.setFlash(w, r, "ok", "You joined "+inv.OrgName+" as "+string(inv.Role)+".")
	return redirect(w, r, "/projects")
}
