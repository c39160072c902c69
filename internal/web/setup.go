package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// needsFirstRun reports whether the instance has no user yet.
func (d *dashboard) needsFirstRun(r *http.Request) (bool, error) {
	if d.setUp.Load() {
		return false, nil
	}
	first, err := d.svc.NeedsFirstRun(r.Context())
	if err == nil && !first {
		d.setUp.Store(true)
	}
	return first, err
}

// home sends visitors where they belong: the first-run page on a new
// instance, else the projects (or the sign-in page, on the way).
func (d *dashboard) home(w http.ResponseWriter, r *http.Request) error {
	first, err := d.needsFirstRun(r)
	if err != nil {
		return err
	}
	if first {
		return redirect(w, r, "/setup")
	}
	// Signed in, the organization's overview (insight.go); else sign in.
	return d.signedIn(d.insightHome)(w, r)
}

// setupPage shows the first-run form, which creates the first owner. Once
// the instance has a user, it is gone.
func (d *dashboard) setupPage(w http.ResponseWriter, r *http.Request) error {
	first, err := d.needsFirstRun(r)
	if err != nil {
		return err
	}
	if !first {
		return redirect(w, r, "/login")
	}
	f := newForm()
	return d.renderSetup(w, r, http.StatusOK, f)
}

func (d *dashboard) renderSetup(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	return d.render(w, r, status, "setup", &view{Title: "Welcome", Form: f, CSRF: d.formToken(w, r)})
}

func (d *dashboard) setup(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return err
	}
	if err := d.throttle(w, r, ""); err != nil {
		return err
	}
	d.setupMu.Lock()
	defer d.setupMu.Unlock()
	first, err := d.needsFirstRun(r)
	if err != nil {
		return err
	}
	if !first {
		d.setFlash(w, r, "error", "This instance is already set up: sign in.")
		return redirect(w, r, "/login")
	}
	f := formOf(r)
	token, err := d.svc.FirstRun(r.Context(), service.CreateUserInput{
		Email: f.str("email"), Name: f.str("name"), Password: f.Get("password"), OrgName: f.str("org"),
	}, core.ClientIP(r.Context()), r.UserAgent())
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderSetup(w, r, status, f)
	}
	d.setUp.Store(true)
	d.startSession(w, r, token)
	d.setFlash(w, r, "ok", "Welcome to Latchkey. Create your first project to issue licenses.")
	return redirect(w, r, "/projects")
}
