package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSMTPSettings: --smtp-url and --mail-from are validated naming the
// flag, the password comes from the URL, LATCHKEY_SMTP_PASSWORD or its
// _FILE, and no message repeats it.
func TestSMTPSettings(t *testing.T) {
	base := []string{"--public-url", "https://latchkey.example.com", "--mail-from", "Latchkey <no-reply@example.com>"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		err  string // substring, with the flag it must name
		flag string
	}{
		{"starttls", []string{"--smtp-url", "smtp://user@mail.example.com:587"}, nil, "", ""},
		{"implicit TLS with the password in the URL", []string{"--smtp-url", "smtps://user:secret@mail.example.com"}, nil, "", ""},
		{"no user, no password", []string{"--smtp-url", "smtp://127.0.0.1:25"}, nil, "", ""},
		{"wrong scheme", []string{"--smtp-url", "http://user:secret@mail.example.com"}, nil, "must start with smtp://", "--smtp-url (LATCHKEY_SMTP_URL)"},
		{"no host", []string{"--smtp-url", "smtp://"}, nil, "names no host", "--smtp-url"},
		{"bad port", []string{"--smtp-url", "smtp://user:secret@mail.example.com:99999"}, nil, "invalid port", "--smtp-url"},
		{"unparsable", []string{"--smtp-url", "smtp://user:secret@[::1"}, nil, "not a valid URL", "--smtp-url"},
		{"path", []string{"--smtp-url", "smtp://user:secret@mail.example.com/inbox"}, nil, "must not have a path", "--smtp-url"},
		{"password without user", []string{"--smtp-url", "smtp://mail.example.com"}, map[string]string{"LATCHKEY_SMTP_PASSWORD": "secret"}, "names no user", "--smtp-url"},
		{"password without URL", nil, map[string]string{"LATCHKEY_SMTP_PASSWORD": "secret"}, "is required when", "--smtp-url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) > 0 {
				args = append(append([]string{}, base...), args...)
			}
			_, err := parse(t, args, tc.env)
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.flag)):
				t.Fatalf("error %v, want %q naming %s", err, tc.err, tc.flag)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Fatalf("the error repeats the password: %v", err)
			}
		})
	}

	url := []string{"--smtp-url", "smtp://user@mail.example.com"}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{append([]string{"--public-url", "https://l.example.com"}, url...), "--mail-from (LATCHKEY_MAIL_FROM): is required"},
		{append([]string{"--public-url", "https://l.example.com", "--mail-from", "not an address"}, url...), "--mail-from (LATCHKEY_MAIL_FROM): must be an email address"},
		{append([]string{"--mail-from", "a@example.com"}, url...), "--public-url (LATCHKEY_PUBLIC_URL): is required with --smtp-url"},
		{append(append([]string{}, base...), append(url, "--smtp-ca-file", "/nonexistent/ca.pem")...), "--smtp-ca-file"},
		{append(append([]string{}, base...), append(url, "--smtp-timeout", "0s")...), "--smtp-timeout"},
	} {
		if _, err := parse(t, tc.args, nil); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.flag)
		}
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, append(append([]string{}, base...), append(url, "--smtp-ca-file", notPEM)...), nil); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("not PEM: %v", err)
	}

	// The password from the environment, or from the file named there
	// (its trailing newline dropped); the variable wins.
	f := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, append(append([]string{}, base...), url...), map[string]string{"LATCHKEY_SMTP_PASSWORD_FILE": f})
	if err != nil || c.SMTPPassword != "from-file" {
		t.Fatalf("from the file: %q, %v", c.SMTPPassword, err)
	}
	c, err = parse(t, append(append([]string{}, base...), url...), map[string]string{"LATCHKEY_SMTP_PASSWORD_FILE": f, "LATCHKEY_SMTP_PASSWORD": "from-env"})
	if err != nil || c.SMTPPassword != "from-env" {
		t.Fatalf("the variable wins: %q, %v", c.SMTPPassword, err)
	}
	if _, err := parse(t, append(append([]string{}, base...), url...), map[string]string{"LATCHKEY_SMTP_PASSWORD_FILE": "/nonexistent"}); err == nil ||
		!strings.Contains(err.Error(), "LATCHKEY_SMTP_PASSWORD_FILE") {
		t.Fatalf("unreadable file: %v", err)
	}
	// The URL from a file, and from the environment.
	uf := filepath.Join(t.TempDir(), "smtp-url")
	if err := os.WriteFile(uf, []byte("smtps://user:pw@mail.example.com:465\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := parse(t, base, map[string]string{"LATCHKEY_SMTP_URL_FILE": uf}); err != nil || c.SMTPURL != "smtps://user:pw@mail.example.com:465" {
		t.Fatalf("URL from the file: %q, %v", c.SMTPURL, err)
	}
	if c, err := parse(t, base, map[string]string{"LATCHKEY_SMTP_URL": "smtp://u@h:25"}); err != nil || c.SMTPURL != "smtp://u@h:25" {
		t.Fatalf("URL from the environment: %q, %v", c.SMTPURL, err)
	}
	if _, err := parse(t, []string{"--smtp-password", "x"}, nil); err == nil {
		t.Fatal("the password is a flag")
	}
}
