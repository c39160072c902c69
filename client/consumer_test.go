package client_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsumerModule is what `go get` of the SDK does to a user's module:
// a module of its own (go 1.23) importing the client and its webhook
// package, with a replace to this directory, tidied offline. Its build
// list must be the consumer and the SDK, nothing else, and its go
// directive must stay as the consumer set it.
func TestConsumerModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	sdk, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/consumer\n\ngo 1.23\n\nreplace github.com/latchkey/latchkey/client => "+sdk+"\n")
	write("main.go", `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/client/webhook"
)

func main() {
	c, err := client.New("https://licenses.example.com", os.Getenv("LATCHKEY_API_KEY"))
	if err != nil {
		panic(err)
	}
	_, err = c.Projects.Create(context.Background(), client.ProjectCreate{Name: "x"}, client.WithIdempotencyKey("k"))
	fmt.Println(err, webhook.SignatureHeader)
}
`)
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// Offline: the SDK must need nothing from a module proxy.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	got := strings.Fields(goCmd("list", "-m", "all"))
	want := []string{"example.com/consumer", "github.com/latchkey/latchkey/client", "v0.0.0-00010101000000-000000000000", "=>", sdk}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("go list -m all:\n%s\nwant:\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var goLines []string
	for _, l := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "go" || f[0] == "toolchain") {
			goLines = append(goLines, l)
		}
	}
	if len(goLines) != 1 || goLines[0] != "go 1.23" {
		t.Errorf("after go mod tidy the consumer's go.mod has %q, want only \"go 1.23\":\n%s", goLines, mod)
	}
	goCmd("vet", "./...")
	goCmd("build", "-o", os.DevNull, ".")
}
