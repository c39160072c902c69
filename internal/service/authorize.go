package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// Every use case under a project opens with the same checks, in DevPayr's
// order (shared/design/devpayr-api.md §2.1), pinned by TestAccessOrder:
//
//  1. the project for the actor (projectFor): a project-scoped key naming
//     another project 403 before any lookup, a missing project 404, another
//     organization's project 403 "API key does not match project owner.";
//  2. the scope the use case needs: 403 MISSING_SCOPE;
//  3. for a use case on one record: the record, 404 when missing, and
//     notInProject when it belongs to another project (DevPayr answers 403,
//     404 or 422 there, depending on the route).
//
// projectAccess is steps 1–2 and recordAccess steps 1–3. The one exception
// is the license read (License), which DevPayr checks in another order.

// projectAccess returns the project for the actor, who must hold scope.
func (s *Service) projectAccess(ctx context.Context, st core.Store, actor *core.Actor, projectID int64, scope core.Scope) (*core.Project, error) {
	p, err := s.projectFor(ctx, st, actor, projectID)
	if err != nil {
		return nil, err
	}
	if err := actor.Require(scope); err != nil {
		return nil, err
	}
	return p, nil
}

// record is a kind of record that belongs to a project.
type record[T any] struct {
	load      func(ctx context.Context, st core.Store, id int64) (*T, error)
	projectOf func(*T) int64
	// hide, when set, returns the error to answer when the record is not
	// the actor's to see (test mode: a live license to a test key).
	hide func(*core.Actor, *T) error
}

var (
	domainRecord = record[core.Domain]{
		load:      func(ctx context.Context, st core.Store, id int64) (*core.Domain, error) { return st.Domain(ctx, id) },
		projectOf: func(d *core.Domain) int64 { return d.ProjectID },
	}
	licenseRecord = record[core.License]{
		load:      func(ctx context.Context, st core.Store, id int64) (*core.License, error) { return st.License(ctx, id) },
		projectOf: func(l *core.License) int64 { return l.ProjectID },
		hide:      hideLicense,
	}
	injectableRecord = record[core.Injectable]{
		load: func(ctx context.Context, st core.Store, id int64) (*core.Injectable, error) {
			return st.Injectable(ctx, id)
		},
		projectOf: func(i *core.Injectable) int64 { return i.ProjectID },
	}
)

// recordAccess returns the project for the actor, who must hold scope, and
// its record id of kind r, read through st (the write's transaction, or
// the store).
func recordAccess[T any](ctx context.Context, s *Service, st core.Store, actor *core.Actor, projectID int64, scope core.Scope,
	r record[T], id int64, notInProject error) (*core.Project, *T, error) {
	p, err := s.projectAccess(ctx, st, actor, projectID, scope)
	if err != nil {
		return nil, nil, err
	}
	v, err := r.load(ctx, st, id)
	if err != nil {
		return nil, nil, err
	}
	if r.hide != nil {
		if err := r.hide(actor, v); err != nil {
			return nil, nil, err
		}
	}
	if r.projectOf(v) != p.ID {
		return nil, nil, notInProject
	}
	return p, v, nil
}
