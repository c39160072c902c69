package service

import (
	"context"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/mail"
)

// errInvitationGone is the one answer for a link that cannot be used: the
// person learns nothing of why beyond what the message lists.
var errInvitationGone = &core.Error{Code: core.ENotFound,
	Message: "This invitation link does not work: it was already used, withdrawn or has expired, or it is incomplete. Ask the person who invited you for a new one."}

// InviteInput is what inviting a member needs.
type InviteInput struct {
	Email string
	Role  core.Role
}

// InviteResult is an invitation just made or resent, with its token: shown
// to the owner only when no mail was sent (no SMTP, or the mail failed).
type InviteResult struct {
	Invitation *core.Invitation
	Token      string
	// Link is the absolute link on --public-url, or "" without one.
	Link string
	// Mailed tells whether the mail was accepted by the SMTP server;
	// MailError says why not, when sending was tried and failed.
	Mailed    bool
	MailError string
}

// ListInvitations returns the organization's pending invitations (expired
// ones included, to resend), for its owners.
func (s *Service) ListInvitations(ctx context.Context, actor *core.Actor) ([]core.Invitation, error) {
	if err := requireOwner(actor); err != nil {
		return nil, err
	}
	return s.store.ListInvitations(ctx, actor.OrgID)
}

// Invite invites a person to the actor's organization by email, as role.
// Only owners may. Nobody is attached until the person opens the link and
// accepts; inviting an email with a pending invitation renews it (a new
// link, the old one stops working). With a mailer the link is mailed,
// synchronously so the owner learns when the mail fails.
func (s *Service) Invite(ctx context.Context, actor *core.Actor, in InviteInput) (*InviteResult, error) {
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
	// The fields' problems are reported in the transaction, after the
	// plan's cap on members (issue 15: limits before validation).
	invalid := p.Err()
	token, digest := linkToken()
	now := s.now()
	inv := &core.Invitation{OrgID: actor.OrgID, Email: email, Role: in.Role, Digest: digest, InvitedBy: actor.Label,
		CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	err = s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if err := s.checkMemberCap(ctx, st, actor.OrgID, email); err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		// Members are listed to the owner already: saying so reveals
		// nothing about accounts outside the organization.
		if u, err := st.UserByEmail(ctx, email); err == nil {
			if _, err := st.Membership(ctx, actor.OrgID, u.ID); err == nil {
				return core.Invalid("email", "This person is already a member of the organization.")
			} else if !core.IsCode(err, core.ENotFound) {
				return err
			}
		} else if !core.IsCode(err, core.ENotFound) {
			return err
		}
		if err := st.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("invitation.create", "invitation", inv.ID, 0,
			map[string]any{"email": email, "role": in.Role, "expires_at": inv.ExpiresAt}))
	})
	if err != nil {
		return nil, err
	}
	return s.mailInvitation(ctx, actor, inv, token), nil
}

// ResendInvitation gives a pending invitation (expired or not) a new link
// valid InvitationTTL from now and mails it; the old link stops working.
func (s *Service) ResendInvitation(ctx context.Context, actor *core.Actor, id int64) (*InviteResult, error) {
	if err := requireOwner(actor); err != nil {
		return nil, err
	}
	token, digest := linkToken()
	var inv *core.Invitation
	err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		var err error
		if inv, err = st.Invitation(ctx, actor.OrgID, id); err != nil {
			return err
		}
		if inv.AcceptedAt != nil || inv.RevokedAt != nil {
			return core.NotFound("Invitation")
		}
		inv.Digest, inv.ExpiresAt = digest, s.now().Add(InvitationTTL)
		if err := st.RenewInvitation(ctx, actor.OrgID, id, digest, inv.ExpiresAt); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("invitation.resend", "invitation", id, 0,
			map[string]any{"email": inv.Email, "expires_at": inv.ExpiresAt}))
	})
	if err != nil {
		return nil, err
	}
	return s.mailInvitation(ctx, actor, inv, token), nil
}

// mailInvitation sends the invitation's link, when a mailer is set.
func (s *Service) mailInvitation(ctx context.Context, actor *core.Actor, inv *core.Invitation, token string) *InviteResult {
	res := &InviteResult{Invitation: inv, Token: token, Link: s.link("/invite/" + token)}
	if s.mailer == nil {
		return res
	}
	org, err := s.store.Organization(ctx, inv.OrgID)
	orgName := ""
	if err == nil {
		orgName = org.Name
	}
	m, err := mail.Render("invitation", inv.Email, map[string]any{"InvitedBy": actor.Label, "OrgName": orgName,
		"Role": string(inv.Role), "Link": res.Link, "Expires": mailDate(inv.ExpiresAt), "Email": inv.Email})
	if err == nil {
		err = s.mailer.Send(ctx, m)
	}
	if err != nil {
		s.log.WarnContext(ctx, "send invitation", "invitation", inv.ID, "err", err)
		res.MailError = err.Error()
		return res
	}
	res.Mailed = true
	return res
}

// RevokeInvitation withdraws a pending invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, actor *core.Actor, id int64) error {
	if err := requireOwner(actor); err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		inv, err := st.Invitation(ctx, actor.OrgID, id)
		if err != nil {
			return err
		}
		if err := st.RevokeInvitation(ctx, actor.OrgID, id, s.now()); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("invitation.revoke", "invitation", id, 0, map[string]any{"email": inv.Email}))
	})
}

// OpenedInvitation is an invitation as its link shows it.
type OpenedInvitation struct {
	Invitation core.Invitation // Digest cleared
	// HasAccount tells whether the invited email has an account: its owner
	// signs in to join, others create one. Only the link's holder learns it.
	HasAccount bool
}

// OpenInvitation returns the pending invitation of a link's token, or
// errInvitationGone.
func (s *Service) OpenInvitation(ctx context.Context, token string) (*OpenedInvitation, error) {
	inv, err := s.pendingInvitation(ctx, s.store, token)
	if err != nil {
		return nil, err
	}
	out := &OpenedInvitation{Invitation: *inv}
	out.Invitation.Digest = nil
	if _, err := s.store.UserByEmail(ctx, inv.Email); err == nil {
		out.HasAccount = true
	} else if !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	return out, nil
}

func (s *Service) pendingInvitation(ctx context.Context, st core.Store, token string) (*core.Invitation, error) {
	if token == "" || len(token) > 128 {
		return nil, errInvitationGone
	}
	inv, err := st.InvitationByDigest(ctx, tokenDigest(token))
	if core.IsCode(err, core.ENotFound) || (err == nil && !inv.Pending(s.now())) {
		return nil, errInvitationGone
	}
	return inv, err
}

// AcceptInvitationInput is what accepting an invitation with a new account
// needs.
type AcceptInvitationInput struct {
	Token     string
	Name      string
	Password  string
	Addr      netip.Addr
	UserAgent string
}

// AcceptInvitation creates the invited email's account, makes it a member
// with the invitation's role, spends the invitation and starts a session
// there. An email that has an account joins with JoinInvitation instead,
// after signing in.
func (s *Service) AcceptInvitation(ctx context.Context, in AcceptInvitationInput) (string, error) {
	inv, err := s.pendingInvitation(ctx, s.store, in.Token)
	if err != nil {
		return "", err
	}
	p := core.Problems{}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		p.Add("name", "The name field is required.")
	case utf8.RuneCountInString(name) > 255:
		p.Add("name", "The name field must not be greater than 255 characters.")
	}
	validPassword(p, in.Password)
	if err := p.Err(); err != nil {
		return "", err
	}
	hash, err := s.HashPassword(in.Password)
	if err != nil {
		return "", err
	}
	u := &core.User{Email: inv.Email, Name: name, PasswordHash: hash}
	err = s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		if err := st.CreateUser(ctx, u); core.IsCode(err, core.EConflict) {
			return core.Invalid("email", "This email has an account now: sign in with it to join.")
		} else if err != nil {
			return err
		}
		return s.join(ctx, st, changed, inv, u, in.Addr, in.UserAgent)
	})
	if err != nil {
		return "", err
	}
	return s.startSession(ctx, u, inv.OrgID, inv.Role, in.Addr, in.UserAgent)
}

// JoinInvitation makes the signed-in user a member with the invitation's
// role, if the invitation was sent to their email, and moves the session
// to the organization joined.
func (s *Service) JoinInvitation(ctx context.Context, info *SessionInfo, token string, addr netip.Addr, userAgent string) (*core.Invitation, error) {
	var inv *core.Invitation
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		var err error
		if inv, err = s.pendingInvitation(ctx, st, token); err != nil {
			return err
		}
		if !strings.EqualFold(inv.Email, info.User.Email) {
			return &core.Error{Code: core.EForbidden, Message: "This invitation was sent to " + inv.Email +
				", and you are signed in as " + info.User.Email + ": sign out, then open the link again."}
		}
		return s.join(ctx, st, changed, inv, &info.User, addr, userAgent)
	})
	if err != nil {
		return nil, err
	}
	if err := s.SwitchOrganization(ctx, info, inv.OrgID); err != nil {
		return nil, err
	}
	return inv, nil
}

// join spends the invitation (once: of two concurrent uses one fails) and
// adds the membership.
func (s *Service) join(ctx context.Context, st core.Store, changed func(core.Change), inv *core.Invitation, u *core.User, addr netip.Addr, userAgent string) error {
	if err := st.UseInvitation(ctx, inv.ID, u.ID, s.now()); core.IsCode(err, core.ENotFound) {
		return errInvitationGone
	} else if err != nil {
		return err
	}
	m := core.Membership{OrgID: inv.OrgID, UserID: u.ID, Role: inv.Role}
	if err := st.CreateMembership(ctx, &m); core.IsCode(err, core.EConflict) {
		return core.Invalid("email", "You are already a member of this organization.")
	} else if err != nil {
		return err
	}
	changed(core.Change{Kind: core.ChangeMembership, ID: inv.OrgID, ID2: u.ID})
	actor := &core.Actor{Type: core.ActorUser, UserID: u.ID, OrgID: inv.OrgID, Role: inv.Role, Label: u.Email, Addr: addr, UserAgent: userAgent}
	return audit(ctx, st, actor.Audit("invitation.accept", "user", u.ID, 0,
		map[string]any{"email": u.Email, "role": inv.Role, "invited_by": inv.InvitedBy, "invitation": inv.ID}))
}
