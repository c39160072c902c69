package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Injectable is a payload (snippet, file, config…) that validated, paid
// copies receive, encrypted for a secret the server never stores.
type Injectable struct {
	ID               int64   `json:"id"`
	ProjectID        int64   `json:"project_id"`
	Title            string  `json:"title"`
	Slug             string  `json:"slug"`
	Type             string  `json:"type"`
	Mode             string  `json:"mode"`
	TargetPath       string  `json:"target_path"`
	ValidateEndpoint *string `json:"validate_endpoint"`
	IsActive         bool    `json:"is_active"`
	OnlyIfPaid       bool    `json:"only_if_paid"`
	// Content is the encrypted payload (decrypt it with Decrypt). It,
	// FilePath, ContentHash, Signature, Meta and LastDeliveredAt are
	// returned by Get, Create and Update only, not by List.
	Content         string          `json:"content"`
	FilePath        *string         `json:"file_path"`
	ContentHash     string          `json:"content_hash"`
	Signature       string          `json:"signature"`
	Meta            json.RawMessage `json:"meta"`
	LastDeliveredAt *time.Time      `json:"last_delivered_at"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// Decrypt checks the signature with secret, decrypts the content and
// checks it against the content hash.
func (i *Injectable) Decrypt(secret string) ([]byte, error) {
	return openInjectable(secret, i.Content, i.Signature, i.ContentHash)
}

// Delivery is an injectable as delivered to a validated copy (by
// Injectables.Stream, Validate.License, Validate.HasPaid and
// Payments.Status).
type Delivery struct {
	Slug             string          `json:"slug"`
	Type             string          `json:"type"`
	Mode             string          `json:"mode"`
	EncryptedContent string          `json:"encrypted_content"`
	FilePath         *string         `json:"file_path"`
	TargetPath       string          `json:"target_path"`
	Signature        string          `json:"signature"`
	ContentHash      string          `json:"content_hash"`
	Meta             json.RawMessage `json:"meta"`
}

// Decrypt checks the signature with secret, decrypts the content and
// checks it against the content hash.
func (d *Delivery) Decrypt(secret string) ([]byte, error) {
	return openInjectable(secret, d.EncryptedContent, d.Signature, d.ContentHash)
}

// File is an uploaded file, for injectables of type "file".
type File struct {
	Name string
	Data []byte
}

// InjectableCreate is the body of Injectables.Create. Type, Mode,
// TargetPath, Secret, OnlyIfPaid and IsActive are required, and Content,
// or File for type "file".
type InjectableCreate struct {
	Title string `json:"title,omitempty"`
	Slug  string `json:"slug,omitempty"`
	// Type is file, snippet, html, script, component, config, json,
	// markdown, css, include, sdk_module, docs or template.
	Type string `json:"type"`
	// Mode is inject, write, replace, symlink, append, prepend, mount,
	// inline_render or stream.
	Mode       string `json:"mode"`
	TargetPath string `json:"target_path"`
	// Secret (at least 8 characters) encrypts the content; it is never
	// stored, so keep it: copies need it to decrypt.
	Secret           string          `json:"secret"`
	Content          string          `json:"content,omitempty"`
	OnlyIfPaid       bool            `json:"only_if_paid"`
	IsActive         bool            `json:"is_active"`
	ValidateEndpoint string          `json:"validate_endpoint,omitempty"`
	Meta             json.RawMessage `json:"meta,omitempty"`
	// File, when set, is uploaded as multipart form data (at most 5 MB).
	File *File `json:"-"`
}

// InjectableUpdate is the body of Injectables.Update: nil fields are left
// as they are. Secret is required again whenever the content changes.
type InjectableUpdate struct {
	Title            *string         `json:"title,omitempty"`
	Slug             *string         `json:"slug,omitempty"`
	Type             *string         `json:"type,omitempty"`
	Mode             *string         `json:"mode,omitempty"`
	TargetPath       *string         `json:"target_path,omitempty"`
	Secret           *string         `json:"secret,omitempty"`
	Content          *string         `json:"content,omitempty"`
	OnlyIfPaid       *bool           `json:"only_if_paid,omitempty"`
	IsActive         *bool           `json:"is_active,omitempty"`
	ValidateEndpoint *string         `json:"validate_endpoint,omitempty"`
	Meta             json.RawMessage `json:"meta,omitempty"`
	File             *File           `json:"-"`
}

// RuntimeRequest is what a customer's copy sends to the runtime routes.
type RuntimeRequest struct {
	// License is the license key (its UUID).
	License string
	// Domain is the runtime identifier: the host the copy runs on, or a
	// fingerprint.
	Domain string
	// CheckProject asks for the project's payment status rather than the
	// domain's.
	CheckProject bool
}

func (r RuntimeRequest) header() (http.Header, error) {
	if r.License == "" {
		return nil, errEmptyKey
	}
	h := http.Header{"X-License-Key": {r.License}}
	if r.Domain != "" {
		h.Set("X-Devpayr-Domain", r.Domain)
	}
	return h, nil
}

// InjectableService manages a project's injectables (scopes
// injectables:read and injectables:write), and streams them to validated
// copies.
type InjectableService struct{ c *Client }

func injectablesPath(projectID int64) string { return "project/" + id(projectID) + "/injectables" }

// List iterates over a project's injectables (metadata only), oldest
// first.
func (s *InjectableService) List(ctx context.Context, projectID int64, lo *ListOptions, opts ...CallOption) iter.Seq2[Injectable, error] {
	return list[Injectable](ctx, s.c, injectablesPath(projectID), lo.query(), opts...)
}

// Get returns one injectable with its encrypted content.
func (s *InjectableService) Get(ctx context.Context, projectID, injectableID int64, opts ...CallOption) (*Injectable, error) {
	return s.call(ctx, &request{opts: opts, method: http.MethodGet, path: injectablesPath(projectID) + "/" + id(injectableID)}, opts...)
}

// Create creates an injectable, encrypted by the server with in.Secret.
func (s *InjectableService) Create(ctx context.Context, projectID int64, in InjectableCreate, opts ...CallOption) (*Injectable, error) {
	r := &request{opts: opts, method: http.MethodPost, path: injectablesPath(projectID), body: in}
	if in.File != nil {
		if err := r.multipart(in, in.File); err != nil {
			return nil, err
		}
	}
	return s.call(ctx, r, opts...)
}

// Update changes the fields that are set.
func (s *InjectableService) Update(ctx context.Context, projectID, injectableID int64, in InjectableUpdate, opts ...CallOption) (*Injectable, error) {
	r := &request{opts: opts, method: http.MethodPut, path: injectablesPath(projectID) + "/" + id(injectableID), body: in}
	if in.File != nil {
		if err := r.multipart(in, in.File); err != nil {
			return nil, err
		}
	}
	return s.call(ctx, r, opts...)
}

// Delete deletes an injectable.
func (s *InjectableService) Delete(ctx context.Context, projectID, injectableID int64, opts ...CallOption) error {
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: injectablesPath(projectID) + "/" + id(injectableID)}, nil)
	return err
}

// Stream iterates over the injectables a validated copy receives, with the
// license key (no API key): the active injectables of the license's
// project, only_if_paid ones only when paid. The license is checked as by
// Validate.HasPaid (a refusal is an *Error with its Code), without counting
// a use.
func (s *InjectableService) Stream(ctx context.Context, rr RuntimeRequest, opts ...CallOption) iter.Seq2[Delivery, error] {
	return func(yield func(Delivery, error) bool) {
		h, err := rr.header()
		if err != nil {
			yield(Delivery{}, err)
			return
		}
		q := url.Values{}
		if rr.CheckProject {
			q.Set("action", "check_project")
		}
		for {
			var out struct {
				Injectables []Delivery `json:"injectables"`
				NextCursor  *string    `json:"next_cursor"`
			}
			if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "injectable/stream", query: q, header: h, noAuth: true, signed: true}, &out); err != nil {
				yield(Delivery{}, err)
				return
			}
			for _, d := range out.Injectables {
				if !yield(d, nil) {
					return
				}
			}
			if out.NextCursor == nil || *out.NextCursor == "" || len(out.Injectables) == 0 {
				return
			}
			q.Set("cursor", *out.NextCursor)
		}
	}
}

func (s *InjectableService) call(ctx context.Context, r *request, opts ...CallOption) (*Injectable, error) {
	var i Injectable
	r.opts = opts
	if _, err := s.c.do(ctx, r, &i); err != nil {
		return nil, err
	}
	return &i, nil
}

// multipart turns r into a multipart/form-data request carrying the JSON
// fields of body as form values (booleans as "1"/"0", objects as JSON
// text) and f as "file".
func (r *request) multipart(body any, f *File) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("latchkey: encode request: %w", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("latchkey: encode request: %w", err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case bool:
			s = "0"
			if t {
				s = "1"
			}
		case float64:
			s = strconv.FormatFloat(t, 'f', -1, 64)
		case nil:
			continue
		default:
			enc, _ := json.Marshal(t)
			s = string(enc)
		}
		if err := w.WriteField(k, s); err != nil {
			return err
		}
	}
	part, err := w.CreateFormFile("file", f.Name)
	if err != nil {
		return err
	}
	if _, err := part.Write(f.Data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	r.raw, r.ctype, r.body = buf.Bytes(), w.FormDataContentType(), nil
	return nil
}
