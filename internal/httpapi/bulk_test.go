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
		ID          int64             `json:"id"`
		Status      string            `json:"status"`
		ExpiresAt   *string           `json:"expires_at"`
		LicenseKey  string            `json:"uuid"`
		Title       string            `json:"title"`
		Environment string            `json:"env"`
		Name        string            `json:"name"`
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
