package web

import (
	"net/url"

	"github.com/latchkey/latchkey/internal/core"
)

// modeLink is one choice of the licenses list's "Test data" toggle.
type modeLink struct {
	Label, URL string
	Current    bool
}

// testDataToggle reads the list's ?mode (an unknown one is "": both, as
// the other filters treat a bad value) and returns the toggle's links,
// each keeping the search and status. Sessions see live and test
// licenses; the toggle narrows the list to one kind (issue 15).
func testDataToggle(path string, q url.Values, search, status string) (string, []modeLink) {
	mode := q.Get("mode")
	if mode != core.ModeLive && mode != core.ModeTest {
		mode = ""
	}
	var links []modeLink
	for _, c := range []struct{ label, mode string }{{"All", ""}, {"Live only", core.ModeLive}, {"Test only", core.ModeTest}} {
		v := url.Values{}
		if search != "" {
			v.Set("q", search)
		}
		if status != "" {
			v.Set("status", status)
		}
		if c.mode != "" {
			v.Set("mode", c.mode)
		}
		u := path
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		links = append(links, modeLink{Label: c.label, URL: u, Current: c.mode == mode})
	}
	return mode, links
}
