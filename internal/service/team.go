package service

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// AddMemberInput is what inviting a member needs. Password and Name are
// used only when no user has the email yet, but the password is required
// either way: the form must not tell whether an email has an account.
type AddMemberInput struct {
	Email    string
	Name     string
	Password string
	Role     core.Role
}

// ListMembers returns the members of the actor's organization, oldest
// first. Every member may see who else is in it.
func (s *Service) ListMembers(ctx context.Context, actor *core.Actor) ([]core.Member, error) {
	return s.store.ListMembers(ctx, actor.OrgID)
}

// AddMember invites a person to the actor's organization by email. Only
// owners may. Nobody is attached without consent: the invitation stays
// pending until the person accepts it at their next sign-in. An email
// without an account gets one, with the password given, to sign in with.
// The answer, the audit event and the time taken are the same whether or
// not the email had an account, so the form cannot be used to find out.
func (s *Service) AddMember(ctx context.Context, actor *core.Actor, in AddMemberInput) (*core.Invitation, error) {
	if err := requireOwner(actor); err != nil {
		return nil, err
	}
	p := core.Problems{}
	email, err := ValidEmail(in.Email)
	if err != nil {
		p.Add("email", publicMessage(err))
	}
	if !in.Role.Valid() {
		p.Add("role", "The role must be one of owner, admin, developer, viewer.")
	}
	name := strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(name) > 255 {
		p.Add("name", "The name field must not be greater than 255 characters.")
	}
	validPassword(p, in.Password)
	// The fields' problems are reported in the transaction, after the
	// plan's cap on members (issue 15: limits before validation).
	invalid := p.Err()
	var hash string
	if invalid == nil {
		// Hashed before the transaction (bcrypt is slow on purpose and must
		// not hold the database's writer), and always, so that the time
		// taken does not tell whether the account existed.
		if hash, err = s.HashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	inv := &core.Invitation{OrgID: actor.OrgID, Role: in.Role, InvitedBy: actor.Label, Email: email}
	err = s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if err := s.checkMemberCap(ctx, st, actor.OrgID, email); err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		u, err := st.UserByEmail(ctx, email)
		if core.IsCode(err, core.ENotFound) {
			u = &core.User{Email: email, Name: name, PasswordHash: hash}
			err = st.CreateUser(ctx, u)
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("email", "Someone else just added this email: try again.")
			}
		}
		if err != nil {
			return err
		}
		// Members are listed to the owner already: saying so reveals
		// nothing about accounts outside the organization.
		if _, err := st.Membership(ctx, actor.OrgID, u.ID); err == nil {
			return core.Invalid("email", "This user is already a member of the organization.")
		} else if !core.IsCode(err, core.ENotFound) {
			return err
		}
		inv.UserID = u.ID
		if err := st.PutInvitation(ctx, inv); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("member.invite", "user", u.ID, 0, map[string]any{"email": email, "role": in.Role}))
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// ListInvitations returns the organization's pending invitations, for its
// owners.
func (s *Service) ListInvitations(ctx context.Context, actor *core.Actor) ([]core.Invitation, error) {
	if err := requireOwner(actor); err != nil {
		return nil, err
	}
	return s.store.ListInvitations(ctx, actor.OrgID)
}

// CancelInvitation withdraws a pending invitation.
func (s *Service) CancelInvitation(ctx context.Context, actor *core.Actor, userID int64) error {
	if err := requireOwner(actor); err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if err := st.DeleteInvitation(ctx, actor.OrgID, userID); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("member.invite_cancel", "user", userID, 0, nil))
	})
}

// PendingInvitations is SignIn's answer to a user with invitations they
// have not answered yet: the password was right, and the person decides
// which organizations to join before the session starts.
type PendingInvitations struct {
	Invitations []core.Invitation
}

var errInvitationsPending = &core.Error{Code: core.EConflict, Reason: core.ReasonInvitationsPending,
	Message: "You have been invited to join an organization: tick the invitations you accept and sign in again. Those left unticked are declined."}

func (e *PendingInvitations) Error() string { return errInvitationsPending.Error() }

// Unwrap lets transports show the public message.
func (e *PendingInvitations) Unwrap() error { return errInvitationsPending }

// answerInvitations applies the person's answers to the invitations shown
// to them (answered), accepting those in accept, declining the others.
// Invitations not shown are left pending. It returns the first
// organization joined, or 0.
func (s *Service) answerInvitations(ctx context.Context, u *core.User, invs []core.Invitation, answered, accept []int64, addr netip.Addr, userAgent string) (int64, error) {
	var joined int64
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		for _, inv := range invs {
			if !slices.Contains(answered, inv.OrgID) {
				continue
			}
			if err := st.DeleteInvitation(ctx, inv.OrgID, u.ID); core.IsCode(err, core.ENotFound) {
				continue // withdrawn meanwhile
			} else if err != nil {
				return err
			}
			actor := &core.Actor{Type: core.ActorUser, UserID: u.ID, OrgID: inv.OrgID, Role: inv.Role, Label: u.Email,
				Addr: addr, UserAgent: userAgent}
			if !slices.Contains(accept, inv.OrgID) {
				if err := audit(ctx, st, actor.Audit("member.decline", "user", u.ID, 0, map[string]any{"role": inv.Role})); err != nil {
					return err
				}
				continue
			}
			m := core.Membership{OrgID: inv.OrgID, UserID: u.ID, Role: inv.Role}
			if err := st.CreateMembership(ctx, &m); err != nil && !core.IsCode(err, core.EConflict) {
				return err
			}
			changed(core.Change{Kind: core.ChangeMembership, ID: inv.OrgID, ID2: u.ID})
			if joined == 0 {
				joined = inv.OrgID
			}
			if err := audit(ctx, st, actor.Audit("member.add", "user", u.ID, 0,
				map[string]any{"email": u.Email, "role": inv.Role, "invited_by": inv.InvitedBy})); err != nil {
				return err
			}
		}
		return nil
	})
	return joined, err
}
