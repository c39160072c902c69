package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The second step of a sign-in: the password was right and the user has
// a second factor. The half-done sign-in waits in a sealed cookie for a
// few minutes, and the factor page asks for an authenticator code, a
// recovery code or a passkey.
const (
	pendingCookie = "latchkey_pending"
	pendingMaxAge = 5 * time.Minute
)

type pendingLogin struct {
	UserID int64  `json:"u"`
	OrgID  int64  `json:"o"`
	Next   string `json:"n"`
}

var errPendingExpired = &core.Error{Code: core.EUnauthorized, Reason: core.ReasonNoSession,
	Message: "Your sign-in has expired: enter your email and password again."}

// pendingThrottleKey throttles second-step attempts per user, with the
// sign-in limiter's per-email limit.
func pendingThrottleKey(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

// pendingSignIn checks the pre-session form token and returns the
// half-done sign-in.
func (d *dashboard) pendingSignIn(w http.ResponseWriter, r *http.Request) (*pendingLogin, error) {
	if err := d.checkFormToken(w, r); err != nil {
		return nil, err
	}
	var p pendingLogin
	if err := d.openSealed(r, pendingCookie, &p); err != nil {
		return nil, errPendingExpired
	}
	return &p, nil
}

// startFactorStep answers a right password of a user with a factor.
func (d *dashboard) startFactorStep(w http.ResponseWriter, r *http.Request, need *service.SecondFactorRequired, next string) error {
	if err := d.setSealed(w, r, pendingCookie, pendingLogin{UserID: need.UserID, OrgID: need.OrgID, Next: next}, pendingMaxAge); err != nil {
		return err
	}
	return redirect(w, r, "/login/factor")
}

func (d *dashboard) renderFactorLogin(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	return d.render(w, r, status, "login_factor", &view{Title: "Two-step verification", Form: f, CSRF: d.formToken(w, r)})
}

// loginFactorPage asks for the second factor.
func (d *dashboard) loginFactorPage(w http.ResponseWriter, r *http.Request) error {
	var p pendingLogin
	if err := d.openSealed(r, pendingCookie, &p); err != nil {
		d.setFlash(w, r, "error", errPendingExpired.Message)
		return redirect(w, r, "/login")
	}
	return d.renderFactorLogin(w, r, http.StatusOK, newForm())
}

// loginFactor checks an authenticator or recovery code and signs in.
func (d *dashboard) loginFactor(w http.ResponseWriter, r *http.Request) error {
	p, err := d.pendingSignIn(w, r)
	if errors.Is(err, errPendingExpired) {
		d.setFlash(w, r, "error", errPendingExpired.Message)
		return redirect(w, r, "/login")
	}
	if err != nil {
		return err
	}
	f := formOf(r)
	token, err := "", d.throttle(w, r, pendingThrottleKey(p.UserID))
	if err == nil {
		token, err = d.svc.CompleteSignIn(r.Context(), service.FactorSignIn{UserID: p.UserID, OrgID: p.OrgID, Code: f.Get("code"),
			Addr: core.ClientIP(r.Context()), UserAgent: r.UserAgent()})
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		f.set("code", "")
		return d.renderFactorLogin(w, r, status, f)
	}
	d.setCookie(w, r, pendingCookie, "", -1)
	d.startSession(w, r, token)
	return redirect(w, r, safeNext(p.Next))
}

// loginAfterPassword finishes the password step: a user with a second
// factor goes on to the factor page, others are signed in.
func (d *dashboard) loginAfterPassword(w http.ResponseWriter, r *http.Request, err error, next string) (bool, error) {
	var need *service.SecondFactorRequired
	if errors.As(err, &need) {
		return true, d.startFactorStep(w, r, need, next)
	}
	return false, nil
}
