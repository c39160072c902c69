package service

import (
	"context"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/view"
)

// activationDedupe is the dedupe key of a license's activation.created
// event for an identifier: written once, released when the activation is
// removed so that its return is announced again.
func activationDedupe(licenseID int64, identifier string) string {
	return EventActivationCreated + ":" + strconv.FormatInt(licenseID, 10) + ":" + identifier
}

// ListActivations returns a page of a license's activations, oldest
// first: those with an ID above after, at most limit. The license is
// checked as License checks it (DevPayr's order for license reads).
// Identifiers seen since the last usage flush appear after it.
func (s *Service) ListActivations(ctx context.Context, actor *core.Actor, projectID, licenseID, after int64, limit int) ([]core.Activation, error) {
	if _, err := s.License(ctx, actor, projectID, licenseID); err != nil {
		return nil, err
	}
	return s.store.ListActivationPage(ctx, core.ActivationFilter{LicenseID: licenseID, AfterID: after, Limit: limit})
}

// DeleteActivation removes one activation of a license and frees what it
// held: the license's snapshot is dropped on every node (through the
// change, which PostgreSQL carries to the others), so the next validation
// from that identifier counts as a new activation (domain limits, churn
// limit) and is announced again (the activation.created dedupe key is
// released).
func (s *Service) DeleteActivation(ctx context.Context, actor *core.Actor, projectID, licenseID, id int64) (*core.Activation, error) {
	var a *core.Activation
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, licenseID, core.NotFound("License"))
		if err != nil {
			return err
		}
		if a, err = st.DeleteActivation(ctx, l.ID, id); err != nil {
			return err
		}
		if err := st.ReleaseEventDedupe(ctx, activationDedupe(l.ID, a.Identifier)); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeLicense, ID: l.ID})
		if _, err := s.emit(ctx, st, p.OrgID, event{typ: EventActivationDeleted, projectID: p.ID, resourceType: "activation",
			resourceID: a.ID, object: object(view.ActivationOf(a))}); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("license.activation.delete", "license", l.ID, p.ID,
			map[string]any{"activation_id": a.ID, "identifier": a.Identifier, "base_domain": a.BaseDomain}))
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
