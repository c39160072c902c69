package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyStandardLibrary holds the SDK to its promise: it imports
// nothing of the server (internal/) and nothing outside the standard
// library, so using it adds no dependency to anyone's module.
func TestImportsOnlyStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".", "./webhook").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/latchkey/latchkey/client" || p == "github.com/latchkey/latchkey/client/webhook" {
			continue
		}
		if strings.Contains(p, "/internal") {
			t.Errorf("client imports the server's %s", p)
		} else {
			t.Errorf("client imports %s, which is not in the standard library", p)
		}
	}
}
