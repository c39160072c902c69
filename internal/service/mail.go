package service

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/mail"
)

// Mailer sends one message (mail.Sender).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Token lifetimes of the links people are mailed.
const (
	// InvitationTTL is how long an invitation's link works.
	InvitationTTL = 7 * 24 * time.Hour
	// PasswordResetTTL is how long a password reset's link works.
	PasswordResetTTL = time.Hour
	// linkTokenLen is the length of the base62 tokens in links (about 190
	// bits, as sessions').
	linkTokenLen = 32
)

// linkToken returns a new random token for a link and its stored digest.
func linkToken() (string, []byte) {
	token := keys.RandomToken(linkTokenLen)
	return token, tokenDigest(token)
}

// tokenDigest is what is stored for a link's token: a database leak hands
// out no invitation and no password reset. The tokens are random and long,
// so a fast hash is enough.
func tokenDigest(token string) []byte {
	d := sha256.Sum256([]byte(token))
	return d[:]
}

// MailConfigured reports whether mails are sent; without, the dashboard
// shows invitation links to copy and resets are done by the operator.
func (s *Service) MailConfigured() bool { return s.mailer != nil }

// link returns an absolute link of path on --public-url, or "" without one
// (the dashboard then builds it from the owner's own request).
func (s *Service) link(path string) string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + path
}

// mailDate is how dates are written in mails.
func mailDate(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// sendLater sends a message off the request's path, logging a failure
// (without the message, which holds a one-time link).
func (s *Service) sendLater(ctx context.Context, kind string, m mail.Message) {
	ctx = context.WithoutCancel(ctx)
	s.mailing.Go(func() {
		if err := s.mailer.Send(ctx, m); err != nil {
			s.log.ErrorContext(ctx, "send mail", "kind", kind, "err", err)
		}
	})
}

// WaitMail waits for the mails being sent in the background (shutdown).
func (s *Service) WaitMail() { s.mailing.Wait() }
