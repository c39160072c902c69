package web

import (
	"net/http"
	"strconv"
	"time"
)

// keyRotate mints a successor and redirects to the page that shows its
// secret once; the old key keeps working for the grace period chosen.
func (d *dashboard) keyRotate(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	secs, err := strconv.Atoi(r.PostFormValue("grace_seconds"))
	if err != nil {
		secs = -1 // the service refuses it with its own message
	}
	nk, secret, old, err := d.svc.RotateAPIKey(r.Context(), actorOf(r), k.ID, time.Duration(secs)*time.Second)
	if err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/api-keys/"+strconv.FormatInt(k.ID, 10))
	}
	rv := reveal{Page: keySecretPath(nk.ID), Secret: secret, Rotated: true}
	if old != nil {
		rv.OldUntil = old.ExpiresAt
	}
	return d.setReveal(w, r, rv)
}
