package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

var sqliteBackend = storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite}

// TestConfirmDestructiveVerbs checks that deletes, revocations and bulk
// actions refuse without --yes when standard input is not a terminal, ask
// on a terminal (and do nothing unless the answer is y), and go ahead
// with --yes.
func TestConfirmDestructiveVerbs(t *testing.T) {
	ctx := context.Background()
	n := apptest.New(t, sqliteBackend)
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
	var licenses []*client.License
	for _, title := range []string{"A", "B"} {
		l, err := sdk.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		licenses = append(licenses, l)
	}
	ci, ciKey := n.CreateKey(t, owner, service.KeyInput{Name: "ci-deploy"})
	vars := map[string]string{"LATCHKEY_URL": n.URL, "LATCHKEY_API_KEY": key}
	pid := id(p.ID)
	exists := func(what string, err error) bool {
		t.Helper()
		if errors.Is(err, client.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return true
	}
	projectExists := func() bool { _, err := sdk.Projects.Get(ctx, p.ID); return exists("project", err) }

	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		terminal bool
		exit     int
		prompt   string // what the terminal was asked; "" for no question
		line     string // in the error line
	}{
		{"script without --yes", []string{"projects", "delete", pid}, "y\n", false, 2, "", "pass --yes"},
		{"bulk without --yes", []string{"licenses", "bulk", "suspend", "--project", pid}, "", false, 2, "", "pass --yes"},
		{"license delete without --yes", []string{"licenses", "delete", id(licenses[0].ID), "--project", pid}, "", false, 2, "", "pass --yes"},
		{"key revoke without --yes", []string{"keys", "revoke", id(ci.ID)}, "", false, 2, "", "pass --yes"},
		{"keys bulk revoke without --yes", []string{"keys", "bulk", "revoke", "--name-prefix", "ci-"}, "", false, 2, "", "pass --yes"},
		{"declined", []string{"projects", "delete", pid}, "n\n", true, 1,
			"Delete project " + pid + " (Plugin) and its 2 licenses, domains and injectables? [y/N] ", "not confirmed"},
		{"no answer", []string{"projects", "delete", pid}, "", true, 1, "Delete project " + pid, "not confirmed"},
		{"bulk declined", []string{"licenses", "bulk", "suspend", "--project", pid}, "no\n", true, 1,
			"Suspend 2 licenses of project " + pid + "? [y/N] ", "not confirmed"},
		{"revoke declined", []string{"keys", "revoke", id(ci.ID)}, "N\n", true, 1, "Revoke API key " + id(ci.ID) + " (ci-deploy, ", "not confirmed"},
		{"keys bulk declined", []string{"keys", "bulk", "revoke", "--name-prefix", "ci-"}, "\n", true, 1, "Revoke 1 API keys?", "not confirmed"},
		{"unknown project", []string{"projects", "delete", "987654"}, "y\n", true, 4, "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, vars, tc.stdin, tc.terminal, tc.args...)
			if r.code != tc.exit || !strings.Contains(r.stderr, tc.line) || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tc.exit, tc.line)
			}
			if tc.prompt != "" && !strings.HasPrefix(r.stderr, tc.prompt) {
				t.Fatalf("asked %q, want %q", r.stderr, tc.prompt)
			}
			if tc.prompt == "" && strings.Contains(r.stderr, "[y/N]") {
				t.Fatalf("asked %q", r.stderr)
			}
		})
	}
	// Nothing was changed by the refusals.
	if !projectExists() {
		t.Fatal("the project was deleted without a yes")
	}
	for _, l := range licenses {
		got, err := sdk.Licenses.Get(ctx, p.ID, l.ID)
		if err != nil || got.Status != client.LicenseActive {
			t.Fatalf("license %d: %+v %v", l.ID, got, err)
		}
	}
	ciSDK, err := client.New(n.URL, ciKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := take1(ciSDK); err != nil {
		t.Fatalf("the ci key was revoked without a yes: %v", err)
	}

	// Yes: at the terminal, and with --yes.
	if r := runMain(t, vars, "y\n", true, "licenses", "bulk", "suspend", "--project", pid, "-o", "json"); r.code != 0 ||
		!strings.Contains(r.stdout, `"count": 2`) {
		t.Fatalf("bulk suspend confirmed: %+v", r)
	}
	if r := runMain(t, vars, "", false, "keys", "revoke", id(ci.ID), "--yes", "-o", "json"); r.code != 0 || r.stderr != "" {
		t.Fatalf("keys revoke --yes: %+v", r)
	}
	if _, err := take1(ciSDK); err == nil {
		t.Fatal("the ci key still works after revoke --yes")
	}
	if r := runMain(t, vars, "yes\n", true, "projects", "delete", pid); r.code != 0 || !strings.Contains(r.stdout, "deleted") {
		t.Fatalf("projects delete confirmed: %+v", r)
	}
	if projectExists() {
		t.Fatal("the project is still there after a yes")
	}
}

func take1(c *client.Client) (*client.Project, error) {
	for p, err := range c.Projects.List(context.Background(), &client.ListOptions{PerPage: 1}) {
		return &p, err
	}
	return nil, nil
}

// TestLoginProfiles logs in to a node with profiles, checks the config
// file's modes, the precedence of flags, environment and profile, and
// logout.
func TestLoginProfiles(t *testing.T) {
	n := apptest.New(t, sqliteBackend)
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(t, owner, service.KeyInput{})
	_, narrow := n.CreateKey(t, owner, service.KeyInput{Scopes: []string{"licenses:read"}})
	cfgHome := t.TempDir()
	path := filepath.Join(cfgHome, "latchkey", "config.json")
	base := map[string]string{"XDG_CONFIG_HOME": cfgHome}
	with := func(extra ...string) map[string]string {
		v := map[string]string{}
		for k, x := range base {
			v[k] = x
		}
		for i := 0; i+1 < len(extra); i += 2 {
			v[extra[i]] = extra[i+1]
		}
		return v
	}
	readConfig := func() map[string]map[string]string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Profiles map[string]map[string]string `json:"profiles"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.Profiles
	}

	// A refused key saves nothing.
	if r := runMain(t, base, "sk_live_notakey\n", false, "login", "--url", n.URL); r.code != 3 || !strings.Contains(r.stderr, "nothing was saved") {
		t.Fatalf("login with a wrong key: %+v", r)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused login wrote the config: %v", err)
	}
	// No key at all is a usage error.
	if r := runMain(t, base, "", false, "login", "--url", n.URL); r.code != 2 || !strings.Contains(r.stderr, "no API key on standard input") {
		t.Fatalf("login without a key: %+v", r)
	}
	// The default profile, the key piped in.
	if r := runMain(t, base, key+"\n", false, "login", "--url", n.URL); r.code != 0 || !strings.Contains(r.stdout, `profile "default"`) ||
		strings.Contains(r.stdout+r.stderr, key) {
		t.Fatalf("login: %+v", r)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	// A named profile, the key typed at the prompt; a key without
	// projects:read still logs in.
	r := runMain(t, base, narrow+"\n", true, "login", "--profile", "narrow", "--url", n.URL+"/")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "API key for "+n.URL+"/: ") || !strings.Contains(r.stderr, "may not list projects") {
		t.Fatalf("login --profile narrow: %+v", r)
	}
	if got := readConfig(); got["default"]["api_key"] != key || got["default"]["url"] != n.URL || got["narrow"]["api_key"] != narrow {
		t.Fatalf("config %v", got)
	}

	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		exit int
		line string
	}{
		{"default profile", with(), []string{"projects", "list"}, 0, ""},
		{"--profile", with(), []string{"projects", "list", "--profile", "narrow"}, 3, "MISSING_SCOPE"},
		{"LATCHKEY_PROFILE", with("LATCHKEY_PROFILE", "narrow"), []string{"projects", "list"}, 3, "MISSING_SCOPE"},
		{"--profile over LATCHKEY_PROFILE", with("LATCHKEY_PROFILE", "narrow"), []string{"projects", "list", "--profile", "default"}, 0, ""},
		{"unknown profile", with(), []string{"projects", "list", "--profile", "prod"}, 3, `no profile "prod"`},
		{"environment over profile", with("LATCHKEY_API_KEY", narrow), []string{"projects", "list"}, 3, "MISSING_SCOPE"},
		{"flag over environment", with("LATCHKEY_API_KEY", narrow), []string{"projects", "list", "--api-key", key}, 0, ""},
		{"profile key only to its URL", with("LATCHKEY_URL", "http://"+freeAddr(t)), []string{"projects", "list"}, 3, "no API key"},
		{"--url over profile", with(), []string{"projects", "list", "--url", "http://" + freeAddr(t), "--api-key", key}, 5, "cannot reach"},
		{"no config directory", map[string]string{"LATCHKEY_URL": n.URL}, []string{"projects", "list"}, 3, "no API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, tc.vars, "", false, tc.args...)
			if r.code != tc.exit || !strings.Contains(r.stderr, tc.line) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.exit, tc.line)
			}
		})
	}

	// logout removes one profile; the file keeps its mode.
	if r := runMain(t, base, "", false, "logout", "--profile", "narrow"); r.code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	if got := readConfig(); len(got) != 1 || got["default"]["api_key"] != key {
		t.Fatalf("after logout: %v", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after logout: %v %v", fi, err)
	}
	if r := runMain(t, with("LATCHKEY_PROFILE", "narrow"), "", false, "logout"); r.code != 1 || !strings.Contains(r.stderr, `no profile "narrow"`) {
		t.Fatalf("logout twice: %+v", r)
	}

	// Without XDG_CONFIG_HOME, the file is under ~/.config.
	home := t.TempDir()
	if r := runMain(t, map[string]string{"HOME": home}, key, false, "login", "--url", n.URL); r.code != 0 {
		t.Fatalf("login with HOME: %+v", r)
	}
	if fi, err := os.Stat(filepath.Join(home, ".config", "latchkey", "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("~/.config/latchkey/config.json: %v %v", fi, err)
	}
}

// TestAPICommand sends raw requests to a node: bodies from fields and from
// standard input, queries, headers, and exit codes by status.
func TestAPICommand(t *testing.T) {
	n := apptest.New(t, sqliteBackend)
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(t, owner, service.KeyInput{})
	vars := map[string]string{"LATCHKEY_URL": n.URL, "LATCHKEY_API_KEY": key}

	r := runMain(t, vars, "", false, "api", "POST", "/api/v1/project", "-f", "name=Pro Plugin", "-F", "has_paid=true", "-F", "description=null")
	var created struct {
		Data client.Project `json:"data"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &created) != nil || created.Data.Name != "Pro Plugin" || !created.Data.HasPaid ||
		!strings.Contains(r.stdout, "\n  \"data\": {") {
		t.Fatalf("api POST: %+v", r)
	}
	pid := id(created.Data.ID)
	r = runMain(t, vars, `{"name": "Renamed"}`, false, "api", "PATCH", "project/"+pid, "--input", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "Renamed"`) {
		t.Fatalf("api PATCH --input -: %+v", r)
	}
	r = runMain(t, vars, "", false, "api", "get", "projects", "-F", "per_page=1", "-i", "-H", "X-Request-ID: cli-test-1")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HTTP/1.1 200 OK\n") || !strings.Contains(r.stdout, "X-Request-Id: cli-test-1") ||
		!strings.Contains(r.stdout, `"name": "Renamed"`) {
		t.Fatalf("api GET -i: %+v", r)
	}

	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		exit int
		out  string // in standard output
		line string // in standard error
	}{
		{"not found", vars, []string{"api", "GET", "/api/v1/project/987654"}, 4, `"code": "NOT_FOUND"`, "(HTTP 404 NOT_FOUND"},
		{"no key", map[string]string{"LATCHKEY_URL": n.URL}, []string{"api", "GET", "/api/v1/projects"}, 3, "Missing required X-API-KEY header.", "HTTP 401"},
		{"refused", vars, []string{"api", "POST", "/api/v1/project", "-f", "name="}, 1, `"errors"`, "HTTP 422"},
		{"no key needed", map[string]string{"LATCHKEY_URL": n.URL}, []string{"api", "GET", "/healthz"}, 0, "", ""},
		{"one argument", vars, []string{"api", "GET"}, 2, "", "give the method and the path"},
		{"bad header", vars, []string{"api", "GET", "projects", "-H", "no colon"}, 2, "", `-H: "no colon" is not 'Name: value'`},
		{"bad field", vars, []string{"api", "POST", "project", "-F", "name"}, 2, "", `--field: "name" is not key=value`},
		{"input and fields", vars, []string{"api", "POST", "project", "-F", "a=1", "--input", "-"}, 2, "", "not both"},
		{"a URL as path", vars, []string{"api", "GET", "https://example.com/api/v1/projects"}, 2, "", "is a URL"},
		{"unreachable", map[string]string{"LATCHKEY_URL": "http://" + freeAddr(t)}, []string{"api", "GET", "/healthz"}, 5, "", "cannot reach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, tc.vars, "", false, tc.args...)
			if r.code != tc.exit || !strings.Contains(r.stdout, tc.out) || !strings.Contains(r.stderr, tc.line) ||
				(tc.exit == 0) != (r.stderr == "") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, %q and %q", r.code, r.stdout, r.stderr, tc.exit, tc.out, tc.line)
			}
		})
	}
	// Under -o json the error is JSON too, with the server's code.
	r = runMain(t, vars, "", false, "api", "DELETE", "/api/v1/project/987654", "-o", "json")
	var je cliJSONError
	if r.code != 4 || json.Unmarshal([]byte(r.stderr), &je) != nil || je.Code != "NOT_FOUND" || je.Status != 404 || je.RequestID == "" {
		t.Fatalf("api -o json: %+v", r)
	}
}
