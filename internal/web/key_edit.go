package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// Expiry presets of the key forms (issue 19), in days from now.
var expiryPresets = []int{7, 30, 90}

// datetimeLocal is the value format of <input type="datetime-local">,
// read and shown as UTC.
const datetimeLocal = "2006-01-02T15:04"

// keyExpiry reads a key form's expiry: a preset ("7", "30", "90" days
// from now) wins over the date and time typed. Both blank: nil, no expiry.
func keyExpiry(f *form, now time.Time) *time.Time {
	switch p := f.str("expires_in"); p {
	case "":
	default:
		for _, n := range expiryPresets {
			if p == strconv.Itoa(n) {
				t := now.Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Minute)
				return &t
			}
		}
		f.problems.Add("expires_in", "The selected expiry preset is invalid: use 7, 30 or 90 days.")
		return nil
	}
	return f.date("expires_at")
}

type keyEditData struct {
	Key     keyRow
	Scopes  []core.Scope
	Presets []int
	// ExpiryFinal: a rotated key's expiry is the rotation's and cannot be
	// edited.
	ExpiryFinal bool
}

func (d *dashboard) renderKeyEdit(w http.ResponseWriter, r *http.Request, status int, f *form, k *core.APIKey) error {
	actor := actorOf(r)
	rows, err := d.keyRows(r.Context(), actor, []core.APIKey{*k})
	if err != nil {
		return err
	}
	return d.render(w, r, status, "key_edit", &view{Title: "Edit " + k.Name, Nav: "keys", Form: f,
		Data: keyEditData{Key: rows[0], Scopes: actor.Scopes.Scopes(), Presets: expiryPresets, ExpiryFinal: k.RotatedTo != 0}})
}

func (d *dashboard) keyEdit(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("name", k.Name)
	f.set("description", k.Description)
	f.Values["scopes"] = k.Scopes.Strings()
	if k.ExpiresAt != nil {
		f.set("expires_at", k.ExpiresAt.UTC().Format(datetimeLocal))
	}
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	f.set("allowed_ips", strings.Join(ips, "\n"))
	if k.RateLimit != 0 {
		f.set("rate_limit_per_minute", strconv.Itoa(k.RateLimit))
	}
	return d.renderKeyEdit(w, r, http.StatusOK, f, k)
}

// keyUpdate saves the edit form through the API's UpdateAPIKey: the same
// rules (scopes within the owner's role and the editor's rights, a
// rotated key's expiry final), all checked before anything is written.
func (d *dashboard) keyUpdate(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	name, desc := f.str("name"), f.str("description")
	scopes := f.Values["scopes"]
	if scopes == nil {
		scopes = []string{}
	}
	ips := f.list("allowed_ips")
	if ips == nil {
		ips = []string{}
	}
	rl := 0
	if n := f.optInt("rate_limit_per_minute"); n != nil {
		rl = int(max(min(*n, service.MaxKeyRateLimit+1), -1))
	}
	in := service.KeyUpdate{Name: &name, Description: &desc, Scopes: &scopes, AllowedIPs: &ips, RateLimit: &rl}
	// The expiry is sent only when it changed, so that a rotated key (whose
	// expiry is final) can still be renamed.
	exp := keyExpiry(f, d.now())
	if !sameMinute(exp, k.ExpiresAt) {
		in.ExpiresAt = &exp
	}
	in.Problems = f.problems
	if _, err := d.svc.UpdateAPIKey(r.Context(), actorOf(r), k.ID, in); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderKeyEdit(w, r, status, f, k)
	}
	d.setFlash(w, r, "ok", "API key "+name+" saved.")
	return redirect(w, r, "/api-keys/"+strconv.FormatInt(k.ID, 10))
}

func sameMinute(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.UTC().Truncate(time.Minute).Equal(b.UTC().Truncate(time.Minute))
}

// keyEnable disables or enables a key (PATCH enabled through the same
// service call): a disabled key is refused with API_KEY_DISABLED from the
// next request on, on every node, until it is enabled. ?back=list returns
// to the keys list (its row action), otherwise to the key.
func (d *dashboard) keyEnable(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		k, err := d.apiKey(r)
		if err != nil {
			return err
		}
		back := "/api-keys/" + strconv.FormatInt(k.ID, 10)
		if r.PostForm.Get("back") == "list" {
			back = "/api-keys"
		}
		if _, err := d.svc.UpdateAPIKey(r.Context(), actorOf(r), k.ID, service.KeyUpdate{Enabled: &on}); err != nil {
			e, ok := publicError(err, r)
			if !ok {
				return err
			}
			d.setFlash(w, r, "error", e.Message)
			return redirect(w, r, back)
		}
		msg := "API key " + k.Name + " disabled: it is refused until you enable it."
		if on {
			msg = "API key " + k.Name + " enabled: it works again."
		}
		d.setFlash(w, r, "ok", msg)
		return redirect(w, r, back)
	}
}
