package web

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
)

// Sign-in attempts allowed per minute, per client address and per email:
// the address limit slows down one machine guessing many accounts, the
// email limit many machines guessing one account.
const (
	loginPerIP    = 30
	loginPerEmail = 10
)

// throttle counts a sign-in (or first-run) attempt and refuses it beyond
// the limits.
func (d *dashboard) throttle(w http.ResponseWriter, r *http.Request, email string) error {
	now := d.now()
	res := d.limiter.Allow(ratelimit.Key{Kind: "login-ip", Addr: core.ClientIP(r.Context())}, loginPerIP, now)
	if res.Allowed && email != "" {
		h := fnv.New64a()
		h.Write([]byte(strings.ToLower(email)))
		res = d.limiter.Allow(ratelimit.Key{Kind: "login-email", ID: int64(h.Sum64())}, loginPerEmail, now)
	}
	if res.Allowed {
		return nil
	}
	secs := max(int((res.RetryAfter(now)+time.Second-1)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &core.Error{Code: core.ERateLimited, Reason: core.ReasonRateLimited,
		Message: fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", secs)}
}

// safeNext returns where to go after signing in: a path on this site, never
// another host ("//evil.example", "/\evil.example" or a full URL).
func safeNext(s string) string {
	const home = "/projects"
	if s == "" || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t") {
		return home
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "/login" || u.Path == "/setup" || strings.HasPrefix(u.Path, "/reset-password/") {
		return home
	}
	return s
}

func (d *dashboard) loginPage(w http.ResponseWriter, r *http.Request) error {
	first, err := d.needsFirstRun(r)
	if err != nil {
		return err
	}
	if first {
		return redirect(w, r, "/setup")
	}
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := d.svc.Session(r.Context(), sessionToken(r)); err == nil {
		return redirect(w, r, next)
	}
	f := newForm()
	f.set("next", next)
	return d.renderLogin(w, r, http.StatusOK, f)
}

func (d *dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	return d.render(w, r, status, "login", &view{Title: "Sign in", Form: f, CSRF: d.formToken(w, r)})
}

func (d *dashboard) login(w http.ResponseWriter, r *http.Request) error {
	// A sign-in form left open in another tab: the browser is signed in
	// already, and its form token was spent when it was.
	if _, err := d.svc.Session(r.Context(), sessionToken(r)); err == nil {
		return redirect(w, r, safeNext(r.URL.Query().Get("next")))
	}
	if err := d.checkFormToken(w, r); err != nil {
		return err
	}
	f := formOf(r)
	next := safeNext(f.Get("next"))
	token, err := "", d.throttle(w, r, f.str("email"))
	if err == nil {
		token, err = d.svc.SignIn(r.Context(), service.SignInInput{Email: f.str("email"), Password: f.Get("password"),
			Addr: core.ClientIP(r.Context()), UserAgent: r.UserAgent()})
	}
	if done, ferr := d.loginAfterPassword(w, r, err, next); done {
		return ferr
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		f.set("next", next)
		return d.renderLogin(w, r, status, f)
	}
	d.startSession(w, r, token)
	return redirect(w, r, next)
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request) error {
	if err := d.svc.SignOut(r.Context(), sessionOf(r), core.ClientIP(r.Context()), r.UserAgent()); err != nil {
		return err
	}
	d.setCookie(w, r, sessionCookie, "", -1)
	d.setFlash(w, r, "ok", "You have signed out.")
	return redirect(w, r, "/login")
}

// switchOrg moves the session to another of the user's organizations.
func (d *dashboard) switchOrg(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	id := f.id("org_id")
	if err := d.svc.SwitchOrganization(r.Context(), sessionOf(r), id); err != nil {
		if e, ok := publicError(err, r); ok {
			d.setFlash(w, r, "error", e.Message)
			return redirect(w, r, "/projects")
		}
		return err
	}
	for _, o := range sessionOf(r).Orgs {
		if o.OrgID == id {
			d.setFlash(w, r, "ok", "Switched to "+o.OrgName+".")
		}
	}
	return redirect(w, r, "/projects")
}
