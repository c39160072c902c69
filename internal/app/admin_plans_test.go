package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// operatorCLI runs the admin commands on a running node's database, as
// an operator does on a live instance: another process on the same
// SQLite file or PostgreSQL database.
type operatorCLI struct {
	t    *testing.T
	vars map[string]string
}

// nodeWithCLI starts a node on backend b and returns the admin commands
// pointed at its database.
func nodeWithCLI(t *testing.T, b storetest.Backend) (*apptest.Node, *operatorCLI) {
	t.Helper()
	var target string
	open := b.Open
	b.Open = func(tb testing.TB, now func() time.Time) (*store.Store, string) {
		st, tgt := open(tb, now)
		target = tgt
		return st, tgt
	}
	n := apptest.New(t, b)
	vars := map[string]string{"LATCHKEY_SECRET_KEY": apptest.TestSecret, "LATCHKEY_PASSWORD_COST": "4"}
	if b.Name == "postgres" {
		vars["LATCHKEY_DATA_DIR"] = t.TempDir()
		vars["LATCHKEY_DATABASE_URL"] = target
	} else {
		vars["LATCHKEY_DATA_DIR"] = filepath.Dir(target)
	}
	return n, &operatorCLI{t: t, vars: vars}
}

func (o *operatorCLI) run(args ...string) (string, error) {
	o.t.Helper()
	var out, errb bytes.Buffer
	err := app.Run(context.Background(), args, app.Env{Getenv: func(k string) string { return o.vars[k] },
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return out.String(), err
}

func (o *operatorCLI) ok(args ...string) string {
	o.t.Helper()
	out, err := o.run(args...)
	if err != nil {
		o.t.Fatalf("latchkey %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// json runs a command with -o json and decodes what it printed.
func (o *operatorCLI) json(v any, args ...string) {
	o.t.Helper()
	out := o.ok(append(args, "-o", "json")...)
	// Decoding into a map merges: start from nothing.
	if pp, ok := v.(*planOut); ok {
		*pp = planOut{}
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		o.t.Fatalf("latchkey %s printed %q: %v", strings.Join(args, " "), out, err)
	}
}

type planOut struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	Organizations int64          `json:"organizations"`
	Rules         map[string]any `json:"rules"`
}

func rulesJSON(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdminPlanChangeHoldsOnEveryNode changes an organization's plan with
// the admin commands while nodes serve it: the very next request on any
// node (on PostgreSQL, a second node too) follows the new plan, and
// lowering a cap below usage deletes nothing.
func TestAdminPlanChangeHoldsOnEveryNode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n, op := nodeWithCLI(t, b)
			nodes := []*apptest.Node{n}
			if b.Name == "postgres" {
				nodes = append(nodes, n.Peer(t))
			}
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			create := func(node *apptest.Node, name string) *apptest.Response {
				t.Helper()
				return node.Do(t, http.MethodPost, "/api/v1/project", map[string]any{"name": name}, apptest.Key(key)...)
			}
			projects := func() int {
				t.Helper()
				r := n.Do(t, http.MethodGet, "/api/v1/projects", nil, apptest.Key(key)...)
				var page struct {
					Data []json.RawMessage `json:"data"`
				}
				r.Decode(t, &page)
				return len(page.Data)
			}
			last := func() *apptest.Node { return nodes[len(nodes)-1] }
			wantRefused := func(r *apptest.Response, limit string) {
				t.Helper()
				if r.Status != http.StatusForbidden || r.Env.Code != core.ReasonPlanLimit || r.Env.Message != "Your plan (free) allows "+limit+" projects." {
					t.Fatalf("got %d %s %q, want 403 PLAN_LIMIT", r.Status, r.Env.Code, r.Env.Message)
				}
			}
			wantCreated := func(r *apptest.Response) {
				t.Helper()
				if r.Status != http.StatusCreated {
					t.Fatalf("got %d %s", r.Status, r.Body)
				}
			}

			// Every node has served the organization before the change,
			// so a cached "no plan" would show.
			for i, node := range nodes {
				wantCreated(create(node, "Before "+string(rune('A'+i))))
			}
			op.ok("admin", "plans", "create", "--name", "free", "--max-projects", "3")
			op.ok("admin", "orgs", "set-plan", "--org", "acme", "--plan", "FREE")
			for projects() < 3 {
				wantCreated(create(n, "Up to the cap"))
			}
			for _, node := range nodes {
				wantRefused(create(node, "Fourth"), "3")
			}
			if projects() != 3 {
				t.Fatalf("%d projects, want 3", projects())
			}

			op.ok("admin", "plans", "update", "--name", "free", "--max-projects", "4")
			wantCreated(create(last(), "Fourth"))

			// Lowered below usage: nothing deleted, creation blocked.
			op.ok("admin", "plans", "update", "--name", "free", "--max-projects", "1")
			if projects() != 4 {
				t.Fatalf("lowering the plan left %d projects, want 4", projects())
			}
			for _, node := range nodes {
				wantRefused(create(node, "Fifth"), "1")
			}

			op.ok("admin", "plans", "update", "--name", "free", "--max-projects", "none")
			wantCreated(create(last(), "Fifth"))
			op.ok("admin", "plans", "update", "--name", "free", "--max-projects", "0")
			wantRefused(create(n, "Sixth"), "0")
			op.ok("admin", "orgs", "set-plan", "--org", "Acme", "--no-plan")
			wantCreated(create(last(), "Sixth"))
			if projects() != 6 {
				t.Fatalf("%d projects, want 6", projects())
			}
		})
	}
}

// TestAdminPlanCommands runs every plan and organization command, each
// flag, and what each refuses, on both backends.
func TestAdminPlanCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n, op := nodeWithCLI(t, b)
			n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			n.CreateUser(t, "Beta", "owner@beta.test", core.RoleOwner)

			var p planOut
			op.json(&p, "admin", "plans", "create", "--name", "free", "--max-projects", "3", "--max-licenses-per-project", "100",
				"--max-domains-per-project", "5", "--max-injectables-per-project", "7", "--max-api-keys", "4", "--max-members", "2",
				"--max-webhook-endpoints", "1", "--global-keys=false", "--api-project-deletion=false", "--keys-without-expiry=false",
				"--max-key-lifetime", "90d", "--live-keys-without-ip-allowlist=false")
			want := `{"api_project_deletion":false,"global_keys":false,"keys_without_expiry":false,"live_keys_without_ip_allowlist":false,` +
				`"max_api_keys":4,"max_domains_per_project":5,"max_injectables_per_project":7,"max_key_lifetime":7776000,` +
				`"max_licenses_per_project":100,"max_members":2,"max_projects":3,"max_webhook_endpoints":1}`
			if p.Name != "free" || rulesJSON(t, p.Rules) != want {
				t.Fatalf("created %+v\nrules %s\nwant  %s", p, rulesJSON(t, p.Rules), want)
			}
			table := op.ok("admin", "plans", "create", "--name", "Pro", "--global-keys")
			for _, line := range []string{"max-projects                    unlimited", "global-keys                     allowed",
				"max-key-lifetime                none"} {
				if !strings.Contains(table, line) {
					t.Errorf("create printed\n%s\nwithout %q", table, line)
				}
			}

			// Update changes what it is given only; none removes.
			op.json(&p, "admin", "plans", "update", "--name", "FREE", "--max-projects", "none", "--max-members", "unlimited",
				"--global-keys", "--keys-without-expiry=none", "--max-key-lifetime", "1y", "--max-api-keys", "0")
			want = `{"api_project_deletion":false,"global_keys":true,"live_keys_without_ip_allowlist":false,` +
				`"max_api_keys":0,"max_domains_per_project":5,"max_injectables_per_project":7,"max_key_lifetime":31536000,` +
				`"max_licenses_per_project":100,"max_webhook_endpoints":1}`
			if got := rulesJSON(t, p.Rules); got != want {
				t.Fatalf("updated rules %s\nwant         %s", got, want)
			}
			op.json(&p, "admin", "plans", "update", "--name", "free", "--rename", "Starter")
			if p.Name != "Starter" || rulesJSON(t, p.Rules) != want {
				t.Fatalf("renamed %+v", p)
			}

			if out := op.ok("admin", "orgs", "set-plan", "--org", "ACME", "--plan", "starter"); out != "Acme is on plan Starter\n" {
				t.Fatalf("set-plan printed %q", out)
			}
			var set map[string]any
			op.json(&set, "admin", "orgs", "set-plan", "--org", "Beta", "--plan", "pro")
			op.json(&set, "admin", "orgs", "set-plan", "--org", "Beta", "--plan", "")
			if set["organization"] != "Beta" || set["plan"] != nil {
				t.Fatalf("set-plan --plan \"\" printed %v", set)
			}

			var plans []planOut
			op.json(&plans, "admin", "plans", "list")
			if len(plans) != 2 || plans[0].Name != "Pro" || plans[0].Organizations != 0 || plans[1].Name != "Starter" || plans[1].Organizations != 1 {
				t.Fatalf("plans list %+v", plans)
			}
			list := op.ok("admin", "plans", "list")
			if !strings.Contains(list, "MAX LIFETIME") || !strings.Contains(list, "1y") || !strings.Contains(list, "forbidden") {
				t.Fatalf("plans list table:\n%s", list)
			}

			var orgs []struct {
				Name  string           `json:"name"`
				Plan  *string          `json:"plan"`
				Usage map[string]int64 `json:"usage"`
			}
			op.json(&orgs, "admin", "orgs", "list")
			if len(orgs) != 2 || orgs[0].Name != "Acme" || orgs[0].Plan == nil || *orgs[0].Plan != "Starter" || orgs[1].Plan != nil ||
				orgs[0].Usage["members"] != 1 || orgs[0].Usage["projects"] != 0 {
				t.Fatalf("orgs list %+v", orgs)
			}
			if out := op.ok("admin", "orgs", "list"); !strings.Contains(out, "Starter") || !strings.Contains(out, "PLAN") {
				t.Fatalf("orgs list table:\n%s", out)
			}

			before := op.ok("admin", "plans", "list", "-o", "json")
			for _, tc := range []struct {
				name string
				args []string
				want string
			}{
				{"duplicate name", []string{"plans", "create", "--name", "starter"}, `A plan named "starter" already exists.`},
				{"no name", []string{"plans", "create", "--max-projects", "1"}, "The name field is required."},
				{"invalid utf-8 name", []string{"plans", "create", "--name", "bad\xff"}, "The name field must be printable text."},
				{"control character", []string{"plans", "create", "--name", "a\x00b"}, "The name field must be printable text."},
				{"long name", []string{"plans", "create", "--name", strings.Repeat("n", 65)}, "not be greater than 64 characters"},
				{"negative cap", []string{"plans", "create", "--name", "x", "--max-projects", "-1"}, `"-1" is not a whole number`},
				{"word cap", []string{"plans", "create", "--name", "x", "--max-members", "many"}, `"many" is not a whole number`},
				{"bad switch", []string{"plans", "create", "--name", "x", "--global-keys=maybe"}, `"maybe" is not true, false or none`},
				{"bad lifetime", []string{"plans", "create", "--name", "x", "--max-key-lifetime", "forever"}, `"forever" is not a duration`},
				{"short lifetime", []string{"plans", "create", "--name", "x", "--max-key-lifetime", "10m"}, "between 3600 seconds (1 hour)"},
				{"bad output", []string{"plans", "list", "-o", "yaml"}, `--output: "yaml" is not table or json`},
				{"update unknown", []string{"plans", "update", "--name", "gold", "--max-projects", "1"}, `no plan named "gold"`},
				{"update nothing", []string{"plans", "update", "--name", "starter"}, "nothing to change"},
				{"update no name", []string{"plans", "update", "--max-projects", "1"}, "--name: give the name of the plan to change"},
				{"rename taken", []string{"plans", "update", "--name", "starter", "--rename", "PRO"}, `A plan named "PRO" already exists.`},
				{"update bad lifetime", []string{"plans", "update", "--name", "starter", "--max-key-lifetime", "200y"}, "is not a duration"},
				{"delete in use", []string{"plans", "delete", "--name", "starter", "--yes"}, "used by 1 organization(s)"},
				{"delete unknown", []string{"plans", "delete", "--name", "gold", "--yes"}, `no plan named "gold"`},
				{"set unknown plan", []string{"orgs", "set-plan", "--org", "Acme", "--plan", "gold"}, `no plan named "gold"`},
				{"set unknown org", []string{"orgs", "set-plan", "--org", "Nope", "--plan", "pro"}, `no organization named "Nope"`},
				{"set both", []string{"orgs", "set-plan", "--org", "Acme", "--plan", "pro", "--no-plan"}, "either --plan or --no-plan"},
				{"set neither", []string{"orgs", "set-plan", "--org", "Acme"}, "--plan: give the plan's name"},
				{"set no org", []string{"orgs", "set-plan", "--plan", "pro"}, "--org: give the organization's name"},
				{"unknown verb", []string{"plans", "remove"}, `unknown command "remove" for "latchkey admin plans"`},
			} {
				t.Run(tc.name, func(t *testing.T) {
					out, err := op.run(append([]string{"admin"}, tc.args...)...)
					if err == nil {
						t.Fatalf("succeeded: %s", out)
					}
					if line := app.ErrorLine(err); !strings.Contains(line, tc.want) || strings.Contains(line, "\n") {
						t.Fatalf("%q, want one line with %q", line, tc.want)
					}
				})
			}
			if after := op.ok("admin", "plans", "list", "-o", "json"); after != before {
				t.Fatalf("a refused command changed the plans:\n%s\n%s", before, after)
			}
			op.json(&orgs, "admin", "orgs", "list")
			if *orgs[0].Plan != "Starter" {
				t.Fatalf("a refused set-plan changed Acme's plan: %+v", orgs)
			}

			op.ok("admin", "orgs", "set-plan", "--org", "Acme", "--no-plan")
			if out := op.ok("admin", "plans", "delete", "--name", "starter", "--yes"); out != "deleted plan starter\n" {
				t.Fatalf("delete printed %q", out)
			}
			op.json(&plans, "admin", "plans", "list")
			if len(plans) != 1 || plans[0].Name != "Pro" {
				t.Fatalf("after delete: %+v", plans)
			}
		})
	}
}
