package web

import (
	"hash/fnv"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// resetsPerEmail bounds the reset mails one address can be sent per
// minute, below the sign-in limit: a reset form must not flood an inbox.
const resetsPerEmail = 3

type forgotData struct {
	Mail bool
	Sent bool
}

func (d *dashboard) forgotPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderForgot(w, r, http.StatusOK, newForm(), false)
}

func (d *dashboard) renderForgot(w http.ResponseWriter, r *http.Request, status int, f *form, sent bool) error {
	return d.render(w, r, status, "forgot_password", &view{Title: "Forgot password", Form: f, CSRF: d.formToken(w, r),
		Data: forgotData{Mail: d.svc.MailConfigured(), Sent: sent}})
}

// forgot mails a reset link. The page answers the same whether or not the
// email has an account (and the mail leaves in the background).
func (d *dashboard) forgot(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return err
	}
	f := formOf(r)
	email := f.str("email")
	if err := d.throttle(w, r, email); err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(email)))
	if res := d.limiter.Allow(ratelimit.Key{Kind: "reset-email", ID: int64(h.Sum64())}, resetsPerEmail, d.now()); !res.Allowed {
		// Answered as a success: the first mails are on their way, and a
		// refusal would tell that the address was asked for.
		return d.renderForgot(w, r, http.StatusOK, f, true)
	}
	if err := d.svc.RequestPasswordReset(r.Context(), email); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderForgot(w, r, status, f, false)
	}
	return d.renderForgot(w, r, http.StatusOK, f, true)
}

func (d *dashboard) resetPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := d.svc.CheckPasswordReset(r.Context(), r.PathValue("token")); err != nil {
		return err
	}
	return d.renderReset(w, r, http.StatusOK, newForm())
}

func (d *dashboard) renderReset(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	return d.render(w, r, status, "reset_password", &view{Title: "Choose a new password", Form: f, CSRF: d.formToken(w, r)})
}

// reset sets the new password; every session of the user ends, this
// browser's included, and the person signs in again.
func (d *dashboard) reset(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return err
	}
	if err := d.throttle(w, r, ""); err != nil {
		return err
	}
	f := formOf(r)
	if f.Get("password") != f.Get("password_confirm") {
		f.Errors = map[string][]string{"password_confirm": {"The two passwords differ."}}
		f.Error = "The two passwords differ."
		return d.renderReset(w, r, http.StatusUnprocessableEntity, f)
	}
	err := d.svc.ResetPassword(r.Context(), r.PathValue("token"), f.Get("password"), core.ClientIP(r.Context()), r.UserAgent())
	if err != nil {
		if core.IsCode(err, core.ENotFound) {
			return err
		}
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderReset(w, r, status, f)
	}
	d.setCookie(w, r, sessionCookie, "", -1)
	d.setFlash(w, r, "ok", "Your password was changed and every session of your account was signed out: sign in with the new password.")
	return redirect(w, r, "/login")
}
