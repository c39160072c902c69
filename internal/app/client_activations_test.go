package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestActivationCommandsAgainstANode: list and delete a license's
// activations, and validate --explain, in JSON and table output.
func TestActivationCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Shop", "--has-paid")
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "One site", "--max-domains", "1")
			app := must(client.New(n.URL, "", client.WithUserAgent("plugin/1.0")))(t)
			if v := must(app.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.org"}))(t); !v.Valid {
				t.Fatalf("validation %+v", v)
			}

			var acts []client.Activation
			c.json(&acts, "licenses", "activations", "list", "--project", id(p.ID), "--license", id(l.ID))
			if len(acts) != 1 || acts[0].Identifier != "shop.example.org" {
				t.Fatalf("activations %+v", acts)
			}
			out, _, err := c.run("licenses", "activations", "list", "--project", id(p.ID), "--license", id(l.ID))
			if err != nil || !strings.Contains(out, "USER AGENT") || !strings.Contains(out, "plugin/1.0") {
				t.Fatalf("table: %v\n%s", err, out)
			}
			c.fails("--license", "licenses", "activations", "list", "--project", id(p.ID))
			c.fails("--license", "licenses", "activations", "delete", "1", "--project", id(p.ID), "--yes")

			// explain: exit status 1 for a refusal, every check printed.
			out, _, err = c.run("validate", "--license", l.UUID, "--domain", "other.example.net", "--explain")
			if err == nil || !strings.Contains(out, "RULE") || !strings.Contains(out, "max_domains") || !strings.Contains(out, "TOO_MANY_DOMAINS") {
				t.Fatalf("explain: %v\n%s", err, out)
			}
			var x client.Validation
			out, _, _ = c.run("validate", "--license", l.UUID, "--domain", "shop.example.org", "--explain", "-o", "json")
			if err := jsonUnmarshal(out, &x); err != nil || !x.Valid || len(x.Checks) != 14 {
				t.Fatalf("explain json: %v %s", err, out)
			}

			var gone client.Activation
			c.json(&gone, "licenses", "activations", "delete", id(acts[0].ID), "--project", id(p.ID), "--license", id(l.ID), "--yes")
			if gone.ID != acts[0].ID {
				t.Fatalf("deleted %+v", gone)
			}
			c.fails("not found", "licenses", "activations", "delete", id(acts[0].ID), "--project", id(p.ID), "--license", id(l.ID), "--yes")
			if v := must(app.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "other.example.net"}))(t); !v.Valid {
				t.Fatalf("after the deletion %+v", v)
			}
		})
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
