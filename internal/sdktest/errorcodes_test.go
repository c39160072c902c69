package sdktest_test

import (
	"go/ast"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/core"
)

// TestErrorCodesMatchCatalogue holds the SDK's Code constants to the
// server's error catalogue (core.Codes, docs/errors.md): one constant per
// code, named Error and the code in camel case, and none the catalogue
// lacks. Adding a code to the server without the SDK fails here.
func TestErrorCodesMatchCatalogue(t *testing.T) {
	consts := typedConstants(t, "../../client", "Code")
	byValue := map[string]string{}
	for name, v := range consts {
		if other, dup := byValue[v]; dup {
			t.Errorf("%s and %s are both %q", name, other, v)
		}
		byValue[v] = name
	}
	for _, c := range core.Codes() {
		name, ok := byValue[c.Code]
		if !ok {
			t.Errorf("the catalogue's %s (HTTP %d) has no client constant; add Error%s Code = %q to client/codes.go", c.Code, c.Status, camel(c.Code), c.Code)
			continue
		}
		if name != "Error"+camel(c.Code) {
			t.Errorf("%s is named %s, want Error%s", c.Code, name, camel(c.Code))
		}
		delete(byValue, c.Code)
	}
	for v, name := range byValue {
		t.Errorf("client constant %s = %q is not in the server's catalogue", name, v)
	}
	// The typed constant compares with an *Error's Code as it is.
	if e := (&client.Error{Code: client.ErrorNotFound}); e.Code != "NOT_FOUND" {
		t.Fatal(e.Code)
	}
}

// camel turns ERROR_CODE into ErrorCode, keeping Go's initialisms.
func camel(code string) string {
	var b strings.Builder
	for _, w := range strings.Split(code, "_") {
		switch w {
		case "API", "IP", "ID", "CSRF":
			b.WriteString(w)
		default:
			b.WriteString(w[:1] + strings.ToLower(w[1:]))
		}
	}
	return b.String()
}

// typedConstants returns the string constants of type typ declared in the
// non-test Go files of dir, by name.
func typedConstants(t *testing.T, dir, typ string) map[string]string {
	t.Helper()
	out := stringConstants(t, dir, func(_ string, declared ast.Expr) bool {
		id, ok := declared.(*ast.Ident)
		return ok && id.Name == typ
	})
	if len(out) == 0 {
		t.Fatalf("no constants of type %s in %s", typ, dir)
	}
	return out
}
