package mail_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/mail"
	"github.com/latchkey/latchkey/internal/mail/mailtest"
)

func sender(t *testing.T, srv *mailtest.Server, password string) *mail.Sender {
	t.Helper()
	s, err := mail.New(mail.Config{URL: srv.URL(), Password: password, From: "Latchkey <no-reply@latchkey.test>",
		Timeout: 5 * time.Second, TLS: &tls.Config{RootCAs: srv.Pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSend: a rendered message reaches a real SMTP server over STARTTLS and
// over implicit TLS, authenticated, as plain text plus HTML.
func TestSend(t *testing.T) {
	for _, mode := range []mailtest.Mode{mailtest.StartTLS, mailtest.Implicit} {
		srv := mailtest.New(t, mode)
		m, err := mail.Render("invitation", "bea@example.com", map[string]any{"InvitedBy": "ada@acme.test", "OrgName": "Acme <&> Co",
			"Role": "developer", "Link": "https://latchkey.test/invite/abc?x=1&y=2", "Expires": "14 Dec 2026 10:00 UTC", "Email": "bea@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sender(t, srv, mailtest.Password).Send(context.Background(), m); err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		got := srv.Wait(t, 1)[0]
		if !got.TLS || !got.Authed || got.To != "bea@example.com" || got.From != "no-reply@latchkey.test" {
			t.Fatalf("mode %d: received %+v", mode, got)
		}
		if subj := got.Header.Get("Subject"); subj != "ada@acme.test invited you to Acme <&> Co on Latchkey" {
			t.Fatalf("subject %q", subj)
		}
		text, html := got.Parts["text/plain"], got.Parts["text/html"]
		if !strings.Contains(text, "https://latchkey.test/invite/abc?x=1&y=2") || !strings.Contains(text, "Acme <&> Co") {
			t.Fatalf("text part:\n%s", text)
		}
		// html/template escapes the organization's name and the link.
		if !strings.Contains(html, `href="https://latchkey.test/invite/abc?x=1&amp;y=2"`) || !strings.Contains(html, "Acme &lt;&amp;&gt; Co") {
			t.Fatalf("HTML part:\n%s", html)
		}
	}
}

// TestSendRefusals: a wrong password, a server without STARTTLS (the
// password is never sent in clear), a refused message and a server that
// never answers all fail with a message saying so, within the timeout.
func TestSendRefusals(t *testing.T) {
	ctx := context.Background()
	msg := mail.Message{To: "bea@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}

	srv := mailtest.New(t, mailtest.StartTLS)
	if err := sender(t, srv, "wrong").Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Fatalf("wrong password: %v", err)
	}
	srv.FailWith("mailbox full")
	if err := sender(t, srv, mailtest.Password).Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "mailbox full") {
		t.Fatalf("refused message: %v", err)
	}

	plain := mailtest.New(t, mailtest.NoTLS)
	if err := sender(t, plain, mailtest.Password).Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("no STARTTLS: %v", err)
	}
	if got := plain.Got(); len(got) != 0 {
		t.Fatalf("sent without TLS: %+v", got)
	}

	// An untrusted certificate is refused.
	other := mailtest.New(t, mailtest.Implicit)
	s, err := mail.New(mail.Config{URL: other.URL(), Password: mailtest.Password, From: "no-reply@latchkey.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}

	// A server that accepts the connection and says nothing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	s, err = mail.New(mail.Config{URL: "smtp://u@" + l.Addr().String(), Password: "p", From: "no-reply@latchkey.test", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Send(ctx, msg); err == nil {
		t.Fatal("a silent server: no error")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the timeout did not hold: %v", time.Since(start))
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"smtp://u@mail.example.com:587", ""},
		{"smtps://u:p@mail.example.com", ""},
		{"http://mail.example.com", "must start with smtp://"},
		{"smtp://", "names no host"},
		{"smtp://mail.example.com/x", "must not have a path"},
		{"smtp://u:secret@[::1", "not a valid URL"},
	} {
		_, err := mail.ParseURL(tc.url)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ParseURL(%q) = %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q) repeats the password: %v", tc.url, err)
		}
	}
}
