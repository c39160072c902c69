package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// invFixture is the runtime fixture plus what the invalidation rows act on.
type invFixture struct {
	*runtime
	ctx                   context.Context
	dev                   apptest.Account
	devKey, ownKey, bound string
	ownKeyID, boundProj   int64
	basicID, injID        int64
	seq                   int // makes the titles of licenses a row's reads create unique
}

func newInvFixture(t *testing.T, b storetest.Backend) *invFixture {
	t.Helper()
	f := &invFixture{runtime: newRuntime(t, b), ctx: context.Background()}
	n := f.n
	f.dev = n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
	_, f.devKey = n.CreateKey(t, f.dev, service.KeyInput{})
	k, secret := n.CreateKey(t, f.owner, service.KeyInput{Name: "to revoke"})
	f.ownKeyID, f.ownKey = k.ID, secret
	p, err := n.Service().CreateProject(f.ctx, f.owner.Actor(), service.ProjectInput{Name: service.Some("Bound")})
	if err != nil {
		t.Fatal(err)
	}
	f.boundProj = p.ID
	_, f.bound = n.CreateKey(t, f.owner, service.KeyInput{ProjectID: p.ID})
	ls, err := n.Service().ListLicenses(f.ctx, f.owner.Actor(), f.paid, core.LicenseFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Title == "basic" {
			f.basicID = l.ID
		}
	}
	inj, err := n.Service().CreateInjectable(f.ctx, f.owner.Actor(), f.paid, service.InjectableInput{Title: service.Some("Banner"),
		Type: service.Some("snippet"), Mode: service.Some("append"), TargetPath: service.Some("a.txt"), Secret: service.Some("s3cret-value"),
		Content: service.Some("old content"), OnlyIfPaid: service.Some(false), IsActive: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
	f.injID = inj.ID
	return f
}

// field returns a top-level field of a response's data, as JSON text.
func field(r *apptest.Response, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Env.Data, &m) != nil {
		return ""
	}
	return string(m[name])
}

func (f *invFixture) path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestEveryChangeReachesEveryCachedRead is the test of the invalidation
// table (core/invalidation.go): for every kind of change, a write followed
// by the next read returns the new state, for every cached read path, on
// the writing node and, on PostgreSQL, on a second node once it has
// received the write's notification.
func TestEveryChangeReachesEveryCachedRead(t *testing.T) {
	type row struct {
		name   string
		kind   core.ChangeKind
		read   func(t *testing.T, f *invFixture, n *apptest.Node) string
		write  func(t *testing.T, f *invFixture)
		before string
		after  string
	}
	status := func(r *apptest.Response) string { return strconv.Itoa(r.Status) }
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hasPaid := func(f *invFixture, n *apptest.Node, license, domain, query string) string {
		r := n.Do(t, "POST", "/api/v1/project/has-paid"+query, "[]", "X-LICENSE-KEY", f.keys[license], "X-Devpayr-Domain", domain)
		return status(r) + " " + field(r, "has_paid")
	}
	rows := []row{
		{"key revoked: authentication", core.ChangeAPIKey,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return status(n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(f.ownKey)...))
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().RevokeAPIKey(f.ctx, f.owner.Actor(), f.ownKeyID)
				must(t, err)
			}, "200", "403"},
		{"owner disabled: authentication", core.ChangeUser,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return status(n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(f.devKey)...))
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().SetUserDisabled(f.ctx, f.owner.Actor(), f.dev.UserID, true))
			}, "200", "403"},
		{"owner removed: authentication", core.ChangeMembership,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return status(n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(f.devKey)...))
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().RemoveMember(f.ctx, f.owner.Actor(), f.dev.UserID))
			}, "200", "403"},
		{"owner's role lowered: rights", core.ChangeMembership,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				r := n.Do(t, "PATCH", f.path("/api/v1/project/%d", f.paid), map[string]any{"description": "x"}, apptest.Key(f.devKey)...)
				return status(r)
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().ChangeMemberRole(f.ctx, f.owner.Actor(), f.dev.UserID, core.RoleViewer))
			}, "200", "403"},
		{"bound project deleted: authentication", core.ChangeProject,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return status(n.Do(t, "GET", f.path("/api/v1/project/%d", f.boundProj), nil, apptest.Key(f.bound)...))
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().DeleteProject(f.ctx, f.owner.Actor(), f.boundProj))
			}, "200", "403"},
		{"project renamed: show", core.ChangeProject,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return field(n.Do(t, "GET", f.path("/api/v1/project/%d", f.paid), nil, apptest.Key(f.key)...), "name")
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().UpdateProject(f.ctx, f.owner.Actor(), f.paid, service.ProjectInput{Name: service.Some("Renamed")})
				must(t, err)
			}, `"Paid"`, `"Renamed"`},
		{"project deleted: access to its licenses", core.ChangeProject,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return status(n.Do(t, "GET", f.path("/api/v1/project/%d/licenses/%d", f.paid, f.basicID), nil, apptest.Key(f.key)...))
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().DeleteProject(f.ctx, f.owner.Actor(), f.paid))
			}, "200", "404"},
		{"project unpaid: validation", core.ChangeProject,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return hasPaid(f, n, "basic", "elsewhere.example.org", "")
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().UpdateProject(f.ctx, f.owner.Actor(), f.paid, service.ProjectInput{HasPaid: service.Some(false)})
				must(t, err)
			}, "200 true", "200 false"},
		{"license retitled: show", core.ChangeLicense,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return field(n.Do(t, "GET", f.path("/api/v1/project/%d/licenses/%d", f.paid, f.basicID), nil, apptest.Key(f.key)...), "title")
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().UpdateLicense(f.ctx, f.owner.Actor(), f.paid, f.basicID, service.LicenseInput{Title: service.Some("retitled")})
				must(t, err)
			}, `"basic"`, `"retitled"`},
		{"license suspended: validation", core.ChangeLicense,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return hasPaid(f, n, "basic", "shop.example.com", "")
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().SuspendLicense(f.ctx, f.owner.Actor(), f.paid, f.basicID)
				must(t, err)
			}, "200 true", "403 "},
		{"domain changed: show", core.ChangeDomain,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				return field(n.Do(t, "GET", f.path("/api/v1/project/%d/domains/%d", f.paid, f.domains["shop.example.com"]), nil, apptest.Key(f.key)...), "environment")
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().UpdateDomain(f.ctx, f.owner.Actor(), f.paid, f.domains["shop.example.com"], service.DomainInput{Environment: service.Some("staging")})
				must(t, err)
			}, `"production"`, `"staging"`},
		{"domain deleted: validation", core.ChangeDomain,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				// A registered domain's payment status decides; once it is
				// gone, the project's does.
				return hasPaid(f, n, "basic", "unpaid.example.com", "")
			},
			func(t *testing.T, f *invFixture) {
				must(t, f.n.Service().DeleteDomain(f.ctx, f.owner.Actor(), f.paid, f.domains["unpaid.example.com"]))
			}, "200 false", "200 true"},
		{"injectable changed: stream", core.ChangeInjectable,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				r := n.Do(t, "GET", "/api/v1/injectable/stream", nil, "X-LICENSE-KEY", f.keys["basic"], "X-Devpayr-Domain", "shop.example.com")
				var d struct {
					Injectables []struct {
						Hash string `json:"content_hash"`
					} `json:"injectables"`
				}
				r.Decode(t, &d)
				if len(d.Injectables) != 1 {
					return fmt.Sprintf("%d injectables", len(d.Injectables))
				}
				if d.Injectables[0].Hash == f.keys["injectable hash"] {
					return "old"
				}
				return "new"
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().UpdateInjectable(f.ctx, f.owner.Actor(), f.paid, f.injID, service.InjectableInput{Content: service.Some("new content"), Secret: service.Some("s3cret-value")})
				must(t, err)
			}, "old", "new"},
		{"license created: list", core.ChangeCatalog,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				r := n.Do(t, "GET", f.path("/api/v1/project/%d/licenses?per_page=100", f.paid), nil, apptest.Key(f.key)...)
				var list []json.RawMessage
				if json.Unmarshal([]byte(field(r, "data")), &list) != nil {
					return "no list: " + string(r.Body)
				}
				return strconv.Itoa(len(list))
			},
			func(t *testing.T, f *invFixture) {
				_, err := f.n.Service().CreateLicense(f.ctx, f.owner.Actor(), f.paid, service.LicenseInput{Title: service.Some("new one")})
				must(t, err)
			}, "", "+1"},
		{"endpoint enabled: an event's fan-out", core.ChangeWebhooks,
			func(t *testing.T, f *invFixture, n *apptest.Node) string {
				// A write on node n, then: was its event given a delivery to
				// the endpoint?
				if f.keys["endpoint"] == "" {
					ep, _, err := f.n.Service().CreateWebhookEndpoint(f.ctx, f.owner.Actor(), service.EndpointInput{
						URL: service.Some("https://hooks.example.com/x"), Events: service.Some([]string{"license.created"}), Enabled: service.Some(false)})
					must(t, err)
					f.keys["endpoint"] = strconv.FormatInt(ep.ID, 10)
				}
				epID, _ := strconv.ParseInt(f.keys["endpoint"], 10, 64)
				count := func() int {
					ds, err := n.Store.ListWebhookDeliveries(f.ctx, core.DeliveryFilter{EndpointID: epID, Limit: 1000})
					must(t, err)
					return len(ds)
				}
				was := count()
				f.seq++
				_, err := n.Service().CreateLicense(f.ctx, f.owner.Actor(), f.paid, service.LicenseInput{Title: service.Some(fmt.Sprintf("fan-out %d", f.seq))})
				must(t, err)
				if count() > was {
					return "delivered"
				}
				return "not delivered"
			},
			func(t *testing.T, f *invFixture) {
				epID, _ := strconv.ParseInt(f.keys["endpoint"], 10, 64)
				_, err := f.n.Service().UpdateWebhookEndpoint(f.ctx, f.owner.Actor(), epID, service.EndpointInput{Enabled: service.Some(true)})
				must(t, err)
			}, "not delivered", "delivered"},
	}
	covered := map[core.ChangeKind]bool{}
	for _, r := range rows {
		covered[r.kind] = true
	}
	for _, k := range []core.ChangeKind{core.ChangeAPIKey, core.ChangeUser, core.ChangeMembership, core.ChangeProject,
		core.ChangeLicense, core.ChangeDomain, core.ChangeInjectable, core.ChangeCatalog, core.ChangeWebhooks} {
		if !covered[k] {
			t.Errorf("no row for change kind %q", k)
		}
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		for _, tc := range rows {
			t.Run(tc.name, func(t *testing.T) {
				f := newInvFixture(t, b)
				list, err := f.n.Service().ListInjectables(f.ctx, f.owner.Actor(), f.paid, 0, 10)
				must(t, err)
				f.keys["injectable hash"] = list[0].ContentHash
				readers := []*apptest.Node{f.n}
				if b.Name == "postgres" {
					readers = append(readers, f.n.Peer(t))
				}
				before := map[*apptest.Node]string{}
				for _, n := range readers {
					for range 2 { // the second read is answered from the caches
						before[n] = tc.read(t, f, n)
						if tc.before != "" && before[n] != tc.before {
							t.Fatalf("before the write: %q, want %q", before[n], tc.before)
						}
					}
				}
				tc.write(t, f)
				for i, n := range readers {
					if i > 0 {
						n.Sync(t, f.n)
					}
					got, want := tc.read(t, f, n), tc.after
					if want == "+1" {
						c, _ := strconv.Atoi(before[n])
						want = strconv.Itoa(c + 1)
					}
					if got != want {
						t.Fatalf("node %d after the write: %q, want %q", i, got, want)
					}
				}
			})
		}
	})
}
