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

// TestSeatCommandsAgainstANode runs heartbeat and licenses seats against
// a real node: claim, refusal (exit 1), list as JSON and table, delete,
// release, and the flags the commands need.
func TestSeatCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Studio", "--has-paid")
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "Two seats")
			two := int64(2)
			mp := &two
			if _, err := n.Store.UpdateLicense(ctx, l.ID, core.LicenseUpdate{MaxConcurrent: &mp}); err != nil {
				t.Fatal(err)
			}

			var hb client.Heartbeat
			for _, inst := range []string{"pc-a", "pc-b"} {
				c.json(&hb, "heartbeat", "--license", l.UUID, "--instance", inst, "--domain", "studio-pc")
				if hb.Code != client.CodeValid || hb.Seat == nil || hb.Seat.Instance != inst {
					t.Fatalf("heartbeat %s: %+v", inst, hb)
				}
			}
			out, _, err := c.run("heartbeat", "--license", l.UUID, "--instance", "pc-c", "--domain", "studio-pc")
			if err == nil || !strings.Contains(err.Error(), "SEATS_EXHAUSTED") || !strings.Contains(out, "SEATS_EXHAUSTED") {
				t.Fatalf("third instance: %v\n%s", err, out)
			}

			var seats []client.LicenseSeat
			c.json(&seats, "licenses", "seats", "list", "--project", id(p.ID), "--license", id(l.ID))
			if len(seats) != 2 || seats[0].Instance != "pc-a" {
				t.Fatalf("seats %+v", seats)
			}
			out, _, err = c.run("licenses", "seats", "list", "--project", id(p.ID), "--license", id(l.ID))
			if err != nil || !strings.Contains(out, "INSTANCE") || !strings.Contains(out, "pc-b") {
				t.Fatalf("table: %v\n%s", err, out)
			}
			var del client.LicenseSeat
			c.json(&del, "licenses", "seats", "delete", id(seats[0].ID), "--project", id(p.ID), "--license", id(l.ID), "--yes")
			if del.Instance != "pc-a" {
				t.Fatalf("deleted %+v", del)
			}
			c.json(&hb, "heartbeat", "--license", l.UUID, "--instance", "pc-b", "--release")
			if hb.Seat == nil || !hb.Seat.Released || hb.Seat.Held != 0 {
				t.Fatalf("release %+v", hb.Seat)
			}

			c.fails("--license", "licenses", "seats", "list", "--project", id(p.ID))
			c.fails("--project", "licenses", "seats", "list", "--license", id(l.ID))
			c.fails("not found", "licenses", "seats", "delete", id(seats[0].ID), "--project", id(p.ID), "--license", id(l.ID), "--yes")
			c.fails("--instance", "heartbeat", "--license", l.UUID)
			c.fails("--license", "heartbeat", "--instance", "x")
		})
	}
}
