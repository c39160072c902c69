package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// ListMembers returns the members of the actor's organization, oldest
// first. Every member may see who else is in it.
func (s *Service) ListMembers(ctx context.Context, actor *core.Actor) ([]core.Member, error) {
	return s.store.ListMembers(ctx, actor.OrgID)
}
