package core_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the catalogue")

// sources are the server's non-test Go files, parsed.
func sources(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fset, files
}

// stringConsts maps the name of every string constant declared with a
// literal (ReasonX = "X", CodeX = "X") to its value.
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[name.Name] = v
					}
				}
			}
			return true
		})
	}
	return out
}

func lastName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// TestEveryReasonIsCatalogued scans the server's sources: an error's
// Reason is never a bare literal (so it is a constant the scan can see),
// every Reason… and result-code constant is in the catalogue, an error
// built with a Code and a Reason gets the status the catalogue gives the
// reason, and no catalogue entry is left that nothing sends.
func TestEveryReasonIsCatalogued(t *testing.T) {
	fset, files := sources(t)
	consts := stringConsts(files)
	used := map[string]bool{}
	for _, c := range []string{core.EInvalid, core.EBadRequest, core.EUnauthorized, core.EForbidden, core.ENotFound,
		core.EConflict, core.ETooLarge, core.ERateLimited, core.EUnavailable, core.EInternal} {
		reason := core.DefaultReason(c)
		info, ok := core.LookupCode(reason)
		if !ok {
			t.Errorf("default code %s of %s is not catalogued", reason, c)
		} else if info.Status != core.HTTPStatus(c) {
			t.Errorf("%s: catalogue says %d, the transport table %d", reason, info.Status, core.HTTPStatus(c))
		}
		used[reason] = true
	}
	for name, v := range consts {
		// Reason… constants, and the result codes (Code…) of runtime
		// validation, but for VALID and UNPAID, which are answers.
		isResult := strings.HasPrefix(name, "Code") && isUpperSnake(v) && v != "VALID" && v != "UNPAID"
		if !strings.HasPrefix(name, "Reason") && !isResult {
			continue
		}
		if _, ok := core.LookupCode(v); !ok {
			t.Errorf("constant %s = %q is not in the error catalogue (internal/core/catalog.go)", name, v)
		}
		used[v] = true
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || lastName(cl.Type) != "Error" {
				return true
			}
			var code, reason ast.Expr
			for _, el := range cl.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch lastName(kv.Key) {
				case "Code":
					code = kv.Value
				case "Reason":
					reason = kv.Value
				}
			}
			if reason == nil {
				return true
			}
			if lit, ok := reason.(*ast.BasicLit); ok {
				t.Errorf("%s: Reason %s is a literal: use a constant of the catalogue", fset.Position(lit.Pos()), lit.Value)
				return true
			}
			rv, ok := consts[lastName(reason)]
			if !ok || code == nil {
				return true // a reason carried from elsewhere (res.Code, e.Reason)
			}
			info, ok := core.LookupCode(rv)
			if !ok {
				return true // reported above
			}
			if status := core.HTTPStatus(consts[lastName(code)]); status != info.Status {
				t.Errorf("%s: %s is sent with HTTP %d, the catalogue says %d", fset.Position(cl.Pos()), rv, status, info.Status)
			}
			return true
		})
	}
	for _, c := range core.Codes() {
		if !used[c.Code] {
			t.Errorf("catalogue entry %s: no constant of the server has this value", c.Code)
		}
		if c.Meaning == "" || c.Action == "" || http.StatusText(c.Status) == "" || c.Status < 400 {
			t.Errorf("catalogue entry %s is incomplete: %+v", c.Code, c)
		}
	}
}

func isUpperSnake(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' {
			return false
		}
	}
	return s != ""
}

// TestErrorsDoc keeps docs/errors.md equal to the catalogue; run
// `go test ./internal/core -run TestErrorsDoc -update` after changing it.
func TestErrorsDoc(t *testing.T) {
	want := renderErrorsDoc()
	path := filepath.Join("..", "..", "docs", "errors.md")
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("docs/errors.md is not the catalogue's: run go test ./internal/core -run TestErrorsDoc -update")
	}
}

func renderErrorsDoc() string {
	var b strings.Builder
	b.WriteString(`# Error codes

<!-- Generated from internal/core/catalog.go by
     go test ./internal/core -run TestErrorsDoc -update
     Edit the catalogue, not this file. -->

Every error body of the API carries a machine-readable ` + "`code`" + ` next to DevPayr's ` + "`message`" + `, and a
` + "`doc_url`" + ` linking to the code's entry below (on a running node: ` + "`" + core.DocPath + "`" + `, under
` + "`--public-url`" + ` when it is set). A code always comes with the same HTTP status. The list is also served
as JSON at ` + "`GET /api/v1/errors`" + `, it is the ` + "`ErrorCode`" + ` enum of the OpenAPI document, and the Go SDK has
one constant per code (` + "`client.Code…`" + `).

` + "```json" + `
{"status":"error","message":"This license has been revoked.","data":null,"errors":null,
 "code":"REVOKED","request_id":"…","doc_url":"https://licenses.example.com/docs/errors#revoked"}
` + "```" + `

Codes are stable: a code is never renamed or given another status; new ones may be added, so a client
should treat an unknown code by its HTTP status.

| code | status | kind |
|---|---|---|
`)
	for _, c := range core.Codes() {
		kind := "API"
		if c.Runtime {
			kind = "runtime validation"
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %d | %s |\n", c.Code, core.DocAnchor(c.Code), c.Status, kind)
	}
	for _, c := range core.Codes() {
		fmt.Fprintf(&b, "\n### %s\n\nHTTP %d %s.", c.Code, c.Status, http.StatusText(c.Status))
		if c.Runtime {
			b.WriteString(" A refusal of runtime validation (docs/validation.md).")
		}
		fmt.Fprintf(&b, "\n\n%s\n\n**What to do:** %s\n", c.Meaning, c.Action)
	}
	return b.String()
}
