package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/service"
)

// TestLicenseListTestDataToggle: a session sees live and test licenses;
// the "Test data" toggle narrows the list to one kind, keeps the other
// filters, and its pages keep it (issue 15).
func TestLicenseListTestDataToggle(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		base := "/projects/" + itoa(pid) + "/licenses"
		for i := range 23 {
			// 21 test licenses (more than a page), 2 live ones.
			test := i >= 2
			title := fmt.Sprintf("Live %02d", i)
			if test {
				title = fmt.Sprintf("Test %02d", i)
			}
			if _, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some(title),
				IsTestLicense: service.Some(test)}); err != nil {
				t.Fatal(err)
			}
		}
		titles := func(p *page) []string {
			var out []string
			for _, m := range regexp.MustCompile(`<strong>((?:Live|Test) \d+)</strong>`).FindAllStringSubmatch(p.Body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		kinds := func(ts []string) (live, test int) {
			for _, s := range ts {
				if strings.HasPrefix(s, "Live") {
					live++
				} else {
					test++
				}
			}
			return
		}
		all := c.get(base)
		wantText(t, all, "Test data:", "All", "Live only", "Test only")
		wantMarkup(t, all, `aria-label="Test data"`, `aria-current="true">All</a>`)
		if got := titles(all); len(got) != 20 {
			t.Fatalf("all: %v", got)
		}
		live := c.get(base + "?mode=live")
		wantMarkup(t, live, `aria-current="true">Live only</a>`)
		if got := titles(live); !slices.Equal(got, []string{"Live 01", "Live 00"}) {
			t.Fatalf("live only: %v", got)
		}
		test := c.get(base + "?mode=test&q=Test")
		got := titles(test)
		if l, tt := kinds(got); l != 0 || tt != 20 {
			t.Fatalf("test only: %v", got)
		}
		m := regexp.MustCompile(`href="([^"]*page=2[^"]*)"`).FindStringSubmatch(test.Body)
		if m == nil || !strings.Contains(m[1], "mode=test") || !strings.Contains(m[1], "q=Test") {
			t.Fatalf("next page link %v", m)
		}
		if got := titles(c.get(strings.ReplaceAll(m[1], "&amp;", "&"))); !slices.Equal(got, []string{"Test 02"}) {
			t.Fatalf("test only, page 2: %v", got)
		}
		// The toggle's links keep the search; the search form keeps the mode.
		wantMarkup(t, test, `href="`+base+`?mode=live&amp;q=Test"`, `<input type="hidden" name="mode" value="test">`)
		// An unknown mode is a 422 naming it, as other bad filter values
		// are since issue 19.
		if p := c.get(base + "?mode=staging"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "test data") {
			t.Fatalf("unknown mode: %d", p.Status)
		}
	})
}

func wantMarkup(t *testing.T, p *page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
