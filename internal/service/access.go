package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// Opt is an optional request field: Set says whether it was sent, so that
// "absent" differs from "sent as null or empty".
type Opt[T any] struct {
	Set bool
	V   T
}

// Some returns a set Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, V: v} }

var errNotProjectOwner = errProjectMismatch

// projectFor loads a project for the actor in DevPayr's order: a
// project-scoped key naming another project is refused (403) before any
// lookup; a missing or deleted project is 404; a project of another
// organization is 403, "API key does not match project owner.".
func (s *Service) projectFor(ctx context.Context, st core.Store, actor *core.Actor, id int64) (*core.Project, error) {
	if actor.ProjectID != 0 && actor.ProjectID != id {
		return nil, errNotProjectOwner
	}
	var p *core.Project
	var err error
	if st == s.store {
		p, err = s.projects.get(ctx, st, id) // reads outside a transaction
	} else {
		p, err = st.Project(ctx, id) // writes check the row itself
	}
	if err != nil {
		return nil, err
	}
	if p.OrgID != actor.OrgID {
		return nil, errNotProjectOwner
	}
	return p, nil
}

// Project returns a project the actor may read.
func (s *Service) Project(ctx context.Context, actor *core.Actor, id int64) (*core.Project, error) {
	return s.projectAccess(ctx, s.store, actor, id, core.ScopeProjectsRead)
}

// catalogChanged reports a write under a project: cached reads of it are
// stale.
func catalogChanged(changed func(core.Change), projectID int64) {
	changed(core.Change{Kind: core.ChangeCatalog, ID: projectID})
}
