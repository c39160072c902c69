package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// errorBody is an error envelope with the catalogue's link.
type errorBody struct {
	Code   string `json:"code"`
	DocURL string `json:"doc_url"`
}

func decodeError(t *testing.T, r *apptest.Response) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.Body, err)
	}
	return e
}

// TestErrorBodiesLinkTheCatalogue: every error body carries doc_url, the
// code's entry on the page the node serves, under --public-url when set.
func TestErrorBodiesLinkTheCatalogue(t *testing.T) {
	b := storetest.Backends(t)[0]
	for _, tc := range []struct {
		name, publicURL, prefix string
	}{
		{"relative", "", "/docs/errors#"},
		{"public URL", "https://licenses.example.com/", "https://licenses.example.com/docs/errors#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := apptest.New(t, b, func(c *config.Config) { c.PublicURL = tc.publicURL })
			owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
			_, key := n.CreateKey(t, owner, service.KeyInput{Name: "k"})
			cases := []struct {
				name   string
				r      *apptest.Response
				status int
				code   string
			}{
				{"no key", n.Do(t, "GET", "/api/v1/projects", nil), 401, core.ReasonMissingAPIKey},
				{"validation", n.Do(t, "POST", "/api/v1/project", map[string]any{}, apptest.Key(key)...), 422, "VALIDATION_ERROR"},
				{"not found", n.Do(t, "GET", "/api/v1/project/999999", nil, apptest.Key(key)...), 404, "NOT_FOUND"},
				{"runtime refusal", n.Do(t, "POST", "/api/v1/project/has-paid", nil, "X-LICENSE-KEY", "00000000-0000-7000-8000-000000000000", "X-Devpayr-Domain", "a.example.com"), 404, licensing.CodeNotFound},
			}
			for _, c := range cases {
				if c.r.Status != c.status {
					t.Fatalf("%s: status %d, want %d: %s", c.name, c.r.Status, c.status, c.r.Body)
				}
				e := decodeError(t, c.r)
				if e.Code != c.code || e.DocURL != tc.prefix+strings.ToLower(c.code) {
					t.Fatalf("%s: code %q doc_url %q, want %q and %s%s", c.name, e.Code, e.DocURL, c.code, tc.prefix, strings.ToLower(c.code))
				}
				info, ok := core.LookupCode(e.Code)
				if !ok || info.Status != c.r.Status {
					t.Fatalf("%s: code %s is catalogued %v with status %d, sent with %d", c.name, e.Code, ok, info.Status, c.r.Status)
				}
			}
			// The link resolves: the page has the entry's anchor.
			page := n.Do(t, "GET", core.DocPath, nil)
			if page.Status != 200 || !strings.Contains(string(page.Body), `id="missing_api_key"`) ||
				!strings.Contains(string(page.Body), `id="too_many_domains"`) {
				t.Fatalf("catalogue page: %d %.300s", page.Status, page.Body)
			}
		})
	}
}

// TestErrorCatalogueRoute: GET /api/v1/errors lists the catalogue.
func TestErrorCatalogueRoute(t *testing.T) {
	n := apptest.New(t, storetest.Backends(t)[0])
	r := n.Do(t, "GET", "/api/v1/errors", nil)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var got []struct {
		Code    string `json:"code"`
		Status  int    `json:"status"`
		Meaning string `json:"meaning"`
		Action  string `json:"action"`
		Runtime bool   `json:"runtime"`
		DocURL  string `json:"doc_url"`
	}
	r.Decode(t, &got)
	want := core.Codes()
	if len(got) != len(want) {
		t.Fatalf("%d codes, want %d", len(got), len(want))
	}
	for i, c := range want {
		g := got[i]
		if g.Code != c.Code || g.Status != c.Status || g.Meaning != c.Meaning || g.Action != c.Action || g.Runtime != c.Runtime ||
			g.DocURL != core.DocPath+"#"+core.DocAnchor(c.Code) {
			t.Fatalf("entry %d: %+v, want %+v", i, g, c)
		}
	}
}

// TestPagesHaveMore: has_more is true exactly when next_cursor is set.
func TestPagesHaveMore(t *testing.T) {
	n := apptest.New(t, storetest.Backends(t)[0])
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(t, owner, service.KeyInput{Name: "k"})
	for _, name := range []string{"One", "Two"} {
		if r := n.Do(t, "POST", "/api/v1/project", map[string]any{"name": name}, apptest.Key(key)...); r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	path := "/api/v1/projects?per_page=1"
	for i, want := range []bool{true, false} {
		r := n.Do(t, "GET", path, nil, apptest.Key(key)...)
		var p struct {
			NextCursor *string `json:"next_cursor"`
			HasMore    *bool   `json:"has_more"`
		}
		r.Decode(t, &p)
		if p.HasMore == nil || *p.HasMore != want || (p.NextCursor != nil) != want {
			t.Fatalf("page %d: has_more %v next_cursor %v, want %v: %s", i, p.HasMore, p.NextCursor, want, r.Env.Data)
		}
		if p.NextCursor != nil {
			path = "/api/v1/projects?per_page=1&cursor=" + *p.NextCursor
		}
	}
}
