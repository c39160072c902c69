// Package mailtest runs a real SMTP server in the test's process
// (github.com/emersion/go-smtp) with a certificate of its own, over
// STARTTLS or implicit TLS, requiring PLAIN authentication, and keeps what
// it receives.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// User and Password are the credentials the server accepts.
const (
	User     = "latchkey"
	Password = "smtp-secret-pass"
)

// Mode is how clients reach the server.
type Mode int

const (
	// StartTLS serves plain SMTP that offers STARTTLS (smtp://).
	StartTLS Mode = iota
	// Implicit serves SMTP inside TLS from the first byte (smtps://).
	Implicit
	// NoTLS serves plain SMTP without STARTTLS, to test refusals.
	NoTLS
)

// Received is one message as the server got it.
type Received struct {
	From, To string
	// TLS tells whether the message came over TLS; Authed whether the
	// client authenticated first.
	TLS, Authed bool
	Header      mail.Header
	// Parts maps each part's media type (text/plain, text/html) to its
	// decoded body.
	Parts map[string]string
	Raw   []byte
}

// Server is a running SMTP server.
type Server struct {
	Addr string
	// CAFile is a PEM file of the server's certificate, for
	// --smtp-ca-file; Pool is the same as a pool.
	CAFile string
	Pool   *x509.CertPool
	mode   Mode
	mu     sync.Mutex
	got    []Received
	notify chan struct{}
	// Fail, when set, refuses every message's DATA with this text.
	fail string
}

// New starts a server for the test's duration.
func New(tb testing.TB, mode Mode) *Server {
	tb.Helper()
	cert, pemBytes := certificate(tb)
	s := &Server{mode: mode, notify: make(chan struct{}, 1), Pool: x509.NewCertPool()}
	s.Pool.AppendCertsFromPEM(pemBytes)
	s.CAFile = filepath.Join(tb.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(s.CAFile, pemBytes, 0o600); err != nil {
		tb.Fatal(err)
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var l net.Listener
	var err error
	switch mode {
	case Implicit:
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	case StartTLS:
		srv.TLSConfig = tlsCfg
		l, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		srv.AllowInsecureAuth = true
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }() // ends with Close below
	tb.Cleanup(func() { _ = srv.Close(); <-done })
	return s
}

// URL is the --smtp-url for this server, with the user but no password.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.mode == Implicit {
		scheme = "smtps"
	}
	return scheme + "://" + User + "@" + s.Addr
}

// FailWith makes the server refuse messages with text ("" accepts again).
func (s *Server) FailWith(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = text
}

// Got returns what was received so far.
func (s *Server) Got() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Wait returns the first n messages, waiting up to 10 s for them.
func (s *Server) Wait(tb testing.TB, n int) []Received {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := s.Got(); len(got) >= n {
			return got[:n]
		}
		select {
		case <-s.notify:
		case <-deadline:
			tb.Fatalf("mailtest: %d messages received, want %d", len(s.Got()), n)
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tls: isTLS}, nil
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	tls      bool
	authed   bool
	from, to string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != User || pass != Password {
			return errors.New("invalid credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = to
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.s.mu.Lock()
	fail := se.s.fail
	se.s.mu.Unlock()
	if fail != "" {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: fail}
	}
	_, isTLS := se.conn.TLSConnectionState()
	rec := Received{From: se.from, To: se.to, TLS: isTLS || se.tls, Authed: se.authed, Raw: raw, Parts: map[string]string{}}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	rec.Header = msg.Header
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return errors.New("mailtest: not a multipart message")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		rec.Parts[pt] = string(b)
	}
	se.s.mu.Lock()
	se.s.got = append(se.s.got, rec)
	se.s.mu.Unlock()
	select {
	case se.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", "" }
func (se *session) Logout() error { return nil }

// certificate makes a self-signed certificate for 127.0.0.1.
func certificate(tb testing.TB) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes
}
