package web

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// usageDays is how many days the usage charts cover.
const usageDays = 30

// stateOf is what a person wants to know of a license: an active license
// past its expiry is "expired".
func stateOf(l *core.License, now time.Time) string {
	if l.Status == core.LicenseActive && l.Expired(now) {
		return "expired"
	}
	return l.Status
}

// license loads the license named by the path, in the path's project.
func (d *dashboard) license(r *http.Request) (*core.Project, *core.License, error) {
	p, err := d.project(r)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "l")
	if err != nil {
		return nil, nil, err
	}
	l, err := d.svc.License(r.Context(), actorOf(r), p.ID, id)
	return p, l, err
}

type licenseShowData struct {
	License *core.License
	// LicenseFiles shows the offline license file download.
	LicenseFiles bool
	State        string
	Domain       string // the pinned domain's name
	Activations  []core.Activation
	Usage        []core.DayCount
	Seats        licenseSeatsData
	Test         *licenseTest // the "Test this license" form (license_activation.go)
}

func (d *dashboard) licenseShow(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	ctx, actor := r.Context(), actorOf(r)
	data := licenseShowData{License: l, State: stateOf(l, d.now()), LicenseFiles: d.licenseFiles != nil}
	if l.DomainID != 0 {
		if dom, err := d.svc.Domain(ctx, actor, p.ID, l.DomainID); err == nil {
			data.Domain = dom.Domain
		}
	}
	if data.Activations, err = d.svc.LicenseActivations(ctx, actor, p.ID, l.ID); err != nil {
		return err
	}
	if data.Seats, err = d.licenseSeats(ctx, actor, p.ID, l); err != nil {
		return err
	}
	if data.Test, err = d.licenseTestOf(r, l); err != nil {
		return err
	}
	var pending map[string]int64
	if d.validator != nil {
		pending = d.validator.Pending(l.ID)
	}
	if data.Usage, err = d.svc.LicenseUsage(ctx, actor, p.ID, l.ID, usageDays, pending); err != nil {
		return err
	}
	return d.render(w, r, http.StatusOK, "license_show", &view{Title: l.Title, Nav: "licenses", Project: p, Tab: "licenses", Data: data})
}
