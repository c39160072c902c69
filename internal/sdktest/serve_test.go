package sdktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/app"
)

// server is `latchkey serve` running in this process (app.Run with the
// serve command, exactly what the binary runs) on a free loopback port,
// with an owner and the owner's API key created by `latchkey admin`.
type server struct {
	URL   string // http://127.0.0.1:port
	Key   string // the owner's API key
	stop  func() error
	log   *lineLog
	clean func()
}

// Stop shuts the server down (as SIGTERM would) and removes its data.
func (s *server) Stop() error {
	err := s.stop()
	s.clean()
	return err
}

// startServer starts a server; extra adds environment variables (such as
// LATCHKEY_DATABASE_URL). It takes no testing.TB so that TestMain can
// start the examples' server.
func startServer(extra map[string]string) (_ *server, err error) {
	dir, err := os.MkdirTemp("", "latchkey-client-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir) // best effort: a temporary directory
		}
	}()
	vars := map[string]string{"LATCHKEY_DATA_DIR": dir, "LATCHKEY_PASSWORD_COST": "4"}
	for k, v := range extra {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := app.Run(context.Background(), args, app.Env{Getenv: getenv, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if err != nil {
			return "", fmt.Errorf("latchkey %s: %w\n%s", strings.Join(args, " "), err, errb.String())
		}
		return strings.TrimSpace(out.String()), nil
	}
	if _, err := run("admin", "create-user", "--email", "owner@acme.test", "--password", "correct horse battery", "--org", "Acme"); err != nil {
		return nil, err
	}
	key, err := run("admin", "create-key", "--email", "owner@acme.test", "--name", "owner")
	if err != nil {
		return nil, err
	}

	log := &lineLog{addr: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s"},
			app.Env{Getenv: getenv, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: log})
	}()
	select {
	case addr := <-log.addr:
		stop := func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(20 * time.Second):
				return errors.New("latchkey serve did not shut down within 20 s of its context ending")
			}
		}
		return &server{URL: "http://" + addr, Key: key, stop: stop, log: log, clean: func() { _ = os.RemoveAll(dir) }}, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("latchkey serve: %v\n%s", err, log) //nolint:errorlint // err may be nil: serve returned before it was ready
	case <-time.After(60 * time.Second):
		cancel()
		return nil, errors.Join(errors.New("latchkey serve: no listening line within 60 s"), <-done)
	}
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// lineLog collects the server's log and reports the listening address.
type lineLog struct {
	mu   sync.Mutex
	buf  strings.Builder
	addr chan string
	sent bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := listening.FindSubmatch(p); m != nil && !l.sent {
		l.sent = true
		l.addr <- string(m[1])
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
