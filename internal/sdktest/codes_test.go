package sdktest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/licensing"
)

// TestResultCodesMatchServer holds the client's result-code constants to
// the server's: each pair is equal, and neither side has a code the other
// lacks (a code added on one side only fails here).
func TestResultCodesMatchServer(t *testing.T) {
	pairs := []struct{ client, server string }{
		{client.CodeValid, licensing.CodeValid},
		{client.CodeUnpaid, licensing.CodeUnpaid},
		{client.CodeKeyMissing, licensing.CodeKeyMissing},
		{client.CodeNotFound, licensing.CodeNotFound},
		{client.CodeProjectMismatch, licensing.CodeProjectMismatch},
		{client.CodeRateLimited, licensing.CodeRateLimited},
		{client.CodeProjectInactive, licensing.CodeProjectInactive},
		{client.CodeRevoked, licensing.CodeRevoked},
		{client.CodeSuspended, licensing.CodeSuspended},
		{client.CodeExpired, licensing.CodeExpired},
		{client.CodeDomainRequired, licensing.CodeDomainRequired},
		{client.CodeDomainNotAllowed, licensing.CodeDomainNotAllowed},
		{client.CodeTooManyDomains, licensing.CodeTooManyDomains},
		{client.CodeTooManySubdomains, licensing.CodeTooManySubdomains},
		{client.CodeTooManyActivations, licensing.CodeTooManyActivations},
		{client.CodeEnvironmentMismatch, licensing.CodeEnvironment},
		{client.CodeIPNotAllowed, licensing.CodeIPNotAllowed},
		{client.CodeCountryNotAllowed, licensing.CodeCountryNotAllowed},
		{client.CodeUsageExceeded, licensing.CodeUsageExceeded},
		{client.CodeSeatsExhausted, licensing.CodeSeatsExhausted},
	}
	paired := map[string]bool{}
	for _, p := range pairs {
		if p.client != p.server {
			t.Errorf("client code %q, server code %q", p.client, p.server)
		}
		paired[p.server] = true
	}
	// Every code the server answers has a message; every one must be
	// paired above.
	for code := range licensing.Messages {
		if !paired[code] {
			t.Errorf("server code %q has no client constant", code)
		}
	}
	if len(licensing.Messages) != len(pairs) {
		t.Errorf("the server has %d codes, the table %d", len(licensing.Messages), len(pairs))
	}
	// And every Code* constant of the client is in the table.
	var clientCodes []string
	for _, v := range codeConstants(t, "../../client") {
		clientCodes = append(clientCodes, v)
	}
	sort.Strings(clientCodes)
	for _, v := range clientCodes {
		if !paired[v] {
			t.Errorf("client code %q is not the server's", v)
		}
	}
	if len(clientCodes) != len(pairs) {
		t.Errorf("the client has %d Code constants, the table %d: %v", len(clientCodes), len(pairs), clientCodes)
	}
}

// codeConstants returns the string constants named Code* declared in the
// non-test Go files of dir, by name.
func codeConstants(t *testing.T, dir string) map[string]string {
	t.Helper()
	return stringConstants(t, dir, func(name string, _ ast.Expr) bool { return strings.HasPrefix(name, "Code") })
}

// stringConstants returns the constants with a string literal value
// declared in the non-test Go files of dir that keep accepts (by name and
// declared type, nil when untyped), by name.
func stringConstants(t *testing.T, dir string, keep func(name string, typ ast.Expr) bool) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) || !keep(n.Name, vs.Type) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}
