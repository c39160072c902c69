package web_test

import (
	"context"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/apptest"

	"github.com/latchkey/latchkey/internal/core"
)

// TestBrowserInsight drives Chromium to the organization's overview and a
// project's after scripted runtime traffic: the stacked chart is drawn
// (one segment per bucket and code with answers), and the legend, the
// figures and the top licenses show exactly what the usage API answers,
// on each range the links lead to.
func TestBrowserInsight(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	acc := n.CreateUser(t, "Acme Software", "ada@acme.test", core.RoleOwner)
	tr := scriptInsightTraffic(t, n, acc)
	b := newBrowser(t, path, n)

	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")
	b.wantPage("/projects", "Pro Plugin")
	b.open("/")
	b.wantPage("/", "Overview", "Runtime answers", "API requests", "Top refusal reasons", "Recent activity")

	legend := func() map[string]int64 {
		t.Helper()
		got := evaluate[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#outcome-chart .outcome-count')].map(e => [e.dataset.code, e.textContent]))`)
		out := map[string]int64{}
		for code, s := range got {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("legend %s: %q", code, s)
			}
			out[code] = v
		}
		return out
	}
	segments := func() int {
		t.Helper()
		return evaluate[int](b, `document.querySelectorAll('#outcome-chart svg rect.seg').length`)
	}
	check := func(where, api string) {
		t.Helper()
		rep := apiUsage(t, n, tr.secret, api)
		if got := legend(); !maps.Equal(got, rep.Totals) || rep.Total == 0 {
			t.Fatalf("%s: the legend shows %v, the API %v", where, got, rep.Totals)
		}
		want := 0
		for _, bk := range rep.Buckets {
			want += len(bk.Count)
		}
		if got := segments(); got != want {
			t.Fatalf("%s: %d chart segments, want %d (one per bucket and code)", where, got, want)
		}
		if got := b.text("#outcome-total"); got != strconv.FormatInt(rep.Total, 10) {
			t.Fatalf("%s: total %s, the API %d", where, got, rep.Total)
		}
	}
	check("overview, 30 days", "/api/v1/usage?range=30d")
	b.shot("overview")
	b.submit("range-24h")
	b.wantPage("/?range=24h", "Runtime answers")
	check("overview, 24 h", "/api/v1/usage?range=24h")

	project := "/projects/" + itoa(tr.projectID)
	b.open(project)
	b.wantPage(project, "Top licenses by use", "Busy customer", "SUSPENDED")
	check("project, 30 days", "/api/v1/project/"+itoa(tr.projectID)+"/usage?range=30d")
	b.submit("range-7d")
	b.wantPage(project+"?range=7d", "Runtime answers")
	check("project, 7 days", "/api/v1/project/"+itoa(tr.projectID)+"/usage?range=7d")
	b.shot("project-insight")

	b.open("/api-keys/" + itoa(tr.keyID))
	b.wantPage("/api-keys/"+itoa(tr.keyID), "Requests per UTC day: 1 in total")
	b.submit("range-90d")
	b.wantPage("/api-keys/"+itoa(tr.keyID)+"?range=90d", "Requests per UTC day: 1 in total")
}

// evaluate runs a script expression in the page and returns its value.
func evaluate[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
