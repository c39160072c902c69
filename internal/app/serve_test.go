package app

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/config"
)

// syncBuffer is a bytes.Buffer the server's goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLogsWhereToGo: serve logs the dashboard's URL and, while the
// instance has no user, the setup page's.
func TestServeLogsWhereToGo(t *testing.T) {
	in := instances(t)[0]
	start := func() string {
		t.Helper()
		cfg := config.Defaults()
		cfg.Addr, cfg.DataDir, cfg.DatabaseURL, cfg.PasswordCost = "127.0.0.1:0", in.dataDir, in.dbURL, 4
		var logs syncBuffer
		srv, err := Start(context.Background(), cfg, Env{Getenv: in.env(nil), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &logs})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "url=http://"+srv.Addr+"/ ") && !strings.Contains(logs.String(), "url=http://"+srv.Addr+"/\n") {
			t.Fatalf("no dashboard URL http://%s/ in the log:\n%s", srv.Addr, logs.String())
		}
		return strings.ReplaceAll(logs.String(), srv.Addr, "ADDR")
	}
	if logs := start(); !strings.Contains(logs, "url=http://ADDR/setup") {
		t.Fatalf("an instance without users does not log its setup page:\n%s", logs)
	}
	in.mustRun(t, "admin", "create-user", "--email", "a@example.com", "--password", "correct horse", "--org", "A")
	if logs := start(); strings.Contains(logs, "/setup") {
		t.Fatalf("an instance with a user logs the setup page:\n%s", logs)
	}
}

func TestBrowseURL(t *testing.T) {
	for _, tc := range []struct{ public, addr, want string }{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"", "[::]:9000", "http://127.0.0.1:9000"},
		{"", "[::1]:9000", "http://[::1]:9000"},
		{"https://licenses.example.com/", "0.0.0.0:8080", "https://licenses.example.com"},
	} {
		if got := browseURL(tc.public, tc.addr); got != tc.want {
			t.Errorf("browseURL(%q, %q) = %q, want %q", tc.public, tc.addr, got, tc.want)
		}
	}
}
