package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// AddMemberInput is what adding a member needs. Password and Name are used
// only when no user has the email yet.
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

// AddMember adds a person to the actor's organization: an existing user by
// email, or a new user with the given password. Only owners may.
func (s *Service) AddMember(ctx context.Context, actor *core.Actor, in AddMemberInput) (*core.Member, error) {
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
	if err := p.Err(); err != nil {
		return nil, err
	}
	existing, err := s.store.UserByEmail(ctx, email)
	if core.IsCode(err, core.ENotFound) {
		existing = nil
	} else if err != nil {
		return nil, err
	}
	var hash string
	if existing == nil {
		validPassword(p, in.Password)
		if err := p.Err(); err != nil {
			return nil, err
		}
		// Hashed before the transaction: bcrypt is slow on purpose and
		// must not hold the database's writer.
		if hash, err = s.HashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	var out *core.Member
	err = s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		u := existing
		if u == nil {
			u = &core.User{Email: email, Name: name, PasswordHash: hash}
			if err := st.CreateUser(ctx, u); err != nil {
				if core.IsCode(err, core.EConflict) {
					return core.Invalid("email", "A user with this email was created meanwhile: try again.")
				}
				return err
			}
		}
		m := core.Membership{OrgID: actor.OrgID, UserID: u.ID, Role: in.Role}
		if err := st.CreateMembership(ctx, &m); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("email", "This user is already a member of the organization.")
			}
			return err
		}
		out = &core.Member{Membership: m, Email: u.Email, Name: u.Name, Disabled: u.Disabled}
		changed(core.Change{Kind: core.ChangeMembership, ID: actor.OrgID, ID2: u.ID})
		return audit(ctx, st, actor.Audit("member.add", "user", u.ID, 0,
			map[string]any{"email": u.Email, "role": in.Role, "new_user": existing == nil}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
