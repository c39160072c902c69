package app_test

import (
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestDefaultsCommandsAgainstANode sets, shows and removes license
// defaults of a project and of the organization with the CLI, and checks
// that a license created afterwards takes them.
func TestDefaultsCommandsAgainstANode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := apptest.New(t, b)
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{})
			c := &cliNode{t: t, n: n, key: key}
			var p client.Project
			c.json(&p, "projects", "create", "--name", "Studio")

			var d client.LicenseDefaults
			d = client.LicenseDefaults{}
			c.json(&d, "projects", "defaults", "set", id(p.ID), "--max-domains", "3", "--allowed-ips", "10.0.0.1", "--allow-configs")
			if d.MaxDomains == nil || *d.MaxDomains != 3 || d.AllowedIPs == nil || *d.AllowedIPs != "10.0.0.1" ||
				d.AllowConfigs == nil || !*d.AllowConfigs {
				t.Fatalf("project set: %+v", d)
			}
			d = client.LicenseDefaults{}
			c.json(&d, "projects", "defaults", "set", id(p.ID), "--unset", "allowed_ips", "--max-domains", "4")
			if d.AllowedIPs != nil || *d.MaxDomains != 4 || d.AllowConfigs == nil {
				t.Fatalf("project unset: %+v", d)
			}
			d = client.LicenseDefaults{}
			d = client.LicenseDefaults{}
			c.json(&d, "projects", "defaults", "show", id(p.ID))
			if d.MaxDomains == nil || *d.MaxDomains != 4 {
				t.Fatalf("project show: %+v", d)
			}

			d = client.LicenseDefaults{}
			c.json(&d, "org", "defaults", "set", "--expires-in", "30d", "--allowed-countries", "ng,gh")
			if d.ExpiresIn == nil || *d.ExpiresIn != "30d" || d.AllowedCountries == nil || *d.AllowedCountries != "NG, GH" {
				t.Fatalf("org set: %+v", d)
			}
			// set merges: the other default stays.
			d = client.LicenseDefaults{}
			c.json(&d, "org", "defaults", "set", "--max-usage-per-day", "100")
			if d.ExpiresIn == nil || d.MaxUsagePerDay == nil || *d.MaxUsagePerDay != 100 {
				t.Fatalf("org merge: %+v", d)
			}
			var l client.License
			c.json(&l, "licenses", "create", "--project", id(p.ID), "--title", "Defaults")
			if l.MaxDomains == nil || *l.MaxDomains != 4 || !l.AllowConfigs || l.ExpiresAt == nil ||
				l.AllowedCountries == nil || *l.AllowedCountries != "NG, GH" {
				t.Fatalf("license took %+v", l)
			}
			d = client.LicenseDefaults{}
			c.json(&d, "org", "defaults", "set", "--clear")
			if d != (client.LicenseDefaults{}) {
				t.Fatalf("org clear: %+v", d)
			}
			d = client.LicenseDefaults{}
			c.json(&d, "projects", "defaults", "set", id(p.ID), "--clear")
			if d != (client.LicenseDefaults{}) {
				t.Fatalf("project clear: %+v", d)
			}

			c.fails("nothing to change", "projects", "defaults", "set", id(p.ID))
			c.fails("not a license default", "org", "defaults", "set", "--unset", "title")
			c.fails("license defaults.max domains field must be at least 0", "projects", "defaults", "set", id(p.ID), "--max-domains", "-1")
			c.fails("license defaults.expires in field must be a positive duration", "org", "defaults", "set", "--expires-in", "soon")
		})
	}
}
