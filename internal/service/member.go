package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

var errOwnersOnly = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only an owner of the organization can manage its members."}

func requireOwner(actor *core.Actor) error {
	if actor.Type == core.ActorSystem || actor.Role.ManagesMembers() {
		return nil
	}
	return errOwnersOnly
}

// lastOwner reports whether userID is the organization's only owner.
func lastOwner(ctx context.Context, st core.Store, orgID, userID int64) (bool, error) {
	members, err := st.ListMembers(ctx, orgID)
	if err != nil {
		return false, err
	}
	owners, isOwner := 0, false
	for _, m := range members {
		if m.Role == core.RoleOwner {
			owners++
			if m.UserID == userID {
				isOwner = true
			}
		}
	}
	return isOwner && owners == 1, nil
}

// ChangeMemberRole gives a member another role. Their keys keep their
// scopes but act, from the next request on, within the new role.
func (s *Service) ChangeMemberRole(ctx context.Context, actor *core.Actor, userID int64, role core.Role) error {
	if err := requireOwner(actor); err != nil {
		return err
	}
	if !role.Valid() {
		return core.Invalid("role", "The role must be one of owner, admin, developer, viewer.")
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		m, err := st.Membership(ctx, actor.OrgID, userID)
		if err != nil {
			return err
		}
		if m.Role == role {
			return nil
		}
		if role != core.RoleOwner {
			if last, err := lastOwner(ctx, st, actor.OrgID, userID); err != nil {
				return err
			} else if last {
				return core.Errorf(core.EConflict, "The organization needs at least one owner: make someone else owner first.")
			}
		}
		if err := st.UpdateMembershipRole(ctx, actor.OrgID, userID, role); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeMembership, ID: actor.OrgID, ID2: userID})
		return audit(ctx, st, actor.Audit("member.role_change", "user", userID, 0,
			map[string]any{"from": m.Role, "to": role}))
	})
}

// RemoveMember removes a member from the organization and revokes their
// API keys in it; they stop working on the next request.
func (s *Service) RemoveMember(ctx context.Context, actor *core.Actor, userID int64) error {
	if err := requireOwner(actor); err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		if _, err := st.Membership(ctx, actor.OrgID, userID); err != nil {
			return err
		}
		if last, err := lastOwner(ctx, st, actor.OrgID, userID); err != nil {
			return err
		} else if last {
			return core.Errorf(core.EConflict, "The organization's last owner cannot be removed.")
		}
		if err := st.DeleteMembership(ctx, actor.OrgID, userID); err != nil {
			return err
		}
		revoked, err := st.RevokeUserKeys(ctx, actor.OrgID, userID, s.now())
		if err != nil {
			return err
		}
		for i := range revoked {
			before := revoked[i]
			before.RevokedAt = nil
			if err := s.emitAPIKey(ctx, st, EventAPIKeyRevoked, &before, &revoked[i]); err != nil {
				return err
			}
		}
		n := len(revoked)
		if err := st.DeleteUserSessions(ctx, userID, actor.OrgID); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeMembership, ID: actor.OrgID, ID2: userID})
		return audit(ctx, st, actor.Audit("member.remove", "user", userID, 0, map[string]any{"keys_revoked": n}))
	})
}

// SetUserDisabled disables or re-enables a user everywhere: a disabled
// user's keys and sessions are refused on the next request.
func (s *Service) SetUserDisabled(ctx context.Context, actor *core.Actor, userID int64, disabled bool) error {
	if err := requireOwner(actor); err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		if _, err := st.Membership(ctx, actor.OrgID, userID); err != nil {
			return err
		}
		if _, err := st.UpdateUser(ctx, userID, core.UserUpdate{Disabled: &disabled}); err != nil {
			return err
		}
		if disabled {
			if err := st.DeleteUserSessions(ctx, userID, 0); err != nil {
				return err
			}
		}
		changed(core.Change{Kind: core.ChangeUser, ID: userID})
		action := "user.enable"
		if disabled {
			action = "user.disable"
		}
		return audit(ctx, st, actor.Audit(action, "user", userID, 0, nil))
	})
}
