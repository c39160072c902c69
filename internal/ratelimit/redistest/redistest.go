// Package redistest gives tests a Redis: the shared one named by
// LATCHKEY_TEST_REDIS_URL (with a key prefix of their own, so that
// parallel tests never collide), or a redis-server of their own on a free
// port, which they may stop and start again.
package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// URLEnv names the variable that enables the tests that need Redis. .ci/run
// sets it; outside CI those tests skip without it, in CI (CI set) they fail.
const URLEnv = "LATCHKEY_TEST_REDIS_URL"

// URL returns the shared test Redis, or skips the test (fails it in CI).
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(URLEnv)
	if u == "" {
		missing(tb, URLEnv+" is not set")
	}
	return u
}

// Prefix returns a key prefix no other test uses.
func Prefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "test:" + hex.EncodeToString(b) + ":"
}

func missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s (CI is set: tests needing Redis must run)", why)
	}
	tb.Skip(why)
}

// Binary is Debian's redis-server.
const Binary = "/usr/bin/redis-server"

// Server is a redis-server of the test's own, without persistence, on a
// port that stays the same across Stop and Start.
type Server struct {
	tb   testing.TB
	Port int
	cmd  *exec.Cmd
}

// Start runs a redis-server on a free port (skipping the test when the
// binary is missing, failing it in CI) and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := os.Stat(Binary); err != nil {
		missing(tb, Binary+" is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // freed for redis-server
	s := &Server{tb: tb, Port: port}
	tb.Cleanup(s.Stop)
	s.Start()
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start (re)starts the server and waits until it answers PING.
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(Binary, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.tb.TempDir())
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	// Bounded polling for the server to listen: the one wait it needs.
	deadline := time.Now().Add(10 * time.Second)
	for !Ping(s.Addr()) {
		if time.Now().After(deadline) {
			s.tb.Fatalf("redis-server on port %d did not answer within 10s", s.Port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // it may have exited already
	_ = s.cmd.Wait()         // killed: the error says so
	s.cmd = nil
}

// Ping reports whether a Redis at addr answers PING.
func Ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }() // a probe connection: nothing to report
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
