package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// Project is a product you license.
type Project struct {
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
	LockedAt           *time.Time      `json:"locked_at"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	// LicenseDefaults are the project's own defaults for new licenses.
	LicenseDefaults LicenseDefaults `json:"license_defaults"`
	// LicenseFileEncryption: the project's license files are encrypted
	// under each license's key (docs/license-files.md).
	LicenseFileEncryption bool `json:"license_file_encryption"`
}

// ProjectCreate is the body of Projects.Create. Only Name is required.
type ProjectCreate struct {
	Name               string `json:"name"`
	Slug               string `json:"slug,omitempty"`
	Description        string `json:"description,omitempty"`
	DefaultRedirectURL string `json:"default_redirect_url,omitempty"`
	LogoURL            string `json:"logo_url,omitempty"`
	WebhookURL         string `json:"webhook_url,omitempty"`
	// WebhookSecret is stored encrypted and never returned.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// Meta is a JSON object.
	Meta json.RawMessage `json:"meta,omitempty"`
	// HasPaid needs the payments:write scope.
	HasPaid  *bool `json:"has_paid,omitempty"`
	IsActive *bool `json:"is_active,omitempty"`
	// LicenseDefaults are the defaults of the project's new licenses.
	LicenseDefaults *LicenseDefaults `json:"license_defaults,omitempty"`
	// LicenseFileEncryption encrypts the project's license files under
	// each license's key.
	LicenseFileEncryption *bool `json:"license_file_encryption,omitempty"`
}

// ProjectUpdate is the body of Projects.Update: nil fields are left as
// they are; an empty string clears an optional text field.
type ProjectUpdate struct {
	Name               *string         `json:"name,omitempty"`
	Slug               *string         `json:"slug,omitempty"`
	Description        *string         `json:"description,omitempty"`
	DefaultRedirectURL *string         `json:"default_redirect_url,omitempty"`
	LogoURL            *string         `json:"logo_url,omitempty"`
	WebhookURL         *string         `json:"webhook_url,omitempty"`
	WebhookSecret      *string         `json:"webhook_secret,omitempty"`
	Meta               json.RawMessage `json:"meta,omitempty"`
	HasPaid            *bool           `json:"has_paid,omitempty"`
	IsActive           *bool           `json:"is_active,omitempty"`
	// LicenseDefaults is a merge patch of the project's license defaults.
	LicenseDefaults *LicenseDefaultsPatch `json:"license_defaults,omitempty"`
	// LicenseFileEncryption turns the encryption of license files on or
	// off.
	LicenseFileEncryption *bool `json:"license_file_encryption,omitempty"`
}

// ProjectService manages projects (scopes projects:read and
// projects:write).
type ProjectService struct{ c *Client }

// List iterates over the projects the key may see, oldest first (a
// project-scoped key sees only its own).
func (s *ProjectService) List(ctx context.Context, lo *ListOptions, opts ...CallOption) iter.Seq2[Project, error] {
	return list[Project](ctx, s.c, "projects", lo.query(), opts...)
}

// Get returns one project.
func (s *ProjectService) Get(ctx context.Context, projectID int64, opts ...CallOption) (*Project, error) {
	var p Project
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "project/" + id(projectID)}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Create creates a project (global keys only).
func (s *ProjectService) Create(ctx context.Context, in ProjectCreate, opts ...CallOption) (*Project, error) {
	var p Project
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "project", body: in}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Update changes the fields that are set.
func (s *ProjectService) Update(ctx context.Context, projectID int64, in ProjectUpdate, opts ...CallOption) (*Project, error) {
	var p Project
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPatch, path: "project/" + id(projectID), body: in}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Delete deletes a project: its domains, licenses and injectables become
// inaccessible, and its project-scoped API keys are revoked.
func (s *ProjectService) Delete(ctx context.Context, projectID int64, opts ...CallOption) error {
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: "project/" + id(projectID)}, nil)
	return err
}
