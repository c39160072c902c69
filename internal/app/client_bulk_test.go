package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestBulkCommands runs `latchkey licenses bulk` and `latchkey keys bulk`
// against a real node: the example (suspend by metadata, dry run
// first), extend, set_metadata, and a bulk key revocation.
func TestBulkCommands(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{Name: "cli"})
			c := &cliNode{t: t, n: n, key: key}
			p, err := n.Service().CreateProject(ctx, owner.Actor(), service.ProjectInput{Name: service.Some("Shop")})
			if err != nil {
				t.Fatal(err)
			}
			for i, plan := range []string{"trial", "trial", "gold"} {
				l, err := n.Service().CreateLicense(ctx, owner.Actor(), p.ID, service.LicenseInput{Title: service.Some(fmt.Sprint("L", i))})
				if err != nil {
					t.Fatal(err)
				}
				m := map[string]string{"plan": plan}
				if _, err := n.Store.UpdateLicense(ctx, l.ID, core.LicenseUpdate{Metadata: &m}); err != nil {
					t.Fatal(err)
				}
			}
			pid := fmt.Sprint(p.ID)
			var res struct {
				DryRun bool  `json:"dry_run"`
				Count  int64 `json:"count"`
				Sample []struct {
					Status string `json:"status"`
				} `json:"sample"`
			}
			c.json(&res, "licenses", "bulk", "suspend", "--project", pid, "--metadata", "plan=trial", "--dry-run")
			if !res.DryRun || res.Count != 2 || len(res.Sample) != 2 || res.Sample[0].Status != "active" {
				t.Fatalf("dry run %+v", res)
			}
			out, _, err := c.run("licenses", "bulk", "suspend", "--project", pid, "--metadata", "plan=trial", "--yes")
			if err != nil || !strings.HasPrefix(out, "2 licenses changed") || !strings.Contains(out, "suspended") {
				t.Fatalf("table output %q (%v)", out, err)
			}
			if n, _ := n.Store.CountMatchingLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Status: core.LicenseSuspended}); n != 2 {
				t.Fatalf("%d suspended", n)
			}
			c.json(&res, "licenses", "bulk", "extend", "--project", pid, "--duration", "30d", "--from", "now", "--status", "suspended", "--yes")
			if res.Count != 2 {
				t.Fatalf("extend %+v", res)
			}
			c.json(&res, "licenses", "bulk", "set_metadata", "--project", pid, "--metadata", "plan=gold", "--set", "plan=", "--set", "tier=1", "--yes")
			if res.Count != 1 {
				t.Fatalf("set_metadata %+v", res)
			}
			if n, _ := n.Store.CountMatchingLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Metadata: map[string]string{"tier": "1"}}); n != 1 {
				t.Fatalf("%d with tier=1", n)
			}
			c.fails("filter.ids", "licenses", "bulk", "revoke", "--project", pid, "--ids", "0", "--yes")
			c.fails("duration", "licenses", "bulk", "extend", "--project", pid, "--yes")

			n.CreateKey(t, owner, service.KeyInput{Name: "ci one"})
			n.CreateKey(t, owner, service.KeyInput{Name: "ci two", Env: core.EnvTest})
			c.json(&res, "keys", "bulk", "revoke", "--name-prefix", "ci", "--dry-run")
			if res.Count != 2 {
				t.Fatalf("keys dry run %+v", res)
			}
			c.json(&res, "keys", "bulk", "revoke", "--name-prefix", "ci", "--env", "test", "--yes")
			if res.Count != 1 {
				t.Fatalf("keys revoke %+v", res)
			}
			c.fails("only be revoked", "keys", "bulk", "rotate")
		})
	}
}
