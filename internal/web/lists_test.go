package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// TestLicenseListScales: the licenses list over real HTTP on both
// backends: search by a pasted key, filters, sort, total and pages, the
// cross-project list, CSV export with formula cells defused, bulk suspend
// on a selection and on the whole filter after a dry run, and bad input.
func TestLicenseListScales(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		p1 := createProject(t, n, acc, "Pro Plugin")
		p2 := createProject(t, n, acc, "Theme")
		var keys []string
		ids := map[string]int64{}
		for i, title := range []string{"=HYPERLINK(\"x\")", "bravo", "charlie", "delta", "echo"} {
			in := service.LicenseInput{Title: service.Opt[string]{Set: true, V: title}}
			if i == 1 {
				exp := n.Clock.Now().Add(5 * 24 * time.Hour)
				in.ExpiresAt = service.Opt[*time.Time]{Set: true, V: &exp}
			}
			l, err := n.Service().CreateLicense(ctx, acc.Actor(), p1, in)
			if err != nil {
				t.Fatal(err)
			}
			keys, ids[title] = append(keys, l.UUID), l.ID
		}
		for i := range 22 {
			if _, err := n.Service().CreateLicense(ctx, acc.Actor(), p2, service.LicenseInput{Title: service.Opt[string]{Set: true, V: "theme " + itoa(int64(i))}}); err != nil {
				t.Fatal(err)
			}
		}
		base := "/projects/" + itoa(p1) + "/licenses"

		// A pasted key finds its license, and only it.
		p := c.get(base + "?q=" + url.QueryEscape(keys[2]))
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "charlie", "1–1 of 1 licenses")
		wantNoText(t, p, ">bravo<")
		// The expiry window.
		wantText(t, c.get(base+"?expiry=7d"), "bravo", "1–1 of 1 licenses")
		// Sort by title, ascending: = sorts before letters.
		p = c.get(base + "?sort=title&dir=asc")
		if i, j := strings.Index(p.Body, ">bravo<"), strings.Index(p.Body, ">echo<"); i < 0 || j < i {
			t.Fatalf("title ascending: bravo at %d, echo at %d", i, j)
		}
		if !strings.Contains(p.Body, `aria-sort="ascending"`) {
			t.Error("the sorted column has no aria-sort")
		}

		// Every project's licenses: a total, then pages forward and back.
		all := c.get("/licenses")
		wantStatus(t, all, http.StatusOK)
		wantText(t, all, "All licenses", "1–20 of 27 licenses", "Theme", "Pro Plugin")
		wantText(t, c.get("/licenses?page=2"), "21–27 of 27 licenses", "← Previous")
		// ?project= goes to that project's list, keeping the filters.
		wantRedirect(t, c.get("/licenses?project="+itoa(p1)+"&status=active"), base+"?status=active")

		// Bad filters: 422 naming the filter.
		for q, field := range map[string]string{"sort=price": "sort", "page=0": "page", "page=x": "page", "expiry=soon": "expiry",
			"status=gone": "status", "dir=up": "dir", "q=%00": "search", "q=%ff": "search"} {
			p := c.get("/licenses?" + q)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(strings.ToLower(p.text()), field) {
				t.Errorf("?%s: %d %s", q, p.Status, p.text())
			}
		}

		// CSV of the filter: every row, proper quoting, formulas defused.
		p = c.get(base + "/export.csv?sort=title&dir=asc")
		wantStatus(t, p, http.StatusOK)
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 6 || rows[0][2] != "title" || rows[1][2] != `'=HYPERLINK("x")` || rows[1][3] != keys[0] {
			t.Fatalf("csv = %q", rows)
		}
		if p := c.get("/licenses/export.csv?mode=other"); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("bad export filter: %d", p.Status)
		}

		// Bulk suspend of a selection: a dry run shows the count first,
		// and changes nothing.
		sel := url.Values{"action": {"suspend"}, "scope": {"selected"}, "id": {itoa(ids["bravo"]), itoa(ids["charlie"])}}
		p = c.post(base+"/bulk", sel)
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "Suspend 2 licenses?")
		if l, _ := n.Service().License(ctx, acc.Actor(), p1, ids["bravo"]); l.Status != core.LicenseActive {
			t.Fatal("the dry run suspended")
		}
		sel.Set("confirm", "1")
		p = c.post(base+"/bulk", sel)
		wantRedirect(t, p, base)
		wantText(t, c.follow(p), "2 licenses suspended.")
		for _, title := range []string{"bravo", "charlie"} {
			if l, _ := n.Service().License(ctx, acc.Actor(), p1, ids[title]); l.Status != core.LicenseSuspended {
				t.Fatalf("%s is %s", title, l.Status)
			}
		}
		// The whole filter across projects: reactivate what is suspended.
		whole := url.Values{"action": {"reactivate"}, "scope": {"filter"}, "status": {"suspended"}}
		wantText(t, c.post("/licenses/bulk", whole), "Reactivate 2 licenses?")
		whole.Set("confirm", "1")
		wantRedirect(t, c.post("/licenses/bulk", whole), "/licenses?status=suspended")
		if n, _ := n.Service().CountAllLicenses(ctx, acc.Actor(), 0, core.LicenseFilter{Status: core.LicenseSuspended}); n != 0 {
			t.Fatalf("%d still suspended", n)
		}

		// Bad bulk posts: 422 naming the field, nothing changed.
		for name, form := range map[string]url.Values{
			"no selection":  {"action": {"suspend"}, "scope": {"selected"}, "confirm": {"1"}},
			"bad id":        {"action": {"suspend"}, "scope": {"selected"}, "id": {"x"}, "confirm": {"1"}},
			"bad action":    {"action": {"delete"}, "scope": {"filter"}, "confirm": {"1"}},
			"bad scope":     {"action": {"suspend"}, "scope": {"some"}, "confirm": {"1"}},
			"bad filter":    {"action": {"suspend"}, "scope": {"filter"}, "expiry": {"soon"}, "confirm": {"1"}},
			"invalid UTF-8": {"action": {"suspend"}, "scope": {"filter"}, "q": {"\xff"}, "confirm": {"1"}},
		} {
			if p := c.post(base+"/bulk", form); p.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", name, p.Status, p.text())
			}
		}
		if n, _ := n.Service().CountAllLicenses(ctx, acc.Actor(), 0, core.LicenseFilter{Status: core.LicenseSuspended}); n != 0 {
			t.Fatalf("a refused bulk post suspended %d", n)
		}
		// A viewer sees the list without the bulk form, and is refused.
		vacc := n.CreateUser(t, "Acme", "vera@acme.test", core.RoleViewer)
		_ = vacc
		v := signIn(t, n, "vera@acme.test")
		wantNoText(t, v.get(base), `id="bulk-form"`)
		if p := v.post(base+"/bulk", url.Values{"action": {"suspend"}, "scope": {"filter"}, "confirm": {"1"}}); p.Status != http.StatusForbidden {
			t.Fatalf("viewer bulk: %d", p.Status)
		}
	})
}

// TestAPIKeyDisableAndEdit: disable and enable from the dashboard (the API
// refuses the key with API_KEY_DISABLED, then accepts it), the PATCH
// enabled field, the edit page with its bad input, list filters and the
// rotated key's label.
func TestAPIKeyDisableAndEdit(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		k, secret := n.CreateKey(t, acc, service.KeyInput{Name: "deploy"})
		kpath := "/api-keys/" + itoa(k.ID)
		call := func() *apptest.Response {
			t.Helper()
			return n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
		}
		if r := call(); r.Status != 200 {
			t.Fatalf("before: %d", r.Status)
		}
		wantText(t, c.get("/api-keys"), "all scopes")

		p := c.post(kpath+"/disable", url.Values{"back": {"list"}})
		wantRedirect(t, p, "/api-keys")
		wantText(t, c.follow(p), "disabled: it is refused until you enable it.")
		if r := call(); r.Status != 403 || r.Env.Code != "API_KEY_DISABLED" || r.Env.Message != "This API key is disabled." {
			t.Fatalf("disabled key: %d %s", r.Status, r.Body)
		}
		wantText(t, c.get("/api-keys?status=disabled"), "deploy")
		wantNoText(t, c.get("/api-keys?status=active"), ">deploy<")
		wantRedirect(t, c.post(kpath+"/enable", nil), kpath)
		if r := call(); r.Status != 200 {
			t.Fatalf("enabled again: %d %s", r.Status, r.Body)
		}

		// The API's PATCH enabled, with bad values refused.
		admin, asecret := n.CreateKey(t, acc, service.KeyInput{Name: "admin"})
		_ = admin
		for body, code := range map[string]int{`{"enabled":"maybe"}`: 422, `{"enabled":null}`: 422, `{"enabled":false}`: 200} {
			r := n.Do(t, "PATCH", "/api/v1/api-keys/"+itoa(k.ID), body, apptest.Key(asecret)...)
			if r.Status != code {
				t.Fatalf("%s: %d %s", body, r.Status, r.Body)
			}
		}
		if r := call(); r.Status != 403 || r.Env.Code != "API_KEY_DISABLED" {
			t.Fatalf("disabled by the API: %d", r.Status)
		}
		got, _ := n.Service().APIKey(ctx, acc.Actor(), k.ID)
		if got.DisabledAt == nil || got.Name != "deploy" {
			t.Fatalf("after PATCH: %+v", got)
		}
		r := n.Do(t, "PATCH", "/api/v1/api-keys/"+itoa(k.ID), `{"enabled":true,"name":"deploy 2"}`, apptest.Key(asecret)...)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"enabled":true`) {
			t.Fatalf("enable by the API: %d %s", r.Status, r.Body)
		}

		// The edit page: bad input is 422 under its field, nothing saved.
		wantStatus(t, c.get(kpath+"/edit"), http.StatusOK)
		p = c.post(kpath+"/edit", url.Values{"name": {""}, "scopes": {"projects:read"}, "allowed_ips": {"nope"},
			"rate_limit_per_minute": {"lots"}, "expires_in": {"12"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "allowed_ips", "rate_limit_per_minute", "expires_in"} {
			if fieldError(p, f) == "" {
				t.Errorf("no message under %s:\n%s", f, p.text())
			}
		}
		if got, _ := n.Service().APIKey(ctx, acc.Actor(), k.ID); got.Name != "deploy 2" || got.Scopes == core.NewScopeSet(core.ScopeProjectsRead) {
			t.Fatalf("a refused edit saved: %+v", got)
		}
		p = c.post(kpath+"/edit", url.Values{"name": {"deploy 3"}, "scopes": {"projects:read"}, "expires_in": {"30"},
			"rate_limit_per_minute": {"120"}})
		wantRedirect(t, p, kpath)
		got, _ = n.Service().APIKey(ctx, acc.Actor(), k.ID)
		want := n.Clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute)
		if got.Name != "deploy 3" || got.RateLimit != 120 || got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
			t.Fatalf("edit saved %+v, want expiry %v", got, want)
		}
		// Date and time are kept to the minute.
		at := n.Clock.Now().Add(48 * time.Hour).UTC().Format("2006-01-02T15:04")
		wantRedirect(t, c.post(kpath+"/edit", url.Values{"name": {"deploy 3"}, "scopes": {"projects:read"}, "expires_at": {at}}), kpath)
		got, _ = n.Service().APIKey(ctx, acc.Actor(), k.ID)
		if got.ExpiresAt.UTC().Format("2006-01-02T15:04") != at {
			t.Fatalf("expiry %v, want %s", got.ExpiresAt, at)
		}

		// A rotated key is labelled with its successor and its end.
		wantRedirect(t, c.post(kpath+"/disable", nil), kpath)
		wantText(t, c.follow(c.post(kpath+"/rotate", url.Values{"grace_seconds": {"3600"}})), "disabled: enable it before rotating it")
		wantRedirect(t, c.post(kpath+"/enable", nil), kpath)
		wantStatus(t, c.post(kpath+"/rotate", url.Values{"grace_seconds": {"3600"}}), http.StatusSeeOther)
		wantText(t, c.get(kpath), "replaced by deploy 3", "stops at")

		// Bad list filters.
		for _, q := range []string{"status=gone", "env=prod", "owner=x", "project=-1"} {
			if p := c.get("/api-keys?" + q); p.Status != http.StatusUnprocessableEntity {
				t.Errorf("?%s: %d", q, p.Status)
			}
		}
		wantText(t, c.get("/api-keys?env=live&project=global&owner="+itoa(acc.UserID)), "admin")
	})
}
