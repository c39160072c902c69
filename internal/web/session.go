package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/service"
)

const (
	sessionCookie = "latchkey_session"
	// csrfCookie holds the token of the forms shown before a session
	// exists (sign-in, first run): the form must send the cookie's value
	// back (double submit), so a login CSRF needs more than a cross-site
	// post.
	csrfCookie = "latchkey_csrf"
	csrfField  = "_csrf"

	maxFormBytes   = 1 << 20
	maxUploadBytes = service.MaxInjectableFile + 1<<20
)

type stateKey struct{}

// withSession returns ctx carrying the signed-in user.
func withSession(ctx context.Context, info *service.SessionInfo) context.Context {
	return context.WithValue(ctx, stateKey{}, info)
}

// sessionOf returns the signed-in user of the request, or nil.
func sessionOf(r *http.Request) *service.SessionInfo {
	info, _ := r.Context().Value(stateKey{}).(*service.SessionInfo)
	return info
}

// actorOf returns the actor the signed-in user acts as in this request.
func actorOf(r *http.Request) *core.Actor {
	return sessionOf(r).Actor(core.ClientIP(r.Context()), r.UserAgent())
}

func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// https reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (d *dashboard) https(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return core.ViaTrustedProxy(r.Context()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// secureCookie decides the Secure attribute (--secure-cookies).
func (d *dashboard) secureCookie(r *http.Request) bool {
	switch d.secure {
	case "always":
		return true
	case "never":
		return false
	}
	return d.https(r) || d.publicTLS
}

// setCookie sets a cookie with every attribute a dashboard cookie needs:
// HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
// posts), Path=/, and Secure whenever the dashboard is served over HTTPS.
func (d *dashboard) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: d.secureCookie(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (d *dashboard) startSession(w http.ResponseWriter, r *http.Request, token string) {
	// Max-Age, not Expires: the server's session expiry is the real limit,
	// and a relative lifetime does not depend on the browser's clock.
	d.setCookie(w, r, sessionCookie, token, service.SessionMaxAge)
	d.setCookie(w, r, csrfCookie, "", -1)
}

// signedIn runs next for a signed-in user, with their role read fresh;
// others are sent to the sign-in page. Posts must carry the session's CSRF
// token.
func (d *dashboard) signedIn(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		info, err := d.svc.Session(r.Context(), sessionToken(r))
		if core.IsCode(err, core.EUnauthorized) {
			if sessionToken(r) != "" {
				d.setCookie(w, r, sessionCookie, "", -1)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			d.setFlash(w, r, "error", "Your session has ended: please sign in again.")
			return redirect(w, r, "/login")
		}
		if err != nil {
			return err
		}
		r = r.WithContext(withSession(r.Context(), info))
		// Errors become pages here, where the request has the session:
		// the page keeps the sidebar, and a refusal names the role.
		if err := checkRequest(w, r, info); err != nil {
			d.fail(w, r, err)
		} else if info.MustEnrol && !enrolPath(r.URL.Path) {
			// The organization requires a second factor: nothing else
			// until the member has one (security.go).
			d.setFlash(w, r, "error", "Your organization requires a second factor: add one to go on.")
			return redirect(w, r, "/settings/security")
		} else if err := next(w, r); err != nil {
			d.fail(w, r, err)
		}
		return nil
	}
}

// checkRequest refuses a signed-in request whose query cannot be read, or
// a post without the session's CSRF token or with text no field may hold.
func checkRequest(w http.ResponseWriter, r *http.Request, info *service.SessionInfo) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	if r.Method != http.MethodPost {
		return nil
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if !sameToken(r.PostFormValue(csrfField), info.Session.CSRFToken) {
		return errBadToken
	}
	return checkForm(r)
}

// parseForm reads a form body, capped: uploads (injectable files) may be
// larger than plain forms.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		err = r.ParseMultipartForm(maxUploadBytes)
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe
	}
	if err != nil {
		return core.Errorf(core.EBadRequest, "The form could not be read.")
	}
	return nil
}

func sameToken(sent, want string) bool {
	return sent != "" && want != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(want)) == 1
}

// formToken returns the pre-session CSRF token, setting its cookie when
// the browser has none yet.
func (d *dashboard) formToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	t := keys.RandomToken(32)
	d.setCookie(w, r, csrfCookie, t, 12*time.Hour)
	return t
}

// checkFormToken parses a pre-session form and checks its token against
// the cookie.
func (d *dashboard) checkFormToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), c.Value) {
		return errBadToken
	}
	return checkForm(r)
}
