package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelp runs --help on every command of the tree, and
// holds the client commands to a short description and an example.
func TestEveryCommandHasHelp(t *testing.T) {
	env := Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader("")}
	var walk func(cmd *cobra.Command, path []string)
	count := 0
	walk = func(cmd *cobra.Command, path []string) {
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			var out bytes.Buffer
			env.Stdout, env.Stderr = &out, &out
			if err := Run(context.Background(), append(p, "--help"), env); err != nil {
				t.Errorf("latchkey %s --help: %v", strings.Join(p, " "), err)
			}
			if !strings.Contains(out.String(), "Usage:") || (isClientCmd(p[0]) && len(out.String()) < 300) {
				t.Errorf("latchkey %s --help printed too little:\n%s", strings.Join(p, " "), out.String())
			}
			if strings.Contains(out.String(), "[=true|false]") {
				t.Errorf("latchkey %s --help shows [=true|false]", strings.Join(p, " "))
			}
			if sub.Short == "" {
				t.Errorf("latchkey %s has no short description", strings.Join(p, " "))
			}
			if isClientCmd(p[0]) && sub.Runnable() && !sub.HasSubCommands() && sub.Example == "" {
				t.Errorf("latchkey %s has no example", strings.Join(p, " "))
			}
			count++
			walk(sub, p)
		}
	}
	walk(newRoot(env), nil)
	if count < 45 {
		t.Fatalf("only %d commands", count)
	}
}

func isClientCmd(name string) bool {
	for _, c := range newClientCmds(Env{Getenv: func(string) string { return "" }}) {
		if c.Name() == name {
			return true
		}
	}
	return false
}

func TestClientCommandsFailOnOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"projects", "list"}, nil, "no API key"},
		{[]string{"projects", "list", "--output", "yaml"}, map[string]string{"LATCHKEY_API_KEY": "k"}, `--output: "yaml" is not table or json`},
		{[]string{"projects", "list"}, map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": "localhost:8080"}, "is not an http(s) URL"},
		{[]string{"projects", "show", "seven"}, map[string]string{"LATCHKEY_API_KEY": "k"}, `project ID: "seven" is not a number`},
		{[]string{"projects", "show"}, nil, "give the project ID"},
		{[]string{"projects", "frob"}, nil, `unknown command "frob" for "latchkey projects"`},
		{[]string{"licenses", "show", "1"}, map[string]string{"LATCHKEY_API_KEY": "k"}, "--project: give the project ID"},
		{[]string{"licenses", "list", "--metadata", "plan"}, map[string]string{"LATCHKEY_API_KEY": "k"}, `--metadata: "plan" is not key=value`},
		{[]string{"licenses", "create", "--project", "1", "--title", "T", "--expires", "2027-01-01", "--expires-in", "1y"}, nil, "none of the others can be"},
		{[]string{"licenses", "renew", "1", "--project", "1"}, map[string]string{"LATCHKEY_API_KEY": "k"}, `"duration" not set`},
		{[]string{"licenses", "create", "--project", "1", "--title", "T", "--expires", "soon"}, map[string]string{"LATCHKEY_API_KEY": "k"}, "--expires"},
		{[]string{"licenses", "update", "1", "--project", "1", "--expires", "2027-01-01", "--no-expiry"}, nil, "none of the others can be"},
		{[]string{"keys", "rotate", "1", "--grace", "48h"}, map[string]string{"LATCHKEY_API_KEY": "k"}, "--grace: 48h0m0s is not between 0 and 24h"},
		{[]string{"validate"}, nil, "--license"},
		{[]string{"projects", "list"}, map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": "http://127.0.0.1:1"}, "cannot reach http://127.0.0.1:1/api/v1/projects"},
	} {
		vars := tc.env
		var out, errb bytes.Buffer
		err := Run(context.Background(), tc.args, Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if err == nil {
			t.Errorf("latchkey %s succeeded", strings.Join(tc.args, " "))
			continue
		}
		line := ErrorLine(err)
		if !strings.Contains(line, tc.want) || strings.Contains(line, "\n") || strings.HasPrefix(line, "latchkey:") {
			t.Errorf("latchkey %s: %q, want one line with %q", strings.Join(tc.args, " "), line, tc.want)
		}
	}
}

func TestEachFieldKeepsOrder(t *testing.T) {
	var got []string
	err := eachField([]byte(`{"id":7,"name":"P","meta":{"a":1},"locked_at":null,"tags":["x"]}`), func(k, v string) { got = append(got, k+"="+v) })
	want := `id=7 name=P meta={"a":1} locked_at=- tags=["x"]`
	if err != nil || strings.Join(got, " ") != want {
		t.Fatalf("%q %v", got, err)
	}
}

func TestCLIErrorWording(t *testing.T) {
	err := cliError(errors.New("latchkey: something"))
	if err.Error() != "something" {
		t.Fatal(err)
	}
	err = cliError(&url.Error{Op: "Get", URL: "http://x/api/v1/", Err: errors.New("connection refused")})
	if err.Error() != "cannot reach http://x/api/v1/: connection refused" {
		t.Fatal(err)
	}
	if cliError(nil) != nil {
		t.Fatal("nil")
	}
}

// TestListVerbs checks the list verbs that listCmd builds: each fetches its
// own path with its filters, takes no argument, requires --project where
// the noun does, and stops at --limit (whose default is per verb).
func TestListVerbs(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		// Three items on every page and always a next page: only --limit
		// ends a listing of more than one page.
		_, _ = io.WriteString(w, `{"status":"success","message":"Success","errors":null,"data":{"data":[{"id":1},{"id":2},{"id":3}],"next_cursor":"c"}}`)
	}))
	t.Cleanup(srv.Close)
	vars := map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": srv.URL}
	for _, tc := range []struct {
		args  []string
		path  string // the first request's path and a part of its query; "" when none is sent
		fail  string // the error, when it fails
		rows  int
		limit string
	}{
		{[]string{"projects", "list", "--limit", "2"}, "/api/v1/projects?", "", 2, "0"},
		{[]string{"keys", "list", "--limit", "4"}, "/api/v1/api-keys?", "", 4, "0"},
		{[]string{"audit", "list", "--action", "license.", "--limit", "1"}, "/api/v1/audit?action=license.", "", 1, "100"},
		{[]string{"audit", "list"}, "/api/v1/audit?", "", 100, "100"},
		{[]string{"audit", "list", "--since", "soon"}, "", `--since: "soon" is not a date`, 0, "100"},
		{[]string{"licenses", "list", "--project", "7", "--status", "revoked", "--limit", "3"}, "/api/v1/project/7/licenses?status=revoked", "", 3, "0"},
		{[]string{"domains", "list", "--project", "7", "--limit", "1"}, "/api/v1/project/7/domains?", "", 1, "0"},
		{[]string{"injectables", "list", "--project", "7", "--limit", "5"}, "/api/v1/project/7/injectables?", "", 5, "0"},
		{[]string{"licenses", "list", "--limit", "2"}, "/api/v1/licenses?", "", 2, "0"},
		{[]string{"licenses", "list", "--q", "ada", "--metadata", "plan=gold", "--customer-email", "a@b.co", "--external-id", "s1",
			"--limit", "1"}, "/api/v1/licenses?customer_email=a%40b.co&external_id=s1&metadata%5Bplan%5D=gold&q=ada", "", 1, "0"},
		{[]string{"licenses", "list", "--project", "7", "--metadata", "plan=gold", "--limit", "1"},
			"/api/v1/project/7/licenses?metadata%5Bplan%5D=gold", "", 1, "0"},
		{[]string{"domains", "list"}, "", "--project: give the project ID", 0, "0"},
		{[]string{"injectables", "list"}, "", "--project: give the project ID", 0, "0"},
		{[]string{"projects", "list", "7"}, "", "unknown command", 0, "0"},
	} {
		name := strings.Join(tc.args, " ")
		mu.Lock()
		got = nil
		mu.Unlock()
		var out, errb bytes.Buffer
		err := Run(context.Background(), append(tc.args, "--output", "json"), Env{Getenv: func(k string) string { return vars[k] },
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		switch {
		case tc.fail != "":
			if err == nil || !strings.Contains(ErrorLine(err), tc.fail) {
				t.Errorf("latchkey %s: %v, want an error with %q", name, err, tc.fail)
			}
		case err != nil:
			t.Errorf("latchkey %s: %v", name, err)
		default:
			var items []map[string]any
			if jerr := json.Unmarshal(out.Bytes(), &items); jerr != nil || len(items) != tc.rows {
				t.Errorf("latchkey %s: %d items (%v), want %d", name, len(items), jerr, tc.rows)
			}
		}
		mu.Lock()
		first := ""
		if len(got) > 0 {
			first = got[0]
		}
		mu.Unlock()
		wantPath, wantQuery, _ := strings.Cut(tc.path, "?")
		gotPath, gotQuery, _ := strings.Cut(first, "?")
		if gotPath != wantPath || !strings.Contains(gotQuery, wantQuery) {
			t.Errorf("latchkey %s: requested %q, want %q", name, first, tc.path)
		}
		cmd, _, ferr := newRoot(Env{Getenv: func(string) string { return "" }}).Find(tc.args[:2])
		if ferr != nil {
			t.Fatal(ferr)
		}
		if f := cmd.Flags().Lookup("limit"); f == nil || f.DefValue != tc.limit {
			t.Errorf("latchkey %s: --limit %v, want default %s", name, f, tc.limit)
		}
	}
}
