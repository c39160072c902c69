package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// projectJSON is DevPayr's project object; user_id, license_key_id,
// deleted_at and webhook_secret stay hidden.
type projectJSON struct {
	ID                 int64           `json:"id"`
	Name               string          `json:"name"`
	Slug               string          `json:"slug"`
	Description        *string         `json:"description"`
	DefaultRedirectURL *string         `json:"default_redirect_url"`
	LogoURL            *string         `json:"logo_url"`
	WebhookURL         *string         `json:"webhook_url"`
	HasWebhookSecret   bool            `json:"has_webhook_secret"`
	Meta               json.RawMessage `json:"meta"`
	IsActive           bool            `json:"is_active"`
	HasPaid            bool            `json:"has_paid"`
	LockedAt           *string         `json:"locked_at"`
	CreatedAt          string          `json:"created_at"`
	UpdatedAt          string          `json:"updated_at"`
}

func projectView(p *core.Project) projectJSON {
	meta := p.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return projectJSON{
		ID: p.ID, Name: p.Name, Slug: p.Slug, Description: p.Description, DefaultRedirectURL: p.DefaultRedirectURL,
		LogoURL: p.LogoURL, WebhookURL: p.WebhookURL, HasWebhookSecret: len(p.WebhookSecretEnc) > 0, Meta: meta,
		IsActive: p.IsActive, HasPaid: p.HasPaid, LockedAt: jsonTime(p.LockedAt),
		CreatedAt: jsonTimeV(p.CreatedAt), UpdatedAt: jsonTimeV(p.UpdatedAt),
	}
}

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
	out := make([]projectJSON, len(ps))
	for i := range ps {
		out[i] = projectView(&ps[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, PerPage: n, Path: r.URL.Path})
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
	return ok(w, http.StatusOK, "", projectView(p))
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
	return ok(w, http.StatusCreated, "Project created successfully.", projectView(p))
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
	return ok(w, http.StatusOK, "Project updated successfully.", projectView(p))
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
