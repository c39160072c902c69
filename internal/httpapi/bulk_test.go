package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

type bulkAnswer struct {
	Action string `json:"action"`
	DryRun bool   `json:"dry_run"`
	Count  int64  `json:"count"`
	Sample []struct {
		ID          int64   `json:"id"`
		Status      string  `json:"status"`
		ExpiresAt   *string `json:"expires_at"`
		LicenseKey  string  `json:"uuid"`
		Title       string  `json:"title"`
		Environment string  `json:"env"`
		Name        string  `json:"name"`
	} `json:"sample"`
}

// seedLicenses creates n active licenses in one transaction through the
// store (the API would take minutes for thousands), with real keys sealed
// as the service seals them, and returns their keys by ID.
func seedLicenses(t *testing.T, n *apptest.Node, projectID int64, count int, prefix string, meta map[string]string) map[int64]string {
	t.Helper()
	key, err := secret.FromString(apptest.TestSecret)
	if err != nil {
		t.Fatal(err)
	}
	box := key.Box(service.LicenseBoxPurpose)
	keys := make(map[int64]string, count)
	now := n.Clock.Now()
	err = n.Store.InTx(context.Background(), func(st core.Store) error {
		clear(keys)
		for i := range count {
			k := licensing.NewKey(now)
			l := &core.License{ProjectID: projectID, KeyDigest: licensing.KeyDigest(k), KeyEnc: box.Seal([]byte(k)),
				Title: fmt.Sprintf("%s %05d", prefix, i), Status: core.LicenseActive, ValidateAgainst: core.ValidateLicenseDomains,
				Metadata: meta}
			if err := st.CreateLicense(context.Background(), l); err != nil {
				return err
			}
			keys[l.ID] = k
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// hasPaid validates through DevPayr's route: the result code is in data
// when it answers 200, in the envelope otherwise (a suspended license is
// 403).
func hasPaid(t *testing.T, n *apptest.Node, key string) string {
	t.Helper()
	r := n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", key, "X-Devpayr-Domain", "shop.example.com")
	if r.Status != 200 {
		return r.Env.Code
	}
	var v validation
	r.Decode(t, &v)
	return v.Code
}

func nativeCode(t *testing.T, n *apptest.Node, key string) string {
	t.Helper()
	r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"license": key, "domain": "shop.example.com"})
	var v validation
	r.Decode(t, &v)
	return v.Code
}

// TestBulkSuspendThousands is the acceptance: a bulk suspend of
// 5,000 licenses selected by metadata is one transaction and one audit
// event, its dry run counts what the real run changes, a webhook event is
// written per license, and every suspended license is refused on its next
// validation, also those whose snapshots were cached before. Above 10,000
// the action is refused with the count and nothing changes.
func TestBulkSuspendThousands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		n := apptest.New(t, b)
		owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
		_, secretKey := n.CreateKey(t, owner, service.KeyInput{})
		p, err := n.Service().CreateProject(ctx, owner.Actor(), service.ProjectInput{Name: service.Some("Shop"), HasPaid: service.Some(true),
			IsActive: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		trial := seedLicenses(t, n, p.ID, 5000, "trial", map[string]string{"plan": "trial", "region": "eu"})
		gold := seedLicenses(t, n, p.ID, 5001, "gold", map[string]string{"plan": "gold"})
		t.Logf("seeded 10,001 licenses in %v", time.Since(start))

		// Validated before the bulk: their snapshots are cached.
		var cached []string
		for _, k := range trial {
			if len(cached) == 3 {
				break
			}
			if c := hasPaid(t, n, k); c != licensing.CodeValid {
				t.Fatalf("before the bulk: %s", c)
			}
			if c := nativeCode(t, n, k); c != licensing.CodeValid {
				t.Fatalf("before the bulk (native): %s", c)
			}
			cached = append(cached, k)
		}
		path := fmt.Sprintf("/api/v1/project/%d/licenses/bulk", p.ID)

		// Every license of the project: over the cap, refused whole.
		r := n.Do(t, "POST", path, map[string]any{"filter": map[string]any{}, "action": "suspend"}, apptest.Key(secretKey)...)
		if r.Status != 422 || !strings.Contains(strings.Join(r.Env.Errors["filter"], " "), "10001") {
			t.Fatalf("over the cap: %d %s", r.Status, r.Body)
		}
		if c, _ := n.Store.CountMatchingLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Status: core.LicenseActive}); c != 10001 {
			t.Fatalf("after the refusal %d licenses are active, want 10001", c)
		}
		// The dry run still says how many there are.
		r = n.Do(t, "POST", path, map[string]any{"filter": map[string]any{}, "action": "suspend", "dry_run": true}, apptest.Key(secretKey)...)
		var all bulkAnswer
		r.Decode(t, &all)
		if r.Status != 200 || all.Count != 10001 {
			t.Fatalf("dry run over the cap: %d %s", r.Status, r.Body)
		}

		body := map[string]any{"filter": map[string]any{"metadata": map[string]string{"plan": "trial"}}, "action": "suspend", "dry_run": true}
		r = n.Do(t, "POST", path, body, apptest.Key(secretKey)...)
		var dry bulkAnswer
		r.Decode(t, &dry)
		if r.Status != 200 || dry.Count != 5000 || len(dry.Sample) != 20 || !dry.DryRun || dry.Action != "suspend" {
			t.Fatalf("dry run: %d count %d sample %d", r.Status, dry.Count, len(dry.Sample))
		}
		if dry.Sample[0].Status != "active" || trial[dry.Sample[0].ID] != dry.Sample[0].LicenseKey {
			t.Fatalf("sample: %+v", dry.Sample[0])
		}

		body["dry_run"] = false
		start = time.Now()
		r = n.Do(t, "POST", path, body, apptest.Key(secretKey)...)
		took := time.Since(start)
		var real bulkAnswer
		r.Decode(t, &real)
		if r.Status != 200 || real.Count != dry.Count || real.DryRun || len(real.Sample) != 20 || real.Sample[0].Status != "suspended" {
			t.Fatalf("real run: %d %+v", r.Status, real.Count)
		}
		t.Logf("%s: bulk suspend of 5,000 licenses took %v", b.Name, took)

		audits, err := n.Store.ListAudit(ctx, core.AuditFilter{OrgID: owner.OrgID, Action: "license.bulk_suspend", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var details struct {
			Count  int64 `json:"count"`
			Filter struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"filter"`
		}
		if len(audits) == 1 {
			_ = json.Unmarshal(audits[0].Details, &details)
		}
		if len(audits) != 1 || details.Count != 5000 || details.Filter.Metadata["plan"] != "trial" {
			t.Fatalf("audit: %d events %s", len(audits), auditDetails(audits))
		}
		if perLicense, _ := n.Store.ListAudit(ctx, core.AuditFilter{OrgID: owner.OrgID, Action: "license.suspend", Limit: 10}); len(perLicense) != 0 {
			t.Fatalf("%d per-license audit events", len(perLicense))
		}
		var events int
		if err := n.Store.DB().QueryRowContext(ctx, `SELECT count(*) FROM events WHERE type = 'license.suspended' AND project_id = $1`, p.ID).
			Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 5000 {
			t.Fatalf("%d license.suspended events, want 5000", events)
		}

		for _, k := range cached {
			if c := hasPaid(t, n, k); c != licensing.CodeSuspended {
				t.Fatalf("cached license after the bulk (has-paid): %s", c)
			}
			if c := nativeCode(t, n, k); c != licensing.CodeSuspended {
				t.Fatalf("cached license after the bulk (native): %s", c)
			}
		}
		i := 0
		for _, k := range trial {
			if i++; i > 20 {
				break
			}
			if c := nativeCode(t, n, k); c != licensing.CodeSuspended {
				t.Fatalf("after the bulk: %s", c)
			}
		}
		suspended, err := n.Store.CountMatchingLicenses(ctx, core.LicenseFilter{ProjectID: p.ID, Status: core.LicenseSuspended})
		if err != nil || suspended != 5000 {
			t.Fatalf("%d suspended (%v)", suspended, err)
		}
		for _, k := range gold {
			if c := nativeCode(t, n, k); c != licensing.CodeValid {
				t.Fatalf("a gold license after the bulk: %s", c)
			}
			break
		}
		// Run again: nothing is active among them any more.
		r = n.Do(t, "POST", path, body, apptest.Key(secretKey)...)
		var again bulkAnswer
		r.Decode(t, &again)
		if r.Status != 200 || again.Count != 0 {
			t.Fatalf("second run: %d %s", r.Status, r.Body)
		}
	})
}

func auditDetails(es []core.AuditEvent) string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Details))
	}
	return strings.Join(out, "\n")
}

// bulkFixture is a project with a few licenses in every state, and keys:
// the owner's, one bound to another project, one that may only read.
type bulkFixture struct {
	n                    *apptest.Node
	owner                apptest.Account
	key, bound, readOnly string
	project, other       int64
	ids                  map[string]int64
}

func newBulkFixture(t *testing.T, b storetest.Backend) *bulkFixture {
	t.Helper()
	ctx := context.Background()
	f := &bulkFixture{n: apptest.New(t, b), ids: map[string]int64{}}
	n := f.n
	f.owner = n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, f.key = n.CreateKey(t, f.owner, service.KeyInput{})
	a := f.owner.Actor()
	for _, name := range []string{"Shop", "Other"} {
		p, err := n.Service().CreateProject(ctx, a, service.ProjectInput{Name: service.Some(name), HasPaid: service.Some(true), IsActive: service.Some(true)})
		if err != nil {
			t.Fatal(err)
		}
		if f.project == 0 {
			f.project = p.ID
		} else {
			f.other = p.ID
		}
	}
	_, f.bound = n.CreateKey(t, f.owner, service.KeyInput{Name: "bound", ProjectID: f.other})
	_, f.readOnly = n.CreateKey(t, f.owner, service.KeyInput{Name: "reader", Scopes: []string{"licenses:read"}})
	now := n.Clock.Now()
	soon, past := now.Add(24*time.Hour), now.Add(-time.Hour)
	for _, l := range []struct {
		name, state string
		expires     *time.Time
		meta        map[string]string
	}{
		{"active", "", nil, map[string]string{"plan": "trial"}},
		{"active-expiring", "", &soon, map[string]string{"plan": "trial", "seats": "2"}},
		{"suspended", "suspend", &soon, nil},
		{"revoked", "revoke", nil, map[string]string{"plan": "gold"}},
		{"revoked-expired", "revoke", &past, nil},
	} {
		lic, err := n.Service().CreateLicense(ctx, a, f.project, service.LicenseInput{Title: service.Some(l.name)})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[l.name] = lic.ID
		upd := core.LicenseUpdate{ExpiresAt: &l.expires}
		if l.meta != nil {
			upd.Metadata = &l.meta
		}
		if _, err := n.Store.UpdateLicense(ctx, lic.ID, upd); err != nil {
			t.Fatal(err)
		}
		switch l.state {
		case "suspend":
			_, err = n.Service().SuspendLicense(ctx, a, f.project, lic.ID)
		case "revoke":
			_, err = n.Service().RevokeLicense(ctx, a, f.project, lic.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A license of the other project, never selected from this one.
	if _, err := n.Service().CreateLicense(ctx, a, f.other, service.LicenseInput{Title: service.Some("elsewhere")}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *bulkFixture) bulk(t *testing.T, project int64, key string, body any) (*apptest.Response, bulkAnswer) {
	t.Helper()
	r := f.n.Do(t, "POST", fmt.Sprintf("/api/v1/project/%d/licenses/bulk", project), body, apptest.Key(key)...)
	var a bulkAnswer
	if r.Status == 200 {
		r.Decode(t, &a)
	}
	return r, a
}

// snapshot is every license of the fixture's project as stored.
func (f *bulkFixture) snapshot(t *testing.T) map[int64]core.License {
	t.Helper()
	ls, err := f.n.Store.ListLicenses(context.Background(), core.LicenseFilter{ProjectID: f.project, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]core.License{}
	for _, l := range ls {
		out[l.ID] = l
	}
	return out
}

// TestBulkLicenseActions runs each action on the fixture: the dry run's
// count is the real run's, the licenses changed are those the action
// applies to, and each gets its event.
func TestBulkLicenseActions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		day := 24 * time.Hour
		for _, tc := range []struct {
			name    string
			body    map[string]any
			changed []string
			event   string
			check   func(t *testing.T, f *bulkFixture, before, after map[int64]core.License)
		}{
			{"suspend: active ones", map[string]any{"action": "suspend"}, []string{"active", "active-expiring"}, "license.suspended",
				func(t *testing.T, f *bulkFixture, _, after map[int64]core.License) {
					if l := after[f.ids["active"]]; l.Status != core.LicenseSuspended || l.SuspendedAt == nil {
						t.Fatalf("%+v", l)
					}
				}},
			{"suspend a filter's status that is not active: none", map[string]any{"action": "suspend",
				"filter": map[string]any{"status": "revoked"}}, nil, "license.suspended", nil},
			{"revoke by ids", map[string]any{"action": "revoke", "filter": map[string]any{"ids": []string{}}}, nil, "license.revoked", nil},
			{"reactivate: revoked or suspended, not expired", map[string]any{"action": "reactivate"}, []string{"suspended", "revoked"},
				"license.reactivated", func(t *testing.T, f *bulkFixture, _, after map[int64]core.License) {
					if l := after[f.ids["revoked"]]; l.Status != core.LicenseActive || l.RevokedAt != nil {
						t.Fatalf("%+v", l)
					}
				}},
			{"extend from expiry: licenses that expire", map[string]any{"action": "extend", "duration": "30d"},
				[]string{"active-expiring", "suspended", "revoked-expired"}, "license.renewed",
				func(t *testing.T, f *bulkFixture, before, after map[int64]core.License) {
					now := f.n.Clock.Now()
					if got, want := *after[f.ids["active-expiring"]].ExpiresAt, before[f.ids["active-expiring"]].ExpiresAt.Add(30*day); !got.Equal(want) {
						t.Fatalf("extended to %v, want %v", got, want)
					}
					// An expired license gets the duration from now.
					if got := *after[f.ids["revoked-expired"]].ExpiresAt; !got.Equal(now.Add(30 * day)) {
						t.Fatalf("expired license extended to %v", got)
					}
					if after[f.ids["active"]].ExpiresAt != nil {
						t.Fatal("a perpetual license was given an expiry")
					}
				}},
			{"extend from now, seconds, by metadata", map[string]any{"action": "extend", "duration": 3600, "from": "now",
				"filter": map[string]any{"metadata": map[string]any{"plan": "trial"}}}, []string{"active", "active-expiring"}, "license.renewed",
				func(t *testing.T, f *bulkFixture, _, after map[int64]core.License) {
					if got := *after[f.ids["active"]].ExpiresAt; !got.Equal(f.n.Clock.Now().Add(time.Hour)) {
						t.Fatalf("extended to %v", got)
					}
				}},
			{"set_metadata: a merge patch", map[string]any{"action": "set_metadata", "metadata": map[string]any{"plan": "pro", "seats": nil},
				"filter": map[string]any{"q": "active"}}, []string{"active", "active-expiring"}, "license.updated",
				func(t *testing.T, f *bulkFixture, _, after map[int64]core.License) {
					if m := after[f.ids["active-expiring"]].Metadata; len(m) != 1 || m["plan"] != "pro" {
						t.Fatalf("metadata %v", m)
					}
				}},
			{"set_metadata null clears", map[string]any{"action": "set_metadata", "metadata": nil, "filter": map[string]any{"search": "active-exp"}},
				[]string{"active-expiring"}, "license.updated",
				func(t *testing.T, f *bulkFixture, _, after map[int64]core.License) {
					if m := after[f.ids["active-expiring"]].Metadata; len(m) != 0 {
						t.Fatalf("metadata %v", m)
					}
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newBulkFixture(t, b)
				if _, ok := tc.body["filter"]; !ok {
					tc.body["filter"] = map[string]any{}
				}
				before := f.snapshot(t)
				tc.body["dry_run"] = true
				r, dry := f.bulk(t, f.project, f.key, tc.body)
				if r.Status != 200 || dry.Count != int64(len(tc.changed)) || len(dry.Sample) != len(tc.changed) {
					t.Fatalf("dry run: %d %s", r.Status, r.Body)
				}
				if after := f.snapshot(t); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatal("the dry run changed licenses")
				}
				tc.body["dry_run"] = false
				r, real := f.bulk(t, f.project, f.key, tc.body)
				if r.Status != 200 || real.Count != dry.Count {
					t.Fatalf("real run: %d %s", r.Status, r.Body)
				}
				after := f.snapshot(t)
				want := map[int64]bool{}
				for _, name := range tc.changed {
					want[f.ids[name]] = true
				}
				for id, l := range after {
					if changed := !l.UpdatedAt.Equal(before[id].UpdatedAt) || fmt.Sprint(l) != fmt.Sprint(before[id]); changed != want[id] {
						t.Fatalf("license %s changed: %v, want %v", l.Title, changed, want[id])
					}
				}
				if tc.check != nil {
					tc.check(t, f, before, after)
				}
				evs, err := f.n.Store.ListEvents(context.Background(), core.EventFilter{OrgID: f.owner.OrgID, Type: tc.event, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				got := 0
				for _, e := range evs {
					if want[e.ResourceID] {
						got++
					}
				}
				if got != len(tc.changed) {
					t.Fatalf("%d %s events for the changed licenses, want %d", got, tc.event, len(tc.changed))
				}
				action, _ := tc.body["action"].(string)
				audits, err := f.n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: f.owner.OrgID, Action: "license.bulk_" + action, Limit: 10})
				if err != nil || len(audits) != 1 {
					t.Fatalf("%d audit events (%v)", len(audits), err)
				}
			})
		}
	})
}

// TestBulkLicenseRefusals covers bad requests (422 naming the field, and
// nothing changed) and access (a bound key cannot act on another project;
// a read-only key cannot act at all).
func TestBulkLicenseRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newBulkFixture(t, b)
		manyIDs := make([]int64, 10001)
		for i := range manyIDs {
			manyIDs[i] = int64(i + 1)
		}
		for _, tc := range []struct {
			name  string
			body  any
			field string
		}{
			{"no filter", map[string]any{"action": "suspend"}, "filter"},
			{"filter not an object", map[string]any{"action": "suspend", "filter": "all"}, "filter"},
			{"unknown filter key", map[string]any{"action": "suspend", "filter": map[string]any{"plan": "trial"}}, "filter.plan"},
			{"unknown field", map[string]any{"action": "suspend", "filter": map[string]any{}, "dryrun": true}, "dryrun"},
			{"status of the wrong type", map[string]any{"action": "suspend", "filter": map[string]any{"status": []int{1}}}, "filter.status"},
			{"bad status", map[string]any{"action": "suspend", "filter": map[string]any{"status": "gone"}}, "filter.status"},
			{"metadata filter not an object", map[string]any{"action": "suspend", "filter": map[string]any{"metadata": "plan=trial"}}, "filter.metadata"},
			{"metadata filter value a number", map[string]any{"action": "suspend", "filter": map[string]any{"metadata": map[string]any{"plan": 1}}}, "filter.metadata.plan"},
			{"metadata filter value null", map[string]any{"action": "suspend", "filter": map[string]any{"metadata": map[string]any{"plan": nil}}}, "filter.metadata.plan"},
			{"ids not an array", map[string]any{"action": "suspend", "filter": map[string]any{"ids": "1,2"}}, "filter.ids"},
			{"ids of the wrong type", map[string]any{"action": "suspend", "filter": map[string]any{"ids": []any{1.5}}}, "filter.ids"},
			{"ids huge", map[string]any{"action": "suspend", "filter": map[string]any{"ids": []any{1e30}}}, "filter.ids"},
			{"ids negative", map[string]any{"action": "suspend", "filter": map[string]any{"ids": []int{-1}}}, "filter.ids"},
			{"too many ids", map[string]any{"action": "suspend", "filter": map[string]any{"ids": manyIDs}}, "filter.ids"},
			{"NUL byte in q", `{"action": "suspend", "filter": {"q": "a\u0000b"}}`, "filter"},
			{"invalid UTF-8 in a filter value", "{\"action\": \"suspend\", \"filter\": {\"q\": \"\xff\"}}", "filter"},
			{"q too long", map[string]any{"action": "suspend", "filter": map[string]any{"q": strings.Repeat("x", 256)}}, "filter.q"},
			{"no action", map[string]any{"filter": map[string]any{}}, "action"},
			{"unknown action", map[string]any{"action": "delete", "filter": map[string]any{}}, "action"},
			{"action of the wrong type", map[string]any{"action": map[string]any{}, "filter": map[string]any{}}, "action"},
			{"dry_run of the wrong type", map[string]any{"action": "suspend", "dry_run": "maybe", "filter": map[string]any{}}, "dry_run"},
			{"extend without a duration", map[string]any{"action": "extend", "filter": map[string]any{}}, "duration"},
			{"extend by a bad duration", map[string]any{"action": "extend", "duration": "1 month", "filter": map[string]any{}}, "duration"},
			{"extend from nowhere", map[string]any{"action": "extend", "duration": "30d", "from": "start", "filter": map[string]any{}}, "from"},
			{"a duration on suspend", map[string]any{"action": "suspend", "duration": "30d", "filter": map[string]any{}}, "duration"},
			{"set_metadata without metadata", map[string]any{"action": "set_metadata", "filter": map[string]any{}}, "metadata"},
			{"set_metadata with a number", map[string]any{"action": "set_metadata", "metadata": map[string]any{"plan": 2}, "filter": map[string]any{}}, "metadata.plan"},
			{"set_metadata with a bad key", map[string]any{"action": "set_metadata", "metadata": map[string]any{"a[b]": "x"}, "filter": map[string]any{}}, "metadata"},
			{"set_metadata, value too long", map[string]any{"action": "set_metadata", "metadata": map[string]any{"plan": strings.Repeat("x", 501)}, "filter": map[string]any{}}, "metadata.plan"},
			{"metadata on revoke", map[string]any{"action": "revoke", "metadata": map[string]any{"plan": "x"}, "filter": map[string]any{}}, "metadata"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := f.snapshot(t)
				for _, dry := range []bool{true, false} {
					body := tc.body
					if m, ok := body.(map[string]any); ok && dry {
						if _, sent := m["dry_run"]; !sent {
							cp := map[string]any{"dry_run": true}
							for k, v := range m {
								cp[k] = v
							}
							body = cp
						}
					}
					r, _ := f.bulk(t, f.project, f.key, body)
					if r.Status != 422 || len(r.Env.Errors[tc.field]) == 0 {
						t.Fatalf("dry %v: %d %s, want 422 naming %s", dry, r.Status, r.Body, tc.field)
					}
				}
				if after := f.snapshot(t); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatal("a refused request changed licenses")
				}
			})
		}

		before := f.snapshot(t)
		body := map[string]any{"action": "suspend", "filter": map[string]any{}}
		if r, _ := f.bulk(t, f.project, f.bound, body); r.Status != 403 || r.Env.Code != core.ReasonProjectMismatch {
			t.Fatalf("a key bound to another project: %d %s", r.Status, r.Body)
		}
		if r, _ := f.bulk(t, f.project, f.readOnly, body); r.Status != 403 {
			t.Fatalf("a read-only key: %d %s", r.Status, r.Body)
		}
		if r, _ := f.bulk(t, 999999, f.key, body); r.Status != 404 {
			t.Fatalf("a missing project: %d %s", r.Status, r.Body)
		}
		if after := f.snapshot(t); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatal("a refused request changed licenses")
		}
		// Access is checked before the body: a bound key learns nothing
		// about the other project's rules.
		if r, _ := f.bulk(t, f.project, f.bound, map[string]any{"action": "nope"}); r.Status != 403 {
			t.Fatalf("bound key, bad body: %d %s", r.Status, r.Body)
		}
		// The bound key acts on its own project.
		if r, a := f.bulk(t, f.other, f.bound, body); r.Status != 200 || a.Count != 1 {
			t.Fatalf("a bound key on its project: %d %s", r.Status, r.Body)
		}
	})
}

// TestBulkAPIKeys revokes keys by filter: the dry run counts what the real
// run revokes, revoked keys stop working at once, the calling key is never
// among them, a developer reaches only their own keys, and a selection
// holding a key with more rights than the caller's is refused whole.
func TestBulkAPIKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		n := apptest.New(t, b)
		owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
		dev := n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		_, ownerKey := n.CreateKey(t, owner, service.KeyInput{Name: "ci main"})
		_, ci1 := n.CreateKey(t, owner, service.KeyInput{Name: "CI deploy"})
		ci2k, ci2 := n.CreateKey(t, owner, service.KeyInput{Name: "ci test", Env: core.EnvTest})
		_, laptop := n.CreateKey(t, owner, service.KeyInput{Name: "laptop"})
		_, devKey := n.CreateKey(t, dev, service.KeyInput{Name: "ci dev"})
		_, devOther := n.CreateKey(t, dev, service.KeyInput{Name: "ci dev 2"})
		_, narrow := n.CreateKey(t, owner, service.KeyInput{Name: "narrow", Scopes: []string{"api_keys:read", "api_keys:write"}})
		p, err := n.Service().CreateProject(context.Background(), owner.Actor(), service.ProjectInput{Name: service.Some("Shop")})
		if err != nil {
			t.Fatal(err)
		}
		_, bound := n.CreateKey(t, owner, service.KeyInput{Name: "ci bound", ProjectID: p.ID})
		works := func(secret string) bool {
			return n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(secret)...).Status == 200
		}
		do := func(secret string, body map[string]any) (*apptest.Response, bulkAnswer) {
			t.Helper()
			r := n.Do(t, "POST", "/api/v1/api-keys/bulk", body, apptest.Key(secret)...)
			var a bulkAnswer
			if r.Status == 200 {
				r.Decode(t, &a)
			}
			return r, a
		}

		// Bad requests.
		for field, body := range map[string]map[string]any{
			"filter":                  {"action": "revoke"},
			"filter.owner":            {"action": "revoke", "filter": map[string]any{"owner": 1}},
			"filter.owner_id":         {"action": "revoke", "filter": map[string]any{"owner_id": "one"}},
			"filter.owner_email":      {"action": "revoke", "filter": map[string]any{"owner_id": 1, "owner_email": "a@b.c"}},
			"filter.env":              {"action": "revoke", "filter": map[string]any{"env": "prod"}},
			"filter.last_used_before": {"action": "revoke", "filter": map[string]any{"last_used_before": "yesterday"}},
			"filter.name_prefix":      {"action": "revoke", "filter": map[string]any{"name_prefix": []string{"ci"}}},
			"action":                  {"action": "rotate", "filter": map[string]any{}},
		} {
			if r, _ := do(ownerKey, body); r.Status != 422 || len(r.Env.Errors[field]) == 0 {
				t.Fatalf("%s: %d %s", field, r.Status, r.Body)
			}
		}

		// A developer: only their own keys, never the calling one.
		body := map[string]any{"action": "revoke", "filter": map[string]any{"name_prefix": "ci"}, "dry_run": true}
		if r, a := do(devKey, body); r.Status != 200 || a.Count != 1 || a.Sample[0].Name != "ci dev 2" {
			t.Fatalf("developer dry run: %d %s", r.Status, r.Body)
		}
		if r, a := do(devKey, map[string]any{"action": "revoke", "filter": map[string]any{"owner_email": owner.Email}, "dry_run": true}); r.Status != 200 || a.Count != 0 {
			t.Fatalf("developer naming the owner: %d %s", r.Status, r.Body)
		}
		// A key without the owner's rights cannot revoke the owner's keys.
		if r, _ := do(narrow, map[string]any{"action": "revoke", "filter": map[string]any{"name_prefix": "ci"}}); r.Status != 403 ||
			!strings.Contains(r.Env.Message, "beyond your own rights") {
			t.Fatalf("narrow key: %d %s", r.Status, r.Body)
		}
		if !works(ci1) {
			t.Fatal("a refused bulk revoked a key")
		}
		// A bound key: its project only.
		if r, _ := do(bound, map[string]any{"action": "revoke", "filter": map[string]any{"project_id": p.ID + 1}}); r.Status != 403 {
			t.Fatalf("bound key, other project: %d %s", r.Status, r.Body)
		}
		if r, a := do(bound, map[string]any{"action": "revoke", "filter": map[string]any{}, "dry_run": true}); r.Status != 200 || a.Count != 0 {
			t.Fatalf("bound key: %d %s", r.Status, r.Body) // itself is the only key of its project
		}

		// The owner, by prefix and environment.
		body = map[string]any{"action": "revoke", "filter": map[string]any{"name_prefix": "ci", "owner_id": owner.UserID, "env": "test"}, "dry_run": true}
		if r, a := do(ownerKey, body); r.Status != 200 || a.Count != 1 || a.Sample[0].ID != ci2k.ID {
			t.Fatalf("owner dry run: %d %s", r.Status, r.Body)
		}
		delete(body["filter"].(map[string]any), "env")
		r, dry := do(ownerKey, body)
		if r.Status != 200 || dry.Count != 3 { // CI deploy, ci test, ci bound; not the calling "ci main"
			t.Fatalf("owner dry run: %d %s", r.Status, r.Body)
		}
		body["dry_run"] = false
		r, real := do(ownerKey, body)
		if r.Status != 200 || real.Count != dry.Count || real.Sample[0].Status != "revoked" {
			t.Fatalf("owner real run: %d %s", r.Status, r.Body)
		}
		for name, secret := range map[string]string{"CI deploy": ci1, "ci test": ci2, "ci bound": bound} {
			if works(secret) {
				t.Fatalf("%s still works", name)
			}
		}
		for name, secret := range map[string]string{"ci main": ownerKey, "laptop": laptop, "ci dev": devKey, "ci dev 2": devOther} {
			if !works(secret) {
				t.Fatalf("%s was revoked", name)
			}
		}
		audits, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: owner.OrgID, Action: "api_key.bulk_revoke", Limit: 10})
		if err != nil || len(audits) != 1 {
			t.Fatalf("%d audit events (%v)", len(audits), err)
		}
		evs, err := n.Store.ListEvents(context.Background(), core.EventFilter{OrgID: owner.OrgID, Type: "api_key.revoked", Limit: 10})
		if err != nil || len(evs) != 3 {
			t.Fatalf("%d api_key.revoked events (%v)", len(evs), err)
		}

		// Last used before: the keys just used (not yet flushed) are not idle.
		n.Clock.Advance(48 * time.Hour)
		_ = works(laptop)
		body = map[string]any{"action": "revoke", "filter": map[string]any{"last_used_before": n.Clock.Now().Add(-time.Hour).Format(time.RFC3339)}, "dry_run": true}
		r, idle := do(ownerKey, body)
		// narrow, ci dev 2 and ci dev were last used 48 h ago; laptop was just
		// used (counted in memory, flushed by the bulk); ci main is the caller.
		if r.Status != 200 || idle.Count != 3 {
			names := []string{}
			for _, s := range idle.Sample {
				names = append(names, s.Name)
			}
			t.Fatalf("idle keys: %d %v %s", idle.Count, names, r.Body)
		}
	})
}
