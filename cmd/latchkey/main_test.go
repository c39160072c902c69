package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the latchkey command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "latchkey-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "latchkey")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// nodeLog is a server's standard error, safe to read while it still runs.
type nodeLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *nodeLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

// String returns what the server has logged so far.
func (l *nodeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts the binary and returns its address once it listens.
func serve(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *nodeLog) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	log := &nodeLog{}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.add(sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case addr := <-addrc:
		return cmd, addr, log
	case <-time.After(60 * time.Second):
		t.Fatalf("no listening line within 60 s:\n%s", log.String())
	}
	return nil, "", nil
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status is checked
	return resp.StatusCode
}

func TestServeBinary(t *testing.T) {
	type backend struct {
		name string
		env  []string
	}
	backends := []backend{{name: "sqlite"}}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		backends = append(backends, backend{name: "postgres", env: []string{"LATCHKEY_DATABASE_URL=" + storetest.NewPostgresSchema(t, base)}})
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fresh")
			cmd, addr, log := serve(t, append(b.env, "LATCHKEY_DATA_DIR="+dir))
			for _, path := range []string{"/healthz", "/readyz"} {
				if code := get(t, "http://"+addr+path); code != http.StatusOK {
					t.Fatalf("%s = %d", path, code)
				}
			}
			if fi, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("secret.key: %v (mode %v)", err, fi)
			}
			// SIGTERM: a clean exit, well within the shutdown timeout.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, log.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no exit within 20 s of SIGTERM")
			}
		})
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help", "serve"}, {"admin", "create-key", "--help"}, {"help", "migrate"}} {
		out, err := exec.CommandContext(context.Background(), binary(t), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("latchkey %v: %v\n%s", args, err, out)
		}
		if len(out) < 200 {
			t.Fatalf("latchkey %v printed too little:\n%s", args, out)
		}
	}
	out, _ := exec.Command(binary(t), "help", "serve").CombinedOutput()
	for _, flag := range []string{"--addr", "--data-dir", "--database-url", "--trusted-proxies", "--geoip-db", "--log-format", "--shutdown-timeout"} {
		if !strings.Contains(string(out), flag) {
			t.Fatalf("help serve does not mention %s", flag)
		}
	}
	out, err := exec.Command(binary(t), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "latchkey ") {
		t.Fatalf("version: %v %q", err, out)
	}
}
