package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestOrgCommandsAgainstANode: "latchkey org show" and "org policy set"
// against a real node on a plan.
func TestOrgCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			ctx := context.Background()
			op := core.SystemActor(0, "operator")
			f := false
			three, lifetime := int64(3), int64(90*86400)
			if _, err := n.Service().CreatePlan(ctx, op, "free", core.Rules{MaxProjects: &three,
				Switches: core.Switches{GlobalKeys: &f, MaxKeyLifetime: &lifetime}}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := n.Service().SetOrganizationPlan(ctx, op, "Acme", "free"); err != nil {
				t.Fatal(err)
			}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Plugin")

			out, _, err := c.run("org", "show", "--project", id(p.ID))
			for _, want := range []string{"plan", "free", "global_keys", "forbidden", "max_key_lifetime", "90d", "projects", "licenses_per_project (project " + id(p.ID) + ")"} {
				if err != nil || !strings.Contains(out, want) {
					t.Fatalf("org show: %v, %q lacks %q", err, out, want)
				}
			}
			var o client.Organization
			c.json(&o, "org", "policy", "set", "--api-project-deletion", "false", "--max-key-lifetime", "30d",
				"--developer-scopes", "licenses:read,licenses:write", "--default-key-lifetime", "720h")
			if o.Policy.APIProjectDeletion == nil || *o.Policy.APIProjectDeletion || *o.Policy.MaxKeyLifetime != 30*86400 ||
				*o.Policy.DefaultKeyLifetime != 30*86400 || len(o.Policy.DeveloperScopes) != 2 || o.Effective.APIProjectDeletion {
				t.Fatalf("policy set: %+v", o.Policy)
			}
			// Only the flags given change.
			o = client.Organization{}
			c.json(&o, "org", "policy", "set", "--max-key-lifetime", "unset")
			if o.Policy.MaxKeyLifetime != nil || o.Policy.APIProjectDeletion == nil || len(o.Policy.DeveloperScopes) != 2 {
				t.Fatalf("policy changed: %+v", o.Policy)
			}
			c.fails("Your plan (free) does not allow global API keys: the policy cannot allow them.", "org", "policy", "set", "--global-keys", "true")
			c.fails("--global-keys", "org", "policy", "set", "--global-keys", "maybe")
			c.fails("--max-key-lifetime", "org", "policy", "set", "--max-key-lifetime", "forever")
			c.fails("The default key lifetime must not be longer", "org", "policy", "set", "--default-key-lifetime", "365d")
			o = client.Organization{}
			c.json(&o, "org", "policy", "set", "--clear")
			if o.Policy.APIProjectDeletion != nil || o.Policy.DeveloperScopes != nil {
				t.Fatalf("policy cleared: %+v", o.Policy)
			}
			c.json(&p, "projects", "create", "--name", "Two")
			c.json(&p, "projects", "create", "--name", "Three")
			c.fails("Your plan (free) allows 3 projects.", "projects", "create", "--name", "Four")
		})
	}
}
