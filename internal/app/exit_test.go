package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// mainRun is one run of app.Main: what the binary's main does, in-process.
type mainRun struct {
	code           int
	stdout, stderr string
}

// runMain runs app.Main with vars as the environment and stdin as standard
// input; terminal says whether standard input is a terminal.
func runMain(t *testing.T, vars map[string]string, stdin string, terminal bool, args ...string) mainRun {
	t.Helper()
	var out, errb bytes.Buffer
	code := app.Main(context.Background(), args, app.Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb, Terminal: terminal})
	return mainRun{code: code, stdout: out.String(), stderr: errb.String()}
}

// cliJSONError is an error as -o json prints it.
type cliJSONError struct {
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	Status    int                 `json:"status"`
	RequestID string              `json:"request_id"`
	Fields    map[string][]string `json:"fields"`
	ExitCode  int                 `json:"exit_code"`
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // closed at once: the address is free again
	return addr
}

// TestExitCodes runs one failure of each kind against a real node, in text
// and in JSON, and checks the exit code, the one line on standard error
// and the JSON error's fields. The last cases take a table from the node's
// database, so that the node itself answers 500.
func TestExitCodes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			sdk, err := client.New(n.URL, key)
			if err != nil {
				t.Fatal(err)
			}
			p, err := sdk.Projects.Create(ctx, client.ProjectCreate{Name: "Plugin"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := sdk.Projects.Create(ctx, client.ProjectCreate{Name: "Theme"})
			if err != nil {
				t.Fatal(err)
			}
			l, err := sdk.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sdk.Licenses.Suspend(ctx, p.ID, l.ID); err != nil {
				t.Fatal(err)
			}
			_, scoped := n.CreateKey(t, owner, service.KeyInput{ProjectID: p.ID})
			pid, oid := id(p.ID), id(other.ID)

			for _, tc := range []struct {
				name   string
				key    string // the API key; "-" for none
				url    string // the server; "" for the node
				args   []string
				exit   int
				line   string // in the text line
				code   string // the JSON error's code
				status int    // the JSON error's status
				fields bool   // the JSON error has fields
				broken bool   // run while the node's projects table is gone
			}{
				{name: "ok", args: []string{"projects", "show", pid}},
				{name: "refused validation", key: "-", args: []string{"validate", "--license", l.UUID}, exit: 1,
					line: "This license is suspended.", code: "SUSPENDED"},
				{name: "refused request", args: []string{"licenses", "create", "--project", pid, "--title", ""}, exit: 1,
					line: "The title field is required.", code: "VALIDATION_ERROR", status: 422, fields: true},
				{name: "refused state", args: []string{"licenses", "suspend", id(l.ID), "--project", pid}, exit: 1,
					line: "cannot be suspended", code: "INVALID_STATE", status: 403},
				{name: "unknown command", args: []string{"projects", "lst"}, exit: 2, line: `did you mean "list"?`, code: "USAGE"},
				{name: "unknown flag", args: []string{"projects", "list", "--colour"}, exit: 2, line: "unknown flag: --colour", code: "USAGE"},
				{name: "bad flag value", args: []string{"projects", "list", "--limit", "many"}, exit: 2, line: `invalid argument "many"`, code: "USAGE"},
				{name: "bad ID", args: []string{"projects", "show", "seven"}, exit: 2, line: `project ID: "seven" is not a number`, code: "USAGE"},
				{name: "missing argument", args: []string{"projects", "show"}, exit: 2, line: "give the project ID", code: "USAGE"},
				{name: "delete without --yes", args: []string{"projects", "delete", pid}, exit: 2, line: "pass --yes", code: "USAGE"},
				{name: "no credentials", key: "-", args: []string{"projects", "list"}, exit: 3, line: "no API key", code: "NO_CREDENTIALS"},
				{name: "wrong key", key: "sk_live_notakey", args: []string{"projects", "list"}, exit: 3, line: "Invalid or expired API key.",
					code: "INVALID_API_KEY", status: 403},
				{name: "other project", key: scoped, args: []string{"projects", "show", oid}, exit: 3,
					line: "API key does not match project owner.", code: "PROJECT_MISMATCH", status: 403},
				{name: "not found", args: []string{"projects", "show", "987654"}, exit: 4, line: "not found", code: "NOT_FOUND", status: 404},
				{name: "unreachable", url: "http://" + freeAddr(t), args: []string{"projects", "list"}, exit: 5, line: "cannot reach",
					code: "UNREACHABLE"},
				// The node itself fails: its database lost the table a write
				// needs, so it answers 500 INTERNAL (writes are never served
				// from a cache).
				{name: "server error", broken: true, args: []string{"projects", "create", "--name", "Lost"}, exit: 5,
					line: "(HTTP 500 INTERNAL", code: "INTERNAL", status: 500},
				{name: "server error, raw", broken: true, args: []string{"api", "POST", "/api/v1/project", "-f", "name=Lost"}, exit: 5,
					line: "(HTTP 500", code: "INTERNAL", status: 500},
			} {
				t.Run(tc.name, func(t *testing.T) {
					vars := map[string]string{"LATCHKEY_URL": n.URL, "LATCHKEY_API_KEY": key}
					switch tc.key {
					case "-":
						delete(vars, "LATCHKEY_API_KEY")
					case "":
					default:
						vars["LATCHKEY_API_KEY"] = tc.key
					}
					if tc.url != "" {
						vars["LATCHKEY_URL"] = tc.url
					}
					if tc.broken {
						renameTable(t, n, "projects", "projects_lost")
						defer renameTable(t, n, "projects_lost", "projects")
					}
					checkExit(t, vars, tc.args, tc.exit, tc.line, tc.code, tc.status, tc.fields)
				})
			}

		})
	}
}

// renameTable renames a table of n's database behind the node's back.
func renameTable(t *testing.T, n *apptest.Node, from, to string) {
	t.Helper()
	if _, err := n.Store.DB().ExecContext(context.Background(), "ALTER TABLE "+from+" RENAME TO "+to); err != nil {
		t.Fatalf("rename %s: %v", from, err)
	}
}

// checkExit runs args in text and in JSON and checks both failures.
func checkExit(t *testing.T, vars map[string]string, args []string, exit int, line, code string, status int, fields bool) {
	t.Helper()
	r := runMain(t, vars, "", false, args...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	switch {
	case r.code != exit:
		t.Fatalf("latchkey %s: exit %d, want %d\n%s", strings.Join(args, " "), r.code, exit, r.stderr)
	case exit == 0 && r.stderr != "":
		t.Fatalf("latchkey %s printed %q", strings.Join(args, " "), r.stderr)
	case exit != 0 && (len(lines) != 1 || !strings.HasPrefix(lines[0], "latchkey: ") || !strings.Contains(lines[0], line)):
		t.Fatalf("latchkey %s: stderr %q, want one line with %q", strings.Join(args, " "), r.stderr, line)
	}
	r = runMain(t, vars, "", false, append(args, "-o", "json")...)
	if r.code != exit {
		t.Fatalf("latchkey %s -o json: exit %d, want %d\n%s", strings.Join(args, " "), r.code, exit, r.stderr)
	}
	if exit == 0 {
		return
	}
	var je cliJSONError
	if err := json.Unmarshal([]byte(r.stderr), &je); err != nil || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("latchkey %s -o json: stderr %q is not one JSON object (%v)", strings.Join(args, " "), r.stderr, err)
	}
	if je.ExitCode != exit || je.Message == "" || (code != "" && je.Code != code) || je.Status != status ||
		(status != 0 && je.RequestID == "") || (len(je.Fields) > 0) != fields {
		t.Fatalf("latchkey %s -o json: %+v, want code %s, status %d, fields %v", strings.Join(args, " "), je, code, status, fields)
	}
}
