package web

import (
	"net/http"
	"strconv"
)

func (d *dashboard) keyRevokePage(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Revoke API key", Nav: "keys", Data: confirmData{
		Heading: "Revoke the API key " + k.Name + "?",
		Body: "Every request made with it is refused from now on, on every node. Revoking cannot be undone: " +
			"whatever uses this key needs a new one.",
		Action: r.URL.Path, Button: "Revoke key", Cancel: "/api-keys/" + strconv.FormatInt(k.ID, 10),
	}})
}

func (d *dashboard) keyRevoke(w http.ResponseWriter, r *http.Request) error {
	k, err := d.apiKey(r)
	if err != nil {
		return err
	}
	if _, err := d.svc.RevokeAPIKey(r.Context(), actorOf(r), k.ID); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "API key "+k.Name+" revoked: it no longer works.")
	return redirect(w, r, "/api-keys/"+strconv.FormatInt(k.ID, 10))
}
