package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// ListAudit returns the organization's audit events, newest first. A
// project-scoped key sees only its project's events.
func (s *Service) ListAudit(ctx context.Context, actor *core.Actor, f core.AuditFilter) ([]core.AuditEvent, error) {
	if err := actor.Require(core.ScopeAuditRead); err != nil {
		return nil, err
	}
	f.OrgID = actor.OrgID
	if actor.ProjectID != 0 {
		f.ProjectID = actor.ProjectID
	}
	return s.store.ListAudit(ctx, f)
}
