package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// maxMultipart caps an injectable upload: a 5 MB file plus its fields.
const maxMultipart = 6 << 20

// readInjectable reads a JSON body (what the SDKs send) or multipart form
// data (what DevPayr documents, with an optional file).
func (h *api) readInjectable(w http.ResponseWriter, r *http.Request) (*body, *service.Upload, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		b, err := readBody(w, r, max(h.maxBody, maxMultipart))
		return b, nil, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxMultipart+64<<10)
	if err := r.ParseMultipartForm(maxMultipart); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, &core.Error{Code: core.ETooLarge, Message: "The upload is larger than 6 MB."}
		}
		return nil, nil, core.Errorf(core.EBadRequest, "The request body is not valid multipart form data.")
	}
	if err := checkMultipart(r.MultipartForm); err != nil {
		return nil, nil, err
	}
	b := &body{fields: map[string]json.RawMessage{}, p: core.Problems{}}
	for k, v := range r.MultipartForm.Value {
		if len(v) > 0 {
			enc, _ := json.Marshal(v[len(v)-1])
			b.fields[k] = enc
		}
	}
	var up *service.Upload
	if files := r.MultipartForm.File["file"]; len(files) > 0 {
		fh := files[0]
		if fh.Size > service.MaxInjectableFile {
			b.problems().Add("file", "The file field must not be greater than 5120 kilobytes.")
		} else {
			f, err := fh.Open()
			if err != nil {
				return nil, nil, core.Errorf(core.EBadRequest, "The uploaded file could not be read.")
			}
			data, err := io.ReadAll(f)
			_ = f.Close() // read to the end: a close error loses nothing
			if err != nil {
				return nil, nil, core.Errorf(core.EBadRequest, "The uploaded file could not be read.")
			}
			up = &service.Upload{Name: fh.Filename, Data: data}
		}
	}
	return b, up, nil
}

// checkMultipart is readBody's text check for multipart forms: every
// value and every uploaded file's name must pass core.ValidText.
func checkMultipart(f *multipart.Form) error {
	return core.CheckFormText(f.Value, fileNames(f.File), "body")
}

// fileNames lists the names of the files uploaded under each field.
func fileNames(files map[string][]*multipart.FileHeader) map[string][]string {
	if len(files) == 0 {
		return nil
	}
	out := make(map[string][]string, len(files))
	for k, fhs := range files {
		for _, fh := range fhs {
			out[k] = append(out[k], fh.Filename)
		}
	}
	return out
}

func injectableInput(b *body, up *service.Upload) service.InjectableInput {
	var in service.InjectableInput
	for name, dst := range map[string]*service.Opt[string]{"title": &in.Title, "slug": &in.Slug, "type": &in.Type, "mode": &in.Mode,
		"target_path": &in.TargetPath, "secret": &in.Secret, "content": &in.Content} {
		if b.has(name) && !b.isNull(name) {
			s, _ := b.str(name)
			*dst = service.Some(s)
		}
	}
	if b.has("validate_endpoint") {
		in.ValidateEndpoint = service.Some(b.optStr("validate_endpoint"))
	}
	for name, dst := range map[string]*service.Opt[bool]{"only_if_paid": &in.OnlyIfPaid, "is_active": &in.IsActive} {
		if b.has(name) {
			if v, ok := b.boolean(name); ok {
				*dst = service.Some(v)
			}
		}
	}
	if b.has("meta") {
		if m, ok := b.object("meta"); ok || b.isNull("meta") {
			in.Meta = service.Some(json.RawMessage(m))
		}
	}
	in.File = up
	in.Problems = b.p
	return in
}

func (h *api) listInjectables(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	list := "injectables/" + strconv.FormatInt(pid, 10)
	after, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	is, err := h.svc.ListInjectables(r.Context(), actorFrom(r), pid, after, n+1)
	if err != nil {
		return err
	}
	var next *string
	if len(is) > n {
		is = is[:n]
		c := h.cursors.encode(list, is[n-1].ID)
		next = &c
	}
	out := make([]view.InjectableItem, len(is))
	for i := range is {
		out[i] = view.InjectableItemOf(&is[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}

func (h *api) showInjectable(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "injectable", "Injectable")
	if err != nil {
		return err
	}
	i, err := h.svc.Injectable(r.Context(), actorFrom(r), pid, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", view.InjectableOf(i))
}

func (h *api) createInjectable(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	b, up, err := h.readInjectable(w, r)
	if err != nil {
		return err
	}
	i, err := h.svc.CreateInjectable(r.Context(), actorFrom(r), pid, injectableInput(b, up))
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Injectable created successfully.", view.InjectableOf(i))
}

// updateInjectable serves PUT and PATCH, and POST with _method=PUT (the
// Laravel way to send a multipart update).
func (h *api) updateInjectable(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "injectable", "Injectable")
	if err != nil {
		return err
	}
	b, up, err := h.readInjectable(w, r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		m, _ := b.str("_method")
		if m != "PUT" && m != "PATCH" && m != "put" && m != "patch" {
			return core.Errorf(core.ENotFound, "No route for POST %s: send PUT, or POST with _method=PUT.", r.URL.Path)
		}
	}
	delete(b.fields, "_method")
	i, err := h.svc.UpdateInjectable(r.Context(), actorFrom(r), pid, id, injectableInput(b, up))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Injectable updated successfully.", view.InjectableOf(i))
}

func (h *api) deleteInjectable(w http.ResponseWriter, r *http.Request) error {
	pid, id, err := itemIDs(r, "injectable", "Injectable")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteInjectable(r.Context(), actorFrom(r), pid, id); err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Injectable deleted successfully.", map[string]any{"id": id, "deleted": true})
}
