package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// LicenseCounts returns how many licenses a project has, by status.
func (s *Service) LicenseCounts(ctx context.Context, actor *core.Actor, projectID int64) (map[string]int64, error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeLicensesRead)
	if err != nil {
		return nil, err
	}
	return s.store.CountLicenses(ctx, p.ID)
}

// LicenseActivations returns the runtime identifiers (domains seen) that
// used a license, oldest first. Identifiers seen since the last usage
// flush appear after it.
func (s *Service) LicenseActivations(ctx context.Context, actor *core.Actor, projectID, id int64) ([]core.Activation, error) {
	if _, err := s.License(ctx, actor, projectID, id); err != nil {
		return nil, err
	}
	return s.store.ListActivations(ctx, id)
}

// LicenseUsage returns a license's passing validations per UTC day for the
// last days days, oldest first, including pending: what this node counted
// but has not yet written (Validator.Pending).
func (s *Service) LicenseUsage(ctx context.Context, actor *core.Actor, projectID, id int64, days int, pending map[string]int64) ([]core.DayCount, error) {
	if _, err := s.License(ctx, actor, projectID, id); err != nil {
		return nil, err
	}
	return s.dailySeries(days, func(from, to string) ([]core.DayCount, error) {
		return s.store.LicenseUsage(ctx, id, from, to)
	}, pending)
}
