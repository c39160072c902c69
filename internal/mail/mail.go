// Package mail sends the dashboard's emails (invitations, password resets)
// over SMTP: messages rendered from embedded templates in plain text and
// HTML (multipart/alternative), sent with the standard library's net/smtp
// over STARTTLS (smtp://) or implicit TLS (smtps://), every step bounded by
// a timeout.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Config is where and how to send.
type Config struct {
	// URL is smtp://[user@]host[:port] (STARTTLS, port 587 by default) or
	// smtps://[user@]host[:port] (implicit TLS, port 465). A password in
	// the URL is used when Password is empty.
	URL      string
	Password string
	// From is the sender's address ("Latchkey <no-reply@example.com>").
	From string
	// Timeout bounds one message: dialling, TLS, every command and the
	// data (default 30 s).
	Timeout time.Duration
	// TLS, when set, verifies the server (tests set RootCAs); else the
	// system's roots, with the URL's host as the server name.
	TLS *tls.Config
}

// Message is one email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender sends messages over SMTP.
type Sender struct {
	cfg      Config
	implicit bool
	host     string
	addr     string
	user     string
	password string
	from     *mail.Address
}

// ParseURL checks an SMTP URL as New reads it. Its messages never repeat
// the URL: it may hold a password.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	switch {
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return nil, errors.New("must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	case u.Hostname() == "":
		return nil, errors.New("names no host (smtp://user@mail.example.com:587)")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("must not have a path, query or fragment")
	}
	return u, nil
}

// New returns a sender for cfg.
func New(cfg Config) (*Sender, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, errors.New("the sender address is not a valid email address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &Sender{cfg: cfg, implicit: u.Scheme == "smtps", host: u.Hostname(), from: from, password: cfg.Password}
	port := u.Port()
	if port == "" {
		port = "587"
		if s.implicit {
			port = "465"
		}
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		if p, ok := u.User.Password(); ok && s.password == "" {
			s.password = p
		}
	}
	return s, nil
}

// Send delivers m, within the context and the sender's timeout.
func (s *Sender) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return errors.New("the recipient is not a valid email address")
	}
	body, err := s.compose(to, m)
	if err != nil {
		return err
	}
	tlsCfg := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.cfg.TLS != nil {
		tlsCfg = s.cfg.TLS.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = s.host
		}
	}
	d := &net.Dialer{}
	var conn net.Conn
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("connect to the mail server: %w", err)
	}
	// Every command below runs under the same deadline; cancelling the
	// context closes the connection.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline) // a deadline on a fresh connection cannot fail usefully
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("mail server greeting: %w", err)
	}
	defer func() { _ = c.Close() }() // after Quit, or on failure: nothing left to report
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("mail server STARTTLS: %w", err)
			}
		} else if s.user != "" || !isLoopback(s.host) {
			// Credentials and one-time links never cross a network in
			// clear; a relay on this machine may do without TLS.
			return errors.New("the mail server does not offer STARTTLS: refusing to send without TLS")
		}
	}
	if s.user != "" {
		// PlainAuth itself refuses unless the connection is TLS (or to
		// localhost).
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return fmt.Errorf("mail server authentication: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail server refused the sender: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail server refused the recipient: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("send the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail server refused the message: %w", err)
	}
	if err := c.Quit(); err != nil && ctx.Err() != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// compose writes the message: headers, then a multipart/alternative body
// with the plain text first and the HTML last (the preferred part).
func (s *Sender) compose(to *mail.Address, m Message) ([]byte, error) {
	var buf bytes.Buffer
	id := make([]byte, 16)
	_, _ = rand.Read(id) // never fails (crypto/rand)
	mw := multipart.NewWriter(&buf)
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", s.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domainOf(s.from.Address)+">")
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "latchkey"
}
