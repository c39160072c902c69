package app_test

import (
	"slices"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestModeFlagAgainstANode: licenses list and bulk take --mode, and an
// sk_test_ key's CLI sees and changes test licenses only, and may not
// change a project (issue 15).
func TestModeFlagAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, liveKey := n.CreateKey(t, owner, service.KeyInput{Name: "live"})
			_, testKey := n.CreateKey(t, owner, service.KeyInput{Name: "test", Env: core.EnvTest})
			live := &cliNode{t: t, n: n, key: liveKey}
			test := &cliNode{t: t, n: n, key: testKey}
			var p client.Project
			live.json(&p, "projects", "create", "--name", "Plugin")
			var a, bl, c client.License
			live.json(&a, "licenses", "create", "--project", id(p.ID), "--title", "Live")
			live.json(&bl, "licenses", "create", "--project", id(p.ID), "--title", "Flagged", "--test")
			test.json(&c, "licenses", "create", "--project", id(p.ID), "--title", "By the test key")
			if a.IsTestLicense || !bl.IsTestLicense || !c.IsTestLicense {
				t.Fatalf("modes: %v %v %v", a.IsTestLicense, bl.IsTestLicense, c.IsTestLicense)
			}
			titles := func(cl *cliNode, args ...string) []string {
				t.Helper()
				var ls []client.License
				cl.json(&ls, append([]string{"licenses", "list"}, args...)...)
				var out []string
				for _, l := range ls {
					out = append(out, l.Title)
				}
				slices.Sort(out)
				return out
			}
			for _, tc := range []struct {
				cl   *cliNode
				args []string
				want []string
			}{
				{live, nil, []string{"By the test key", "Flagged", "Live"}},
				{live, []string{"--mode", "live"}, []string{"Live"}},
				{live, []string{"--mode", "test", "--project", id(p.ID)}, []string{"By the test key", "Flagged"}},
				{test, nil, []string{"By the test key", "Flagged"}},
				{test, []string{"--mode", "live"}, nil},
			} {
				if got := titles(tc.cl, tc.args...); !slices.Equal(got, tc.want) {
					t.Errorf("%v: %v, want %v", tc.args, got, tc.want)
				}
			}
			live.fails("The selected mode is invalid: use live or test.", "licenses", "list", "--mode", "staging")
			test.fails("License not found.", "licenses", "show", id(a.ID), "--project", id(p.ID))
			test.fails("Test API keys cannot change projects, domains or injectables", "projects", "update", id(p.ID), "--name", "Renamed")

			var res struct {
				Count int64 `json:"count"`
			}
			live.json(&res, "licenses", "bulk", "suspend", "--project", id(p.ID), "--mode", "test", "--dry-run")
			if res.Count != 2 {
				t.Fatalf("live key, --mode test: %d", res.Count)
			}
			test.json(&res, "licenses", "bulk", "suspend", "--project", id(p.ID), "--yes")
			if res.Count != 2 {
				t.Fatalf("test key's bulk: %d", res.Count)
			}
			var after client.License
			live.json(&after, "licenses", "show", id(a.ID), "--project", id(p.ID))
			if after.Status != client.LicenseActive {
				t.Fatalf("a test key's bulk action suspended the live license")
			}
		})
	}
}
