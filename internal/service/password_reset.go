package service

import (
	"context"
	"net/netip"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/mail"
)

// errResetGone is the one answer for a reset link that cannot be used.
var errResetGone = &core.Error{Code: core.ENotFound,
	Message: "This password reset link does not work: it was already used or has expired (links work for one hour), or it is incomplete. Ask for a new one."}

// RequestPasswordReset mails a one-time link to reset the password of the
// account with this email, if there is one and it is enabled. The answer is
// the same either way, and the mail is sent in the background, so neither
// the answer nor its time tells whether the email has an account. Only a
// malformed email is refused.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email, err := ValidEmail(email)
	if err != nil {
		return core.Invalid("email", publicMessage(err))
	}
	if s.mailer == nil {
		return &core.Error{Code: core.EUnavailable,
			Message: "This server does not send email: ask its operator to reset your password (latchkey admin reset-password)."}
	}
	u, err := s.store.UserByEmail(ctx, email)
	if core.IsCode(err, core.ENotFound) || (err == nil && u.Disabled) {
		return nil
	}
	if err != nil {
		return err
	}
	token, digest := linkToken()
	now := s.now()
	pr := &core.PasswordReset{Digest: digest, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}
	if err := s.store.CreatePasswordReset(ctx, pr); err != nil {
		return err
	}
	m, err := mail.Render("password_reset", u.Email, map[string]any{"Email": u.Email,
		"Link": s.link("/reset-password/" + token), "Expires": mailDate(pr.ExpiresAt)})
	if err != nil {
		return err
	}
	s.sendLater(ctx, "password_reset", m)
	return nil
}

// CheckPasswordReset reports whether a reset link still works, for the
// page that asks for the new password.
func (s *Service) CheckPasswordReset(ctx context.Context, token string) error {
	if token == "" || len(token) > 128 {
		return errResetGone
	}
	_, err := s.store.PasswordReset(ctx, tokenDigest(token), s.now())
	if core.IsCode(err, core.ENotFound) {
		return errResetGone
	}
	return err
}

// ResetPassword sets a new password with a reset link's token, once. It
// ends every session of the user (sessions are read from the database on
// every request, on every node, so the next request of each is refused)
// and the user's other reset links. No session is started: the person
// signs in with the new password, through whatever sign-in asks for.
func (s *Service) ResetPassword(ctx context.Context, token, password string, addr netip.Addr, userAgent string) error {
	if err := s.CheckPasswordReset(ctx, token); err != nil {
		return err
	}
	hash, err := s.newPasswordHash(password)
	if err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		userID, err := st.UsePasswordReset(ctx, tokenDigest(token), s.now())
		if core.IsCode(err, core.ENotFound) {
			return errResetGone
		} else if err != nil {
			return err
		}
		return s.setPassword(ctx, st, changed, userID, hash, "password_reset", addr, userAgent)
	})
}

// newPasswordHash checks a new password (field "password") and hashes it.
func (s *Service) newPasswordHash(password string) (string, error) {
	p := core.Problems{}
	validPassword(p, password)
	if err := p.Err(); err != nil {
		return "", err
	}
	return s.HashPassword(password)
}

// AdminResetPassword sets a user's password for the operator (latchkey
// admin reset-password), ending their sessions as a reset by link does.
func (s *Service) AdminResetPassword(ctx context.Context, email, password string) error {
	email, err := ValidEmail(email)
	if err != nil {
		return core.Invalid("email", publicMessage(err))
	}
	hash, err := s.newPasswordHash(password)
	if err != nil {
		return err
	}
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		u, err := st.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		return s.setPassword(ctx, st, changed, u.ID, hash, "admin", netip.Addr{}, "")
	})
}

// setPassword stores a new password hash, ends every session of the user
// and audits the reset in each of their organizations.
func (s *Service) setPassword(ctx context.Context, st core.Store, changed func(core.Change), userID int64, hash, via string, addr netip.Addr, userAgent string) error {
	u, err := st.UpdateUser(ctx, userID, core.UserUpdate{PasswordHash: &hash})
	if err != nil {
		return err
	}
	if err := st.DeleteUserSessions(ctx, userID, 0); err != nil {
		return err
	}
	changed(core.Change{Kind: core.ChangeUser, ID: userID})
	orgs, err := st.ListUserOrganizations(ctx, userID)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		actor := &core.Actor{Type: core.ActorUser, UserID: userID, OrgID: o.OrgID, Role: o.Role, Label: u.Email, Addr: addr, UserAgent: userAgent}
		if via == "admin" {
			actor = &core.Actor{Type: core.ActorSystem, OrgID: o.OrgID, Label: "admin"}
		}
		if err := audit(ctx, st, actor.Audit("user.password_reset", "user", userID, 0, map[string]any{"via": via})); err != nil {
			return err
		}
	}
	return nil
}
