package app

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/service"
)

// newMailer returns the SMTP sender of --smtp-url, or nil without one (the
// dashboard then shows invitation links to copy).
func newMailer(cfg config.Config, log *slog.Logger) service.Mailer {
	if cfg.SMTPURL == "" {
		return nil
	}
	mc := mail.Config{URL: cfg.SMTPURL, Password: cfg.SMTPPassword, From: cfg.MailFrom, Timeout: cfg.SMTPTimeout}
	if cfg.SMTPCAFile != "" {
		pool := x509.NewCertPool()
		if b, err := os.ReadFile(cfg.SMTPCAFile); err == nil && pool.AppendCertsFromPEM(b) {
			mc.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		} else {
			// Unreachable after config.Validate, which read the same file.
			log.Error("--smtp-ca-file is unreadable: using the system's roots")
		}
	}
	s, err := mail.New(mc)
	if err != nil {
		// Unreachable after config.Validate; the message never holds the
		// URL or the password.
		log.Error("mail is off", "err", err)
		return nil
	}
	return s
}
