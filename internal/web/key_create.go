package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

type keyFormData struct {
	Projects []core.Project
	Scopes   []core.Scope // what the user may grant: their role's
	Presets  []int        // expiry presets, in days
}

func (d *dashboard) renderKeyForm(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	actor := actorOf(r)
	var ps []core.Project
	if actor.Can(core.ScopeProjectsRead) {
		var err error
		if ps, err = d.svc.ListProjects(r.Context(), actor, 0, 1000); err != nil {
			return err
		}
	}
	return d.render(w, r, status, "key_form", &view{Title: "Create New Key", Nav: "keys", Form: f,
		Data: keyFormData{Projects: ps, Scopes: actor.Scopes.Scopes(), Presets: expiryPresets}})
}

func (d *dashboard) keyNew(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	f.set("env", core.EnvLive)
	f.set(submissionField, newSubmissionToken())
	return d.renderKeyForm(w, r, http.StatusOK, f)
}

// keySecretData is the page that shows a new secret, once.
type keySecretData struct {
	Key      keyRow
	Secret   string
	Rotated  bool
	OldUntil *time.Time // rotation: when the old key stops working
	BaseURL  string
}

// keyCreate mints a key and redirects to the page that shows its secret
// once (reveal.go), once per form (submission.go).
func (d *dashboard) keyCreate(w http.ResponseWriter, r *http.Request) error {
	actor := actorOf(r)
	f := formOf(r)
	scopes := f.Values["scopes"]
	if scopes == nil {
		scopes = []string{} // nothing ticked: refused, never "every scope"
	}
	in := service.KeyInput{Name: f.str("name"), Description: f.str("description"), ProjectID: f.id("project_id"),
		Scopes: scopes, Env: f.str("env"), ExpiresAt: keyExpiry(f, d.now()), AllowedIPs: f.list("allowed_ips")}
	if n := f.optInt("rate_limit_per_minute"); n != nil {
		in.RateLimit = int(max(min(*n, service.MaxKeyRateLimit+1), -1))
	}
	in.Problems = f.problems
	return d.createOnce(w, r, f.str(submissionField), func() (submitted, error) {
		k, secret, err := d.svc.CreateAPIKey(r.Context(), actor, actor.UserID, in)
		if err != nil {
			status, err := f.refused(err, r)
			if err != nil {
				return submitted{}, err
			}
			return submitted{}, d.renderKeyForm(w, r, status, f)
		}
		return d.sealReveal(r, reveal{Page: keySecretPath(k.ID), Secret: secret})
	})
}

func keySecretPath(keyID int64) string {
	return "/api-keys/" + strconv.FormatInt(keyID, 10) + "/secret"
}

// keySecret is the page that shows a new secret, once.
func (d *dashboard) keySecret(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	rv, ok := d.takeReveal(w, r, keySecretPath(k.ID))
	if !ok {
		d.setFlash(w, r, "error", "A key's secret is shown only once, right after it is created or rotated. "+
			"If you did not copy it, rotate the key to get a new one.")
		return redirect(w, r, "/api-keys/"+strconv.FormatInt(k.ID, 10))
	}
	return d.renderSecret(w, r, k, rv)
}

func (d *dashboard) renderSecret(w http.ResponseWriter, r *http.Request, k *core.APIKey, rv *reveal) error {
	rows, err := d.keyRows(r.Context(), actorOf(r), []core.APIKey{*k})
	if err != nil {
		return err
	}
	data := keySecretData{Key: rows[0], Secret: rv.Secret, BaseURL: d.baseURL(r)}
	title := "Your new API key"
	if rv.Rotated {
		data.Rotated, data.OldUntil, title = true, rv.OldUntil, "Rotated API key"
	}
	return d.render(w, r, http.StatusOK, "key_secret", &view{Title: title, Nav: "keys", Data: data})
}

// baseURL is where the API is reached, for the examples on the page.
func (d *dashboard) baseURL(r *http.Request) string {
	if d.publicURL != "" {
		return d.publicURL
	}
	scheme := "http"
	if d.https(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
