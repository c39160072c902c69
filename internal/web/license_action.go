package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

// transitionFunc is the service's suspend, revoke or reactivate.
type transitionFunc func(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.License, error)

// licenseTransition changes a license's status and goes back to it, with
// the outcome (or the reason it was refused) as a message.
func (d *dashboard) licenseTransition(change transitionFunc, done string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, l, err := d.license(r)
		if err != nil {
			return err
		}
		if _, err := change(r.Context(), actorOf(r), p.ID, l.ID); err != nil {
			e, ok := publicError(err, r)
			if !ok {
				return err
			}
			d.setFlash(w, r, "error", e.Message)
		} else {
			d.setFlash(w, r, "ok", done)
		}
		return redirect(w, r, licensePath(l))
	}
}

func (d *dashboard) licenseDeletePage(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "confirm", &view{Title: "Delete license", Nav: "licenses", Project: p, Tab: "licenses",
		Data: confirmData{
			Heading: "Delete the license " + l.Title + "?",
			Body: "The key stops working at once and the license's activations and usage are deleted with it. " +
				"To stop a license but keep its history, revoke or suspend it instead.",
			Action: r.URL.Path, Button: "Delete license", Cancel: licensePath(l),
		}})
}

func (d *dashboard) licenseDelete(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	if _, err := d.svc.DeleteLicense(r.Context(), actorOf(r), p.ID, l.ID); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "License "+l.Title+" deleted.")
	return redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10)+"/licenses")
}
