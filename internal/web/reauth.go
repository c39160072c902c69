package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// Re-authentication: a sensitive action (a live API key created or
// rotated, a project or organization deleted, a member's role changed, a
// factor removed) runs only when the session's user proved who they are
// within ReauthWindow. Otherwise the action's post is answered with the
// "Confirm it's you" page, which holds the post's fields and posts them
// back to the same action with a password or code (or after a passkey,
// see static/factors.js): the action then goes on as first sent.
const ReauthWindow = 10 * time.Minute

// Fields of the re-authentication page, taken out of the form before the
// action sees it.
const (
	reauthPassword = "_reauth_password"
	reauthCode     = "_reauth_code"
)

// reauthData is the "Confirm it's you" page.
type reauthData struct {
	Action  string
	Fields  url.Values
	Passkey bool
	TOTP    bool
}

// fresh runs next only after a recent verification: the one wrapper of
// every sensitive action (routes.go).
func (d *dashboard) fresh(next handlerFunc) handlerFunc { return d.freshIf(nil, next) }

// freshIf is fresh for the requests sensitive says are (a live key, not a
// test key).
func (d *dashboard) freshIf(sensitive func(r *http.Request) (bool, error), next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pw, code := r.PostFormValue(reauthPassword), r.PostFormValue(reauthCode)
		for _, v := range []url.Values{r.PostForm, r.Form} {
			v.Del(reauthPassword)
			v.Del(reauthCode)
		}
		if sensitive != nil {
			if yes, err := sensitive(r); err != nil || !yes {
				if err != nil {
					return err
				}
				return next(w, r)
			}
		}
		info := sessionOf(r)
		if d.now().Sub(info.Session.VerifiedAt) < ReauthWindow {
			return next(w, r)
		}
		f := newForm()
		if pw != "" || code != "" {
			err := d.throttle(w, r, info.User.Email)
			if err == nil {
				err = d.svc.Reauthenticate(r.Context(), info, actorOf(r), pw, code)
			}
			if err == nil {
				return next(w, r)
			}
			status, err := f.refused(err, r)
			if err != nil {
				return err
			}
			return d.renderReauth(w, r, status, f)
		}
		return d.renderReauth(w, r, http.StatusOK, f)
	}
}

func (d *dashboard) renderReauth(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	info := sessionOf(r)
	rd := reauthData{Action: r.URL.RequestURI(), Fields: url.Values{}}
	for k, vs := range r.PostForm {
		if k != csrfField {
			rd.Fields[k] = vs
		}
	}
	pks, err := d.svc.Passkeys(r.Context(), info.User.ID)
	if err != nil {
		return err
	}
	rd.Passkey = len(pks) > 0
	if rd.TOTP, err = d.svc.TOTPConfirmed(r.Context(), info.User.ID); err != nil {
		return err
	}
	return d.render(w, r, status, "reauth", &view{Title: "Confirm it's you", Form: f, Data: rd})
}

// liveKeyForm reports whether a key creation is for a live key (the form
// defaults to live).
func liveKeyForm(r *http.Request) (bool, error) {
	return r.PostFormValue("env") != core.EnvTest, nil
}

// liveKey reports whether the key in the path is a live key.
func (d *dashboard) liveKey(r *http.Request) (bool, error) {
	k, err := d.apiKey(r)
	if err != nil {
		return false, err
	}
	return k.Env == core.EnvLive, nil
}
