package client

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Domain environments.
const (
	EnvProduction  = "production"
	EnvStaging     = "staging"
	EnvDevelopment = "development"
)

// Domain is a host registered to a project.
type Domain struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Domain    string    `json:"domain"`
	HasPaid   bool      `json:"has_paid"`
	IsActive  bool      `json:"is_active"`
	IsPrimary bool      `json:"is_primary"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Environment, IsVerified and IsLocked are returned by Get, Create and
	// Update only; List leaves them zero (DevPayr's list shape).
	Environment string `json:"environment"`
	IsVerified  bool   `json:"is_verified"`
	IsLocked    bool   `json:"is_locked"`
}

// DomainCreate is the body of Domains.Create. Domain and Environment are
// required.
type DomainCreate struct {
	// Domain is a fully qualified name (app.example.com), localhost[:port],
	// an IPv4 address[:port] or [IPv6]:port.
	Domain string `json:"domain"`
	// Environment is EnvProduction, EnvStaging or EnvDevelopment.
	Environment string `json:"environment"`
	IsPrimary   *bool  `json:"is_primary,omitempty"`
	IsVerified  *bool  `json:"is_verified,omitempty"`
	IsLocked    *bool  `json:"is_locked,omitempty"`
	// HasPaid needs the payments:write scope.
	HasPaid  *bool `json:"has_paid,omitempty"`
	IsActive *bool `json:"is_active,omitempty"`
}

// DomainUpdate is the body of Domains.Update: nil fields are left as they
// are.
type DomainUpdate struct {
	Domain      *string `json:"domain,omitempty"`
	Environment *string `json:"environment,omitempty"`
	IsPrimary   *bool   `json:"is_primary,omitempty"`
	IsVerified  *bool   `json:"is_verified,omitempty"`
	IsLocked    *bool   `json:"is_locked,omitempty"`
	HasPaid     *bool   `json:"has_paid,omitempty"`
	IsActive    *bool   `json:"is_active,omitempty"`
}

// DomainService manages a project's domains (scopes domains:read and
// domains:write).
type DomainService struct{ c *Client }

func domainsPath(projectID int64) string { return "project/" + id(projectID) + "/domains" }

// List iterates over a project's domains, oldest first.
func (s *DomainService) List(ctx context.Context, projectID int64, lo *ListOptions, opts ...CallOption) iter.Seq2[Domain, error] {
	return list[Domain](ctx, s.c, domainsPath(projectID), lo.query(), opts...)
}

// Get returns one domain of a project.
func (s *DomainService) Get(ctx context.Context, projectID, domainID int64, opts ...CallOption) (*Domain, error) {
	var d Domain
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: domainsPath(projectID) + "/" + id(domainID)}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Create registers a domain.
func (s *DomainService) Create(ctx context.Context, projectID int64, in DomainCreate, opts ...CallOption) (*Domain, error) {
	var d Domain
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: domainsPath(projectID), body: in}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Update changes the fields that are set.
func (s *DomainService) Update(ctx context.Context, projectID, domainID int64, in DomainUpdate, opts ...CallOption) (*Domain, error) {
	var d Domain
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPatch, path: domainsPath(projectID) + "/" + id(domainID), body: in}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Delete removes a domain; licenses pinned to it are unpinned.
func (s *DomainService) Delete(ctx context.Context, projectID, domainID int64, opts ...CallOption) error {
	_, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: domainsPath(projectID) + "/" + id(domainID)}, nil)
	return err
}
