package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

func domainInput(f *form) service.DomainInput {
	return service.DomainInput{
		Problems:    f.problems,
		Domain:      service.Some(f.str("domain")),
		Environment: service.Some(f.str("environment")),
		IsPrimary:   service.Some(f.bool("is_primary")),
		IsVerified:  service.Some(f.bool("is_verified")),
		IsLocked:    service.Some(f.bool("is_locked")),
		HasPaid:     service.Some(f.bool("has_paid")),
		IsActive:    service.Some(f.bool("is_active")),
	}
}

type domainFormData struct {
	Domain       *core.Domain
	Environments []string
}

func (d *dashboard) renderDomainForm(w http.ResponseWriter, r *http.Request, status int, f *form, p *core.Project, dom *core.Domain) error {
	title := "New domain"
	if dom != nil {
		title = "Edit " + dom.Domain
	}
	return d.render(w, r, status, "domain_form", &view{Title: title, Nav: "projects", Project: p, Tab: "domains", Form: f,
		Data: domainFormData{Domain: dom, Environments: []string{core.EnvProduction, core.EnvStaging, core.EnvDevelopment}}})
}

func domainsPath(p *core.Project) string {
	return "/projects/" + strconv.FormatInt(p.ID, 10) + "/domains"
}

func (d *dashboard) domainNew(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("environment", core.EnvProduction)
	f.setBool("is_active", true)
	return d.renderDomainForm(w, r, http.StatusOK, f, p, nil)
}

func (d *dashboard) domainCreate(w http.ResponseWriter, r *http.Request) error {
	p, err := d.project(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	dom, err := d.svc.CreateDomain(r.Context(), actorOf(r), p.ID, domainInput(f))
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderDomainForm(w, r, status, f, p, nil)
	}
	d.setFlash(w, r, "ok", "Domain "+dom.Domain+" added.")
	return redirect(w, r, domainsPath(p))
}

func (d *dashboard) domainEdit(w http.ResponseWriter, r *http.Request) error {
	p, dom, err := d.domain(r)
	if err != nil {
		return err
	}
	f := newForm()
	f.set("domain", dom.Domain)
	f.set("environment", dom.Environment)
	f.setBool("is_primary", dom.IsPrimary)
	f.setBool("is_verified", dom.IsVerified)
	f.setBool("is_locked", dom.IsLocked)
	f.setBool("has_paid", dom.HasPaid)
	f.setBool("is_active", dom.IsActive)
	return d.renderDomainForm(w, r, http.StatusOK, f, p, dom)
}

func (d *dashboard) domainUpdate(w http.ResponseWriter, r *http.Request) error {
	p, dom, err := d.domain(r)
	if err != nil {
		return err
	}
	f := formOf(r)
	if _, err := d.svc.UpdateDomain(r.Context(), actorOf(r), p.ID, dom.ID, domainInput(f)); err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderDomainForm(w, r, status, f, p, dom)
	}
	d.setFlash(w, r, "ok", "Domain saved.")
	return redirect(w, r, domainsPath(p))
}
