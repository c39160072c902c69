package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/core"
)

// errUsersOnly refuses account changes to anything but a signed-in user.
var errUsersOnly = core.Errorf(core.EForbidden, "Only a signed-in user can change their own account.")

// UpdateProfile changes the signed-in user's display name.
func (s *Service) UpdateProfile(ctx context.Context, actor *core.Actor, name string) (*core.User, error) {
	if actor.Type != core.ActorUser {
		return nil, errUsersOnly
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 255 {
		return nil, core.Invalid("name", "The name field must not be greater than 255 characters.")
	}
	var out *core.User
	err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		var err error
		if out, err = st.UpdateUser(ctx, actor.UserID, core.UserUpdate{Name: &name}); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("user.update", "user", actor.UserID, 0, map[string]any{"name": name}))
	})
	if err != nil {
		return nil, err
	}
	out.PasswordHash = ""
	return out, nil
}

// ChangePassword sets a new password after checking the current one. Every
// session of the user ends (a thief's too); the returned token is a fresh
// session for the caller.
func (s *Service) ChangePassword(ctx context.Context, actor *core.Actor, current, next string) (string, error) {
	if actor.Type != core.ActorUser {
		return "", errUsersOnly
	}
	u, err := s.store.User(ctx, actor.UserID)
	if err != nil {
		return "", err
	}
	p := core.Problems{}
	if current == "" {
		p.Add("current_password", "The current password field is required.")
	} else if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		p.Add("current_password", "The password is incorrect.")
	}
	validPassword(p, next)
	if err := p.Err(); err != nil {
		return "", err
	}
	hash, err := s.HashPassword(next)
	if err != nil {
		return "", err
	}
	se, token := s.newSession(u.ID, actor.OrgID, actor.Addr, actor.UserAgent)
	err = s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if _, err := st.UpdateUser(ctx, u.ID, core.UserUpdate{PasswordHash: &hash}); err != nil {
			return err
		}
		if err := st.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		if err := st.CreateSession(ctx, se); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("user.password_change", "user", u.ID, 0, nil))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}
