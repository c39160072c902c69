package service

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

var errOrgOwnersOnly = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only an owner of the organization can rename or delete it."}

// orgName checks a new organization name as the field name: the rules of
// a name given at sign-up, and text a database can store.
func orgName(name string) (string, error) {
	p := core.Problems{}
	if !core.ValidText(name) {
		return "", core.InvalidText("name")
	}
	name = strings.TrimSpace(name)
	validOrgName(p, "name", name)
	if err := p.Err(); err != nil {
		return "", err
	}
	return name, nil
}

// RenameOrganization changes the actor's organization's name (owners
// only). The slug stays: it names the organization in nothing a client
// keeps, and changing it would buy nothing.
func (s *Service) RenameOrganization(ctx context.Context, actor *core.Actor, name string) (*core.Organization, error) {
	if err := requireOwner(actor); err != nil {
		return nil, errOrgOwnersOnly
	}
	name, err := orgName(name)
	if err != nil {
		return nil, err
	}
	var out *core.Organization
	err = s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		before, err := st.Organization(ctx, actor.OrgID)
		if err != nil {
			return err
		}
		if out, err = st.RenameOrganization(ctx, actor.OrgID, name); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("name", "The name is taken: another organization has this name.")
			}
			return err
		}
		if before.Name == out.Name {
			return nil
		}
		return audit(ctx, st, actor.Audit("organization.rename", "organization", actor.OrgID, 0,
			map[string]any{"from": before.Name, "to": out.Name}))
	})
	return out, err
}

// DeleteOrganization deletes the actor's organization (owners only) with
// everything it holds: projects and their licenses, domains and
// injectables, API keys, webhook endpoints, memberships, invitations and
// sessions. Its API keys and licenses are refused on the next request on
// every node (every member's membership and every project are
// invalidated, and the write waits for the other nodes like a
// revocation). A member who belongs to another organization stays signed
// in there; the others are signed out. The audit event is kept (audit
// events name their organization by ID only) and logged.
func (s *Service) DeleteOrganization(ctx context.Context, actor *core.Actor) error {
	if err := requireOwner(actor); err != nil {
		return errOrgOwnersOnly
	}
	var org *core.Organization
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		var err error
		if org, err = st.Organization(ctx, actor.OrgID); err != nil {
			return err
		}
		members, err := st.ListMembers(ctx, actor.OrgID)
		if err != nil {
			return err
		}
		for _, m := range members {
			changed(core.Change{Kind: core.ChangeMembership, ID: actor.OrgID, ID2: m.UserID})
		}
		projects := 0
		for after := int64(0); ; {
			ps, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: actor.OrgID, AfterID: after, Limit: 500})
			if err != nil {
				return err
			}
			for _, p := range ps {
				changed(core.Change{Kind: core.ChangeProject, ID: p.ID})
				catalogChanged(changed, p.ID)
				after = p.ID
			}
			projects += len(ps)
			if len(ps) < 500 {
				break
			}
		}
		changed(core.Change{Kind: core.ChangeWebhooks, ID: actor.OrgID})
		if err := st.DeleteOrganization(ctx, actor.OrgID); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("organization.delete", "organization", actor.OrgID, 0,
			map[string]any{"name": org.Name, "slug": org.Slug, "projects": projects, "members": len(members)}))
	})
	if err == nil {
		s.log.InfoContext(ctx, "organization deleted", "org_id", org.ID, "name", org.Name, "by", actor.Label)
	}
	return err
}
