package web_test

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// insightTraffic is what scriptInsightTraffic sent: a project with a
// licence answered VALID (8 times over two hours, half of it flushed), a
// suspended one (SUSPENDED, 2), a revoked one (REVOKED, 1), plus an
// unknown key, which belongs to no project and is not counted.
type insightTraffic struct {
	projectID int64
	keyID     int64
	secret    string
	valid     int64 // license IDs
}

func scriptInsightTraffic(t testing.TB, n *apptest.Node, acc apptest.Account) insightTraffic {
	t.Helper()
	ctx := context.Background()
	pid := createProject(t, n, acc, "Pro Plugin")
	mk := func(title string) (int64, string) {
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some(title)})
		if err != nil {
			t.Fatal(err)
		}
		return l.ID, l.UUID
	}
	validID, valid := mk("Busy customer")
	susID, suspended := mk("Suspended customer")
	revID, revoked := mk("Revoked customer")
	if _, err := n.Service().SuspendLicense(ctx, acc.Actor(), pid, susID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Service().RevokeLicense(ctx, acc.Actor(), pid, revID); err != nil {
		t.Fatal(err)
	}
	k, secret := n.CreateKey(t, acc, service.KeyInput{Name: "insight"})
	check := func(key string, want int) {
		t.Helper()
		r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"domain": "shop.example.com"}, "X-LICENSE-KEY", key)
		if r.Status != want {
			t.Fatalf("validate: %d %s", r.Status, r.Body)
		}
	}
	for range 4 {
		check(valid, http.StatusOK)
	}
	check(suspended, http.StatusOK)
	if r := n.Do(t, "POST", "/api/v1/project/has-paid", nil, "X-LICENSE-KEY", suspended); r.Status != http.StatusForbidden {
		t.Fatalf("has-paid of a suspended license: %d %s", r.Status, r.Body)
	}
	if err := n.Stack.Validator.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n.Clock.Advance(time.Hour)
	for range 4 {
		check(valid, http.StatusOK)
	}
	check(revoked, http.StatusOK)
	check("01900000-0000-7000-8000-000000000000", http.StatusOK) // unknown: not counted
	n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
	// The usage reports are read with a key of their own, so that k's
	// requests stay one.
	_, reader := n.CreateKey(t, acc, service.KeyInput{Name: "reader"})
	return insightTraffic{projectID: pid, keyID: k.ID, secret: reader, valid: validID}
}

// usageReport is the API's usage report, as the test reads it.
type usageReport struct {
	Range   string `json:"range"`
	Bucket  string `json:"bucket"`
	Buckets []struct {
		Start string           `json:"start"`
		Total int64            `json:"total"`
		Count map[string]int64 `json:"counts"`
	} `json:"buckets"`
	Totals   map[string]int64 `json:"totals"`
	Total    int64            `json:"total"`
	Refusals []struct {
		Code  string `json:"code"`
		Count int64  `json:"count"`
	} `json:"refusals"`
	TopLicenses []struct {
		LicenseID int64 `json:"license_id"`
		Total     int64 `json:"total"`
	} `json:"top_licenses"`
}

func apiUsage(t testing.TB, n *apptest.Node, secret, path string) usageReport {
	t.Helper()
	r := n.Do(t, "GET", path, nil, apptest.Key(secret)...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var rep usageReport
	r.Decode(t, &rep)
	return rep
}

var (
	legendCount  = regexp.MustCompile(`<strong class="outcome-count" data-code="([A-Z_]+)">(\d+)</strong>`)
	outcomeTotal = regexp.MustCompile(`<strong id="outcome-total">(\d+)</strong>`)
	topLicense   = regexp.MustCompile(`<td class="num" data-license="(\d+)">(\d+)</td>`)
	refusalCount = regexp.MustCompile(`<td class="num" data-code="([A-Z_]+)">(\d+)</td>`)
	tableRow     = regexp.MustCompile(`<tr><th scope="row">[^<]+</th>(?:<td>\d+</td>)*<td>(\d+)</td></tr>`)
)

// shown reads the numbers an insight page shows: the total, the legend's
// counts by code, the refusals, the top licenses' totals, and the totals
// of the chart table's rows.
type shown struct {
	total    int64
	codes    map[string]int64
	refusals map[string]int64
	top      map[int64]int64
	rows     []int64
}

func readShown(t testing.TB, body string) shown {
	t.Helper()
	s := shown{codes: map[string]int64{}, refusals: map[string]int64{}, top: map[int64]int64{}}
	m := outcomeTotal.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no outcome total on the page:\n%s", body)
	}
	s.total = atoi(t, m[1])
	for _, m := range legendCount.FindAllStringSubmatch(body, -1) {
		s.codes[m[1]] = atoi(t, m[2])
	}
	for _, m := range refusalCount.FindAllStringSubmatch(body, -1) {
		s.refusals[m[1]] = atoi(t, m[2])
	}
	for _, m := range topLicense.FindAllStringSubmatch(body, -1) {
		s.top[atoi(t, m[1])] = atoi(t, m[2])
	}
	for _, m := range tableRow.FindAllStringSubmatch(body, -1) {
		s.rows = append(s.rows, atoi(t, m[1]))
	}
	return s
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantSameAsAPI fails unless the page shows exactly the API's report.
func wantSameAsAPI(t testing.TB, where string, s shown, rep usageReport) {
	t.Helper()
	if s.total != rep.Total || !maps.Equal(s.codes, rep.Totals) {
		t.Errorf("%s: page shows %d %v, the API %d %v", where, s.total, s.codes, rep.Total, rep.Totals)
	}
	refusals := map[string]int64{}
	for _, r := range rep.Refusals {
		refusals[r.Code] = r.Count
	}
	if !maps.Equal(s.refusals, refusals) {
		t.Errorf("%s: refusals on the page %v, from the API %v", where, s.refusals, refusals)
	}
	top := map[int64]int64{}
	for _, l := range rep.TopLicenses {
		top[l.LicenseID] = l.Total
	}
	if !maps.Equal(s.top, top) {
		t.Errorf("%s: top licenses on the page %v, from the API %v", where, s.top, top)
	}
	var rows []int64
	for _, b := range rep.Buckets {
		if b.Total > 0 {
			rows = append(rows, b.Total)
		}
	}
	if len(rows) != len(s.rows) {
		t.Errorf("%s: chart table rows %v, API buckets %v", where, s.rows, rows)
		return
	}
	for i := range rows {
		if rows[i] != s.rows[i] {
			t.Errorf("%s: chart table rows %v, API buckets %v", where, s.rows, rows)
		}
	}
}

// TestInsightMatchesUsageAPI scripts runtime traffic against a real node
// (half of it flushed, half still in the validator's memory) and checks
// that the organization's overview and the project's show exactly what
// the usage endpoints answer, for every range, that the figures are the
// traffic's (so the comparison cannot pass on two empty pages), and that
// a bad range is refused by both, naming the field.
func TestInsightMatchesUsageAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		tr := scriptInsightTraffic(t, n, acc)
		project := "/projects/" + itoa(tr.projectID)
		want := map[string]int64{"VALID": 8, "SUSPENDED": 2, "REVOKED": 1}
		for _, rg := range service.UsageRanges {
			org := apiUsage(t, n, tr.secret, "/api/v1/usage?range="+rg)
			if !maps.Equal(org.Totals, want) || org.Total != 11 {
				t.Fatalf("%s: organization's totals %v (%d), want %v", rg, org.Totals, org.Total, want)
			}
			if rg == "24h" && (org.Bucket != "hour" || len(org.Buckets) != 24) || rg != "24h" && org.Bucket != "day" {
				t.Fatalf("%s: %d buckets of a %s", rg, len(org.Buckets), org.Bucket)
			}
			if len(org.TopLicenses) == 0 || org.TopLicenses[0].LicenseID != tr.valid || org.TopLicenses[0].Total != 8 {
				t.Fatalf("%s: top licenses %+v", rg, org.TopLicenses)
			}
			home := c.get("/?range=" + rg)
			wantStatus(t, home, http.StatusOK)
			wantSameAsAPI(t, "overview "+rg, readShown(t, home.Body), org)

			proj := apiUsage(t, n, tr.secret, "/api/v1/project/"+itoa(tr.projectID)+"/usage?range="+rg)
			if !maps.Equal(proj.Totals, org.Totals) {
				t.Fatalf("%s: project's totals %v, organization's %v", rg, proj.Totals, org.Totals)
			}
			pp := c.get(project + "?range=" + rg)
			wantStatus(t, pp, http.StatusOK)
			wantSameAsAPI(t, "project "+rg, readShown(t, pp.Body), proj)
		}
		// The hourly range puts the two halves an hour apart.
		day := apiUsage(t, n, tr.secret, "/api/v1/usage?range=24h")
		if last, prev := day.Buckets[23], day.Buckets[22]; last.Total != 5 || prev.Total != 6 {
			t.Fatalf("last two hours %d and %d, want 6 then 5", prev.Total, last.Total)
		}
		lic := apiUsage(t, n, tr.secret, "/api/v1/project/"+itoa(tr.projectID)+"/licenses/"+itoa(tr.valid)+"/usage?range=7d")
		if lic.Total != 8 || len(lic.TopLicenses) != 0 {
			t.Fatalf("license report: %+v", lic)
		}
		// A flush changes where the counts are, not what is shown.
		if err := n.Stack.Validator.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		after := apiUsage(t, n, tr.secret, "/api/v1/usage?range=7d")
		if !maps.Equal(after.Totals, want) {
			t.Fatalf("after the flush: %v", after.Totals)
		}
		wantSameAsAPI(t, "overview after the flush", readShown(t, c.get("/?range=7d").Body), after)

		// The API key's page charts the key's requests like its usage route.
		kp := c.get("/api-keys/" + itoa(tr.keyID) + "?range=7d")
		wantStatus(t, kp, http.StatusOK)
		wantText(t, kp, "Requests per UTC day: 1 in total")

		bad := c.get("/?range=1y")
		wantStatus(t, bad, http.StatusUnprocessableEntity)
		wantText(t, bad, "Range")
		if r := n.Do(t, "GET", "/api/v1/usage?range=1y", nil, apptest.Key(tr.secret)...); r.Status != http.StatusUnprocessableEntity ||
			len(r.Env.Errors["range"]) == 0 {
			t.Fatalf("API, bad range: %d %s", r.Status, r.Body)
		}
	})
}

// TestOldOutcomesArePruned: the scheduler's tick deletes outcome counts
// older than service.OutcomeRetention (the 90-day range and a margin) and
// keeps the rest, so the table holds at most that much history.
func TestOldOutcomesArePruned(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		ctx := context.Background()
		acc := n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
		pid := createProject(t, n, acc, "Pro Plugin")
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("Busy")})
		if err != nil {
			t.Fatal(err)
		}
		now := n.Clock.Now().Truncate(time.Hour)
		hours := map[string]time.Time{"past retention": now.Add(-service.OutcomeRetention - time.Hour),
			"within retention": now.Add(-service.OutcomeRetention + time.Hour), "this hour": now}
		for _, h := range hours {
			if err := n.Store.RecordOutcomes(ctx, []core.OutcomeCount{{LicenseID: l.ID, ProjectID: pid, Hour: h, Code: "VALID", Count: 3}}); err != nil {
				t.Fatal(err)
			}
		}
		n.Clock.Advance(time.Minute) // past the tick the node ran at its start
		if err := n.Service().ScheduleTick(ctx, n.Stack.ScheduleConfig()); err != nil {
			t.Fatal(err)
		}
		got, err := n.Store.OutcomeSeries(ctx, core.OutcomeFilter{LicenseID: l.ID, From: now.Add(-200 * 24 * time.Hour), To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		kept := map[time.Time]bool{}
		for _, c := range got {
			kept[c.Hour.UTC()] = true
		}
		for name, h := range hours {
			if want := name != "past retention"; kept[h.UTC()] != want {
				t.Errorf("%s (%s): kept %v, want %v", name, h, kept[h.UTC()], want)
			}
		}
	})
}
