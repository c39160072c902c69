package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestLicenseCommandsAgainstANode runs the customer, metadata, search,
// cross-project and renew flags against a real node.
func TestLicenseCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			var p1, p2 client.Project
			c.json(&p1, "projects", "create", "--name", "Plugin")
			c.json(&p2, "projects", "create", "--name", "Theme")

			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p1.ID), "--title", "Order 1042", "--customer-name", "Ada Lovelace",
				"--customer-email", "ada@example.com", "--external-id", "sub_1042", "--metadata", "plan=gold", "--metadata", "seats=5",
				"--max-concurrent", "2", "--heartbeat-ttl", "120", "--max-new-activations-per-day", "3", "--expires-in", "30d")
			wantExp := n.Clock.Now().Add(30 * 24 * time.Hour)
			if *l.CustomerName != "Ada Lovelace" || *l.ExternalID != "sub_1042" || len(l.Metadata) != 2 || *l.MaxConcurrent != 2 ||
				*l.HeartbeatTTL != 120 || *l.MaxNewActivationsPerDay != 3 || l.ExpiresAt == nil || l.ExpiresAt.Sub(wantExp).Abs() > time.Second {
				t.Fatalf("created %+v", l)
			}
			var other client.License
			c.json(&other, "licenses", "create", "--project", id(p2.ID), "--title", "Theme", "--metadata", "plan=gold")
			c.fails("The external id has already been taken in this project.", "licenses", "create", "--project", id(p1.ID),
				"--title", "Again", "--external-id", "sub_1042")
			c.fails("heartbeat ttl", "licenses", "create", "--project", id(p1.ID), "--title", "Bad", "--heartbeat-ttl", "5")

			lid := l.ID
			l = client.License{} // decoding into a map merges
			c.json(&l, "licenses", "update", id(lid), "--project", id(p1.ID), "--metadata", "plan=silver", "--metadata", "seats=",
				"--customer-name", "", "--default-heartbeat-ttl")
			if len(l.Metadata) != 1 || l.Metadata["plan"] != "silver" || l.CustomerName != nil || l.HeartbeatTTL != nil {
				t.Fatalf("updated %+v", l)
			}

			titles := func(args ...string) []string {
				t.Helper()
				var ls []client.License
				c.json(&ls, append([]string{"licenses", "list"}, args...)...)
				var out []string
				for _, l := range ls {
					out = append(out, l.Title)
				}
				return out
			}
			for _, tc := range []struct {
				args []string
				want []string
			}{
				{nil, []string{"Theme", "Order 1042"}},
				{[]string{"--q", strings.ToUpper(l.UUID)}, []string{"Order 1042"}},
				{[]string{"--project", id(p2.ID), "--q", l.UUID}, nil},
				{[]string{"--metadata", "plan=gold"}, []string{"Theme"}},
				{[]string{"--project", id(p1.ID), "--metadata", "plan=silver", "--customer-email", "ADA@example.com"}, []string{"Order 1042"}},
				{[]string{"--external-id", "sub_1042"}, []string{"Order 1042"}},
				{[]string{"--q", "ada@"}, []string{"Order 1042"}},
			} {
				if got := titles(tc.args...); !slices.Equal(got, tc.want) {
					t.Errorf("licenses list %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
				}
			}
			out, _, err := c.run("licenses", "list")
			if err != nil || !strings.Contains(out, "EXTERNAL ID") || !strings.Contains(out, "sub_1042") {
				t.Fatalf("table: %v\n%s", err, out)
			}

			var renewed client.License
			c.json(&renewed, "licenses", "renew", id(l.ID), "--project", id(p1.ID), "--duration", "1y")
			if !renewed.ExpiresAt.Equal(l.ExpiresAt.Add(365 * 24 * time.Hour)) {
				t.Fatalf("renewed to %v from %v", renewed.ExpiresAt, l.ExpiresAt)
			}
			c.fails("send from=now", "licenses", "renew", id(other.ID), "--project", id(p2.ID), "--duration", "30d")
			c.json(&renewed, "licenses", "renew", id(other.ID), "--project", id(p2.ID), "--duration", "30d", "--from", "now")
			if renewed.ExpiresAt == nil {
				t.Fatalf("renewed from now: %+v", renewed)
			}
		})
	}
}
