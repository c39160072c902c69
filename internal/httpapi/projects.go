package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// projectInput reads the project fields that were sent.
func projectInput(b *body) service.ProjectInput {
	var in service.ProjectInput
	if b.has("name") {
		s, _ := b.str("name")
		in.Name = service.Some(s)
	}
	if b.has("slug") {
		s, _ := b.str("slug")
		in.Slug = service.Some(s)
	}
	for name, dst := range map[string]*service.Opt[*string]{
		"description": &in.Description, "default_redirect_url": &in.DefaultRedirectURL, "logo_url": &in.LogoURL,
		"webhook_url": &in.WebhookURL, "webhook_secret": &in.WebhookSecret,
	} {
		if b.has(name) {
			*dst = service.Some(b.optStr(name))
		}
	}
	if b.has("meta") {
		m, ok := b.object("meta")
		if ok || b.isNull("meta") {
			in.Meta = service.Some(json.RawMessage(m))
		}
	}
	if b.has("is_active") {
		v, _ := b.boolean("is_active")
		in.IsActive = service.Some(v)
	}
	if b.has("has_paid") {
		v, _ := b.boolean("has_paid")
		in.HasPaid = service.Some(v)
	}
	if b.has("license_file_encryption") {
		v, _ := b.boolean("license_file_encryption")
		in.LicenseFileEncryption = service.Some(v)
	}
	if b.has("license_defaults") {
		in.LicenseDefaults = service.Some(licenseDefaultsPatch(b, "license_defaults"))
	}
	in.Problems = b.p
	return in
}

func (h *api) listProjects(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	list := "projects/" + strconv.FormatInt(a.OrgID, 10) + "/" + strconv.FormatInt(a.ProjectID, 10)
	after, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 50, 50)
	ps, err := h.svc.ListProjects(r.Context(), a, after, n+1)
	if err != nil {
		return err
	}
	var next *string
	if len(ps) > n {
		ps = ps[:n]
		c := h.cursors.encode(list, ps[n-1].ID)
		next = &c
	}
	out := make([]view.Project, len(ps))
	for i := range ps {
		out[i] = view.ProjectOf(&ps[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}

func (h *api) showProject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	p, err := h.svc.Project(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", view.ProjectOf(p))
}

func (h *api) createProject(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := projectInput(b)
	p, err := h.svc.CreateProject(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Project created successfully.", view.ProjectOf(p))
}

func (h *api) updateProject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := projectInput(b)
	p, err := h.svc.UpdateProject(r.Context(), actorFrom(r), id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Project updated successfully.", view.ProjectOf(p))
}

func (h *api) deleteProject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteProject(r.Context(), actorFrom(r), id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Project deleted successfully.", map[string]any{"id": id, "deleted": true})
}
