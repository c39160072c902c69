package httpapi

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

func domainInput(b *body) service.DomainInput {
	var in service.DomainInput
	if b.has("domain") {
		s, _ := b.str("domain")
		in.Domain = service.Some(s)
	}
	if b.has("environment") {
		s, _ := b.str("environment")
		in.Environment = service.Some(s)
	}
	for name, dst := range map[string]*service.Opt[bool]{"is_primary": &in.IsPrimary, "is_verified": &in.IsVerified,
		"is_locked": &in.IsLocked, "has_paid": &in.HasPaid, "is_active": &in.IsActive} {
		if b.has(name) {
			v, _ := b.boolean(name)
			*dst = service.Some(v)
		}
	}
	in.Problems = b.p
	return in
}

func (h *api) listDomains(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	list := "domains/" + strconv.FormatInt(pid, 10)
	after, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 50, 50)
	ds, err := h.svc.ListDomains(r.Context(), actorFrom(r), pid, after, n+1)
	if err != nil {
		return err
	}
	var next *string
	if len(ds) > n {
		ds = ds[:n]
		c := h.cursors.encode(list, ds[n-1].ID)
		next = &c
	}
	out := make([]view.DomainItem, len(ds))
	for i := range ds {
		out[i] = view.DomainItemOf(&ds[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}

func (h *api) showDomain(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "domain", "Domain")
	if err != nil {
		return err
	}
	d, err := h.svc.Domain(r.Context(), actorFrom(r), pid, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Domain successfully loaded.", view.DomainOf(d))
}

func (h *api) createDomain(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := domainInput(b)
	d, err := h.svc.CreateDomain(r.Context(), actorFrom(r), pid, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Domain created successfully.", view.DomainOf(d))
}

func (h *api) updateDomain(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "domain", "Domain")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := domainInput(b)
	d, err := h.svc.UpdateDomain(r.Context(), actorFrom(r), pid, id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Domain updated successfully.", view.DomainOf(d))
}

func (h *api) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "domain", "Domain")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteDomain(r.Context(), actorFrom(r), pid, id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Domain deleted successfully.", map[string]any{"id": id, "deleted": true})
}
