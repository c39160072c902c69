package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// businessView is the part of a license view issue 14 added.
type businessView struct {
	ID                      int64             `json:"id"`
	ProjectID               int64             `json:"project_id"`
	Title                   string            `json:"title"`
	UUID                    string            `json:"uuid"`
	IsActive                bool              `json:"is_active"`
	ExpiresAt               *string           `json:"expires_at"`
	CustomerName            *string           `json:"customer_name"`
	CustomerEmail           *string           `json:"customer_email"`
	ExternalID              *string           `json:"external_id"`
	Metadata                map[string]string `json:"metadata"`
	MaxConcurrent           *int64            `json:"max_concurrent"`
	HeartbeatTTL            *int64            `json:"heartbeat_ttl"`
	MaxNewActivationsPerDay *int64            `json:"max_new_activations_per_day"`
}

func decodeLicense(t *testing.T, r *apptest.Response, status int) businessView {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var v businessView
	r.Decode(t, &v)
	// metadata is always an object: a nil map here means it was absent
	// or null.
	if !strings.Contains(string(r.Env.Data), `"metadata":{`) {
		t.Fatalf("metadata is not an object: %s", r.Env.Data)
	}
	return v
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func num(p *int64) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.FormatInt(*p, 10)
}

// TestLicenseBusinessFields sets every new field on create, changes them
// on update (metadata as a merge patch) and reads them back.
func TestLicenseBusinessFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		base := "/api/v1/project/" + id(c.p1) + "/licenses"
		plain := decodeLicense(t, c.n.Do(t, "GET", base+"/"+id(c.lic1), nil, key...), 200)
		if len(plain.Metadata) != 0 || plain.CustomerName != nil || plain.MaxConcurrent != nil {
			t.Fatalf("a license without the fields: %+v", plain)
		}
		created := decodeLicense(t, c.n.Do(t, "POST", base, map[string]any{"title": "Full", "customer_name": "  Ada Lovelace ",
			"customer_email": "Ada@Example.com", "external_id": "sub_123", "metadata": map[string]any{"plan": "gold", "seats": "5", "gone": nil, "empty": ""},
			"max_concurrent": 3, "heartbeat_ttl": "120", "max_new_activations_per_day": 2, "expires_in": "30d"}, key...), 201)
		wantExp := c.n.Clock.Now().Add(30 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05")
		if str(created.CustomerName) != "Ada Lovelace" || str(created.CustomerEmail) != "Ada@Example.com" ||
			str(created.ExternalID) != "sub_123" || len(created.Metadata) != 2 || created.Metadata["plan"] != "gold" ||
			num(created.MaxConcurrent) != "3" || num(created.HeartbeatTTL) != "120" || num(created.MaxNewActivationsPerDay) != "2" ||
			!strings.HasPrefix(str(created.ExpiresAt), wantExp) {
			t.Fatalf("created %+v (expiry want %s)", created, wantExp)
		}
		path := base + "/" + id(created.ID)
		steps := []struct {
			name  string
			body  map[string]any
			check func(v businessView) bool
		}{
			{"merge patch", map[string]any{"metadata": map[string]any{"plan": "silver", "seats": nil, "region": "eu"}},
				func(v businessView) bool {
					return len(v.Metadata) == 2 && v.Metadata["plan"] == "silver" && v.Metadata["region"] == "eu"
				}},
			{"empty string removes", map[string]any{"metadata": map[string]any{"region": ""}},
				func(v businessView) bool { return len(v.Metadata) == 1 && v.Metadata["plan"] == "silver" }},
			{"unlisted fields stay", map[string]any{"title": "Full 2"},
				func(v businessView) bool { return len(v.Metadata) == 1 && str(v.ExternalID) == "sub_123" }},
			{"zero limits are none", map[string]any{"max_concurrent": 0, "max_new_activations_per_day": 0, "heartbeat_ttl": nil},
				func(v businessView) bool {
					return v.MaxConcurrent == nil && v.MaxNewActivationsPerDay == nil && v.HeartbeatTTL == nil
				}},
			{"empty text clears", map[string]any{"customer_name": "", "customer_email": nil, "external_id": " "},
				func(v businessView) bool {
					return v.CustomerName == nil && v.CustomerEmail == nil && v.ExternalID == nil
				}},
			{"null metadata clears", map[string]any{"metadata": nil}, func(v businessView) bool { return len(v.Metadata) == 0 }},
			{"metadata set again", map[string]any{"metadata": map[string]any{"a": "1"}, "max_concurrent": "7"},
				func(v businessView) bool { return v.Metadata["a"] == "1" && num(v.MaxConcurrent) == "7" }},
		}
		for _, s := range steps {
			v := decodeLicense(t, c.n.Do(t, "PATCH", path, s.body, key...), 200)
			if !s.check(v) {
				t.Fatalf("%s: %+v", s.name, v)
			}
			if shown := decodeLicense(t, c.n.Do(t, "GET", path, nil, key...), 200); !s.check(shown) {
				t.Fatalf("%s: shown %+v", s.name, shown)
			}
		}
		// The event carries the fields as the read shows them.
		evs, err := c.n.Store.ListEvents(context.Background(), core.EventFilter{OrgID: c.owner.OrgID, Type: "license.created", Limit: 10})
		if err != nil || len(evs) == 0 {
			t.Fatalf("events: %v %v", evs, err)
		}
		if !strings.Contains(string(evs[0].Data), `"external_id":"sub_123"`) || !strings.Contains(string(evs[0].Data), `"plan":"gold"`) {
			t.Fatalf("license.created data: %s", evs[0].Data)
		}
	})
}

// TestLicenseBusinessFieldsRefused sends each bad value: a 422 naming the
// field, and nothing written.
func TestLicenseBusinessFieldsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newInputFixture(t, b)
		key := apptest.Key(f.key)
		create := "/api/v1/project/" + id(f.p1) + "/licenses"
		update := create + "/" + id(f.lic1)
		many := map[string]any{}
		for i := range 51 {
			many["k"+strconv.Itoa(i)] = "v"
		}
		tests := []struct {
			name, body, field, msg string
		}{
			{"email", `{"customer_email":"not-an-email"}`, "customer_email", "valid email address"},
			{"email with a name", `{"customer_email":"Ada <ada@example.com>"}`, "customer_email", "valid email address"},
			{"long name", `{"customer_name":"` + strings.Repeat("n", 256) + `"}`, "customer_name", "255 characters"},
			{"long external id", `{"external_id":"` + strings.Repeat("x", 256) + `"}`, "external_id", "255 characters"},
			{"name as an object", `{"customer_name":{"a":1}}`, "customer_name", "must be a string"},
			{"external id as an array", `{"external_id":["a"]}`, "external_id", "must be a string"},
			{"metadata number value", `{"metadata":{"plan":5}}`, "metadata.plan", "must be a string"},
			{"metadata object value", `{"metadata":{"plan":{"x":"y"}}}`, "metadata.plan", "must be a string"},
			{"metadata array", `{"metadata":["a"]}`, "metadata", "object of string values"},
			{"metadata string", `{"metadata":"plan=gold"}`, "metadata", "object of string values"},
			{"metadata bracket key", `{"metadata":{"a[b]":"x"}}`, "metadata", "square brackets"},
			{"metadata long key", `{"metadata":{"` + strings.Repeat("k", 41) + `":"x"}}`, "metadata", "40 characters"},
			{"metadata long value", `{"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, "metadata.k", "500 characters"},
			{"metadata NUL", `{"metadata":{"k":"a\u0000b"}}`, "metadata", badTextMsg},
			{"metadata invalid UTF-8", "{\"metadata\":{\"k\":\"a\xffb\"}}", "metadata", badTextMsg},
			{"max concurrent negative", `{"max_concurrent":-1}`, "max_concurrent", "at least 0"},
			{"max concurrent text", `{"max_concurrent":"many"}`, "max_concurrent", "must be an integer"},
			{"max concurrent fraction", `{"max_concurrent":1.5}`, "max_concurrent", "must be an integer"},
			{"max concurrent huge", `{"max_concurrent":99999999999999999999999}`, "max_concurrent", "must be an integer"},
			{"heartbeat ttl low", `{"heartbeat_ttl":29}`, "heartbeat_ttl", "between 30 and 86400"},
			{"heartbeat ttl zero", `{"heartbeat_ttl":0}`, "heartbeat_ttl", "between 30 and 86400"},
			{"heartbeat ttl high", `{"heartbeat_ttl":86401}`, "heartbeat_ttl", "between 30 and 86400"},
			{"heartbeat ttl boolean", `{"heartbeat_ttl":true}`, "heartbeat_ttl", "must be an integer"},
			{"churn negative", `{"max_new_activations_per_day":-2}`, "max_new_activations_per_day", "at least 0"},
			{"expires in unit", `{"expires_in":"1mo"}`, "expires_in", "positive duration"},
			{"expires in zero", `{"expires_in":0}`, "expires_in", "positive duration"},
			{"expires in and at", `{"expires_in":"30d","expires_at":"2030-01-01"}`, "expires_in", "cannot be sent with expires at"},
		}
		for _, field := range []string{"customer_name", "customer_email", "external_id"} {
			for _, bad := range badJSON {
				tests = append(tests, struct{ name, body, field, msg string }{field + " " + bad.name,
					string(jsonWith(t, map[string]any{}, field, bad.text)), field, badTextMsg})
			}
		}
		manyJSON, _ := json.Marshal(map[string]any{"metadata": many})
		tests = append(tests, struct{ name, body, field, msg string }{"metadata 51 keys", string(manyJSON), "metadata", "more than 50 keys"})
		for _, tc := range tests {
			for _, w := range []struct{ method, path, extra string }{{"POST", create, `"title":"New",`}, {"PATCH", update, ""}} {
				t.Run(tc.name+" "+w.method, func(t *testing.T) {
					before := f.writes(t)
					body := "{" + w.extra + strings.TrimPrefix(tc.body, "{")
					r := f.n.Do(t, w.method, w.path, body, key...)
					wantRefused(t, f, before, r, tc.field, tc.msg)
				})
			}
		}
		t.Run("merge beyond 50 keys", func(t *testing.T) {
			half := map[string]any{}
			for i := range 30 {
				half["a"+strconv.Itoa(i)] = "v"
			}
			if r := f.n.Do(t, "PATCH", update, map[string]any{"metadata": half}, key...); r.Status != 200 {
				t.Fatalf("30 keys: %d %s", r.Status, r.Body)
			}
			more := map[string]any{"a0": nil}
			for i := range 21 {
				more["b"+strconv.Itoa(i)] = "v"
			}
			// 30 - 1 + 21 = 50: accepted; one more is refused.
			if r := f.n.Do(t, "PATCH", update, map[string]any{"metadata": more}, key...); r.Status != 200 {
				t.Fatalf("50 keys: %d %s", r.Status, r.Body)
			}
			before := f.writes(t)
			r := f.n.Do(t, "PATCH", update, map[string]any{"metadata": map[string]any{"c": "v"}}, key...)
			wantRefused(t, f, before, r, "metadata", "it would have 51")
		})
	})
}

// TestExternalIDTaken answers 409 EXTERNAL_ID_TAKEN on a duplicate in the
// project (create and update), allows it in another project, and keeps
// DevPayr's 422 for a duplicate title.
func TestExternalIDTaken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		p1 := "/api/v1/project/" + id(c.p1) + "/licenses"
		p2 := "/api/v1/project/" + id(c.p2) + "/licenses"
		decodeLicense(t, c.n.Do(t, "POST", p1, map[string]any{"title": "One", "external_id": "order-1"}, key...), 201)
		decodeLicense(t, c.n.Do(t, "POST", p2, map[string]any{"title": "One", "external_id": "order-1"}, key...), 201)
		tests := []struct {
			name, method, path string
			body               map[string]any
			status             int
			code, field        string
		}{
			{"create", "POST", p1, map[string]any{"title": "Two", "external_id": " order-1 "}, 409, "EXTERNAL_ID_TAKEN", "external_id"},
			{"update", "PATCH", p1 + "/" + id(c.lic1), map[string]any{"external_id": "order-1"}, 409, "EXTERNAL_ID_TAKEN", "external_id"},
			{"title", "POST", p1, map[string]any{"title": "One", "external_id": "order-2"}, 422, "VALIDATION_ERROR", "title"},
		}
		for _, tc := range tests {
			r := c.n.Do(t, tc.method, tc.path, tc.body, key...)
			if r.Status != tc.status || r.Env.Code != tc.code || len(r.Env.Errors[tc.field]) == 0 {
				t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
			}
			if tc.status == 409 && r.Env.Errors["external_id"][0] != "The external id has already been taken in this project." {
				t.Fatalf("%s: %s", tc.name, r.Body)
			}
		}
	})
}

// TestLicenseFilters runs each filter on the per-project list and on the
// cross-project one.
func TestLicenseFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		mk := func(p int64, body map[string]any) businessView {
			return decodeLicense(t, c.n.Do(t, "POST", "/api/v1/project/"+id(p)+"/licenses", body, key...), 201)
		}
		gold := mk(c.p1, map[string]any{"title": "Gold shop", "customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
			"external_id": "sub_A1", "metadata": map[string]string{"plan": "gold", "region": "eu"}})
		mk(c.p1, map[string]any{"title": "Silver shop", "customer_email": "bob@example.com", "external_id": "sub_B2",
			"metadata": map[string]string{"plan": "silver", "region": "eu"}})
		other := mk(c.p2, map[string]any{"title": "Theme gold", "customer_email": "ADA@example.com", "external_id": "sub_A1",
			"metadata": map[string]string{"plan": "gold"}})
		revoked := c.n.Do(t, "POST", "/api/v1/project/"+id(c.p1)+"/licenses/"+id(c.lic1)+"/revoke", nil, key...)
		if revoked.Status != 200 {
			t.Fatal(revoked.Status)
		}
		tests := []struct {
			query   string
			project []string // titles on p1's list, newest first
			all     []string // titles on /api/v1/licenses
		}{
			{"", []string{"Silver shop", "Gold shop", "Customer A"}, []string{"Theme gold", "Silver shop", "Gold shop", "Customer B", "Customer A"}},
			{"q=" + url.QueryEscape(" "+strings.ToUpper(gold.UUID)+" "), []string{"Gold shop"}, []string{"Gold shop"}},
			{"q=" + url.QueryEscape(other.UUID), nil, []string{"Theme gold"}},
			// A key is found by its digest only, never as a substring.
			{"q=" + gold.UUID[:8], nil, nil},
			{"q=lovelace", []string{"Gold shop"}, []string{"Gold shop"}},
			{"q=BOB%40", []string{"Silver shop"}, []string{"Silver shop"}},
			{"q=sub_a", []string{"Gold shop"}, []string{"Theme gold", "Gold shop"}},
			{"q=shop", []string{"Silver shop", "Gold shop"}, []string{"Silver shop", "Gold shop"}},
			{"q=customer", []string{"Customer A"}, []string{"Customer B", "Customer A"}},
			{"external_id=sub_A1", []string{"Gold shop"}, []string{"Theme gold", "Gold shop"}},
			{"external_id=sub_a1", nil, nil},
			{"customer_email=ADA%40EXAMPLE.COM", []string{"Gold shop"}, []string{"Theme gold", "Gold shop"}},
			{"metadata%5Bplan%5D=gold", []string{"Gold shop"}, []string{"Theme gold", "Gold shop"}},
			{"metadata[region]=eu", []string{"Silver shop", "Gold shop"}, []string{"Silver shop", "Gold shop"}},
			{"metadata[region]=eu&metadata[plan]=silver", []string{"Silver shop"}, []string{"Silver shop"}},
			{"metadata[plan]=gold&q=theme", nil, []string{"Theme gold"}},
			{"status=revoked", []string{"Customer A"}, []string{"Customer A"}},
			{"status=active&search=gold", []string{"Gold shop"}, []string{"Theme gold", "Gold shop"}},
			{"project_id=" + id(c.p2), nil, []string{"Theme gold", "Customer B"}},
		}
		titles := func(r *apptest.Response) []string {
			t.Helper()
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var pg struct {
				Data []businessView `json:"data"`
			}
			r.Decode(t, &pg)
			var out []string
			for _, l := range pg.Data {
				out = append(out, l.Title)
			}
			return out
		}
		for _, tc := range tests {
			if !strings.HasPrefix(tc.query, "project_id") {
				if got := titles(c.n.Do(t, "GET", "/api/v1/project/"+id(c.p1)+"/licenses?"+tc.query, nil, key...)); !slices.Equal(got, tc.project) {
					t.Errorf("project list ?%s = %q, want %q", tc.query, got, tc.project)
				}
			}
			if got := titles(c.n.Do(t, "GET", "/api/v1/licenses?"+tc.query, nil, key...)); !slices.Equal(got, tc.all) {
				t.Errorf("cross-project list ?%s = %q, want %q", tc.query, got, tc.all)
			}
		}
		// A project-bound key sees its project only, even for a pasted key
		// of another project.
		scoped := apptest.Key(c.scopedKey)
		if got := titles(c.n.Do(t, "GET", "/api/v1/licenses?q=gold", nil, scoped...)); !slices.Equal(got, []string{"Gold shop"}) {
			t.Errorf("bound key ?q=gold = %q", got)
		}
		if got := titles(c.n.Do(t, "GET", "/api/v1/licenses?q="+other.UUID, nil, scoped...)); len(got) != 0 {
			t.Errorf("bound key found another project's license: %q", got)
		}
		// Refusals.
		refused := []struct {
			path   string
			key    []string
			status int
			field  string
		}{
			{"/api/v1/licenses?project_id=" + id(c.p2), scoped, 403, ""},
			{"/api/v1/licenses?project_id=" + id(c.foreign), key, 403, ""},
			{"/api/v1/licenses?project_id=999999", key, 404, ""},
			{"/api/v1/licenses?project_id=abc", key, 422, "project_id"},
			{"/api/v1/licenses", apptest.Key(c.noPayments), 403, ""},
			{"/api/v1/licenses", nil, 401, ""},
			{"/api/v1/licenses?status=gone", key, 422, "status"},
			{"/api/v1/project/" + id(c.p1) + "/licenses?status=gone", key, 422, "status"},
			{"/api/v1/licenses?metadata=plan", key, 422, "metadata"},
			{"/api/v1/licenses?metadata[a[b]]=x", key, 422, "metadata"},
			{"/api/v1/project/" + id(c.p1) + "/licenses?metadata[plan]=" + strings.Repeat("x", 501), key, 422, "metadata.plan"},
			{"/api/v1/licenses?q=" + strings.Repeat("x", 256), key, 422, "q"},
			{"/api/v1/licenses?external_id=a%00b", key, 422, "external_id"},
			{"/api/v1/project/" + id(c.p1) + "/licenses?customer_email=a%FFb", key, 422, "customer_email"},
		}
		for _, tc := range refused {
			r := c.n.Do(t, "GET", tc.path, nil, tc.key...)
			if r.Status != tc.status || (tc.field != "" && len(r.Env.Errors[tc.field]) == 0) {
				t.Errorf("GET %s: %d %s, want %d naming %q", tc.path, r.Status, r.Body, tc.status, tc.field)
			}
		}
		readOnly := titles(c.n.Do(t, "GET", "/api/v1/licenses?metadata[plan]=gold", nil, apptest.Key(c.readOnly)...))
		if len(readOnly) != 2 {
			t.Errorf("read-only key: %q", readOnly)
		}
	})
}

// TestLicenseFilterCursor: a cursor continues its own search only.
func TestLicenseFilterCursor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		for i := range 3 {
			decodeLicense(t, c.n.Do(t, "POST", "/api/v1/project/"+id(c.p1)+"/licenses", map[string]any{"title": "Paged " + id(int64(i)),
				"metadata": map[string]string{"batch": "x"}}, key...), 201)
		}
		for _, base := range []string{"/api/v1/project/" + id(c.p1) + "/licenses", "/api/v1/licenses"} {
			first := c.n.Do(t, "GET", base+"?metadata[batch]=x&per_page=2", nil, key...)
			var pg struct {
				Data       []businessView `json:"data"`
				NextCursor *string        `json:"next_cursor"`
			}
			first.Decode(t, &pg)
			if len(pg.Data) != 2 || pg.NextCursor == nil {
				t.Fatalf("%s: first page %s", base, first.Body)
			}
			cur := url.QueryEscape(*pg.NextCursor)
			second := c.n.Do(t, "GET", base+"?per_page=2&metadata%5Bbatch%5D=x&cursor="+cur, nil, key...)
			second.Decode(t, &pg)
			if second.Status != 200 || len(pg.Data) != 1 || pg.Data[0].Title != "Paged 0" {
				t.Fatalf("%s: second page %s", base, second.Body)
			}
			for _, other := range []string{"metadata[batch]=y", "q=paged", "metadata[batch]=x&q=p", "", "project_id=" + id(c.p1)} {
				if base != "/api/v1/licenses" && strings.HasPrefix(other, "project_id") {
					continue
				}
				if r := c.n.Do(t, "GET", base+"?cursor="+cur+"&"+other, nil, key...); r.Status != 422 || len(r.Env.Errors["cursor"]) == 0 {
					t.Errorf("%s: the cursor continued ?%s: %d %s", base, other, r.Status, r.Body)
				}
			}
		}
	})
}

// TestLicenseListCacheByQuery: the cached per-project list is keyed by
// its query, and a write makes every filtered entry stale.
func TestLicenseListCacheByQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		base := "/api/v1/project/" + id(c.p1) + "/licenses"
		count := func(q string) int {
			t.Helper()
			var pg struct {
				Data []businessView `json:"data"`
			}
			c.n.Do(t, "GET", base+"?"+q, nil, key...).Decode(t, &pg)
			return len(pg.Data)
		}
		if count("metadata[plan]=gold") != 0 || count("metadata[plan]=silver") != 0 {
			t.Fatal("unexpected licenses")
		}
		r := c.n.Do(t, "PATCH", base+"/"+id(c.lic1), map[string]any{"metadata": map[string]string{"plan": "gold"}}, key...)
		if r.Status != 200 {
			t.Fatal(r.Status)
		}
		for range 2 { // the second read is served by the cache
			if count("metadata[plan]=gold") != 1 || count("metadata[plan]=silver") != 0 || count("") != 1 {
				t.Fatal("the cached list ignored the query or the write")
			}
		}
	})
}

// TestRenewLicense renews from the expiry, from now and without an
// expiry; each renewal is audited and announced.
func TestRenewLicense(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		key := apptest.Key(c.key)
		ctx := context.Background()
		base := "/api/v1/project/" + id(c.p1) + "/licenses"
		day := 24 * time.Hour
		at := func(d time.Duration) string { return c.n.Clock.Now().Add(d).UTC().Format("2006-01-02T15:04:05") }
		l := decodeLicense(t, c.n.Do(t, "POST", base, map[string]any{"title": "Renewable", "expires_in": "10d"}, key...), 201)
		renew := base + "/" + id(l.ID) + "/renew"
		steps := []struct {
			name    string
			body    any
			advance time.Duration
			status  int
			field   string
			expiry  time.Duration // from the clock after advancing
		}{
			{"from expiry", map[string]any{"duration": "30d"}, 0, 200, "", 40 * day},
			{"explicit from expiry, seconds", map[string]any{"duration": 86400, "from": "expiry"}, 0, 200, "", 41 * day},
			{"from now", map[string]any{"duration": "1d", "from": "now"}, 0, 200, "", day},
			// Expired: from expiry counts from now, and it validates again.
			{"expired from expiry", map[string]any{"duration": "2w"}, 2 * day, 200, "", 14 * day},
			{"no duration", map[string]any{}, 0, 422, "duration", 0},
			{"bad duration", map[string]any{"duration": "1mo"}, 0, 422, "duration", 0},
			{"duration object", map[string]any{"duration": map[string]any{}}, 0, 422, "duration", 0},
			{"bad from", map[string]any{"duration": "1d", "from": "later"}, 0, 422, "from", 0},
		}
		for _, s := range steps {
			c.n.Clock.Advance(s.advance)
			r := c.n.Do(t, "POST", renew, s.body, key...)
			if s.status != 200 {
				if r.Status != s.status || len(r.Env.Errors[s.field]) == 0 {
					t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
				}
				continue
			}
			v := decodeLicense(t, r, 200)
			if r.Env.Message != "License renewed successfully." || !strings.HasPrefix(str(v.ExpiresAt), at(s.expiry)) || !v.IsActive {
				t.Fatalf("%s: %s (want expiry %s)", s.name, r.Body, at(s.expiry))
			}
		}
		// Without an expiry: from=expiry is refused, from=now gives one.
		r := c.n.Do(t, "POST", base+"/"+id(c.lic1)+"/renew", map[string]any{"duration": "1y"}, key...)
		if r.Status != 422 || !strings.Contains(strings.Join(r.Env.Errors["from"], ""), "does not expire: send from=now") {
			t.Fatalf("no expiry: %d %s", r.Status, r.Body)
		}
		v := decodeLicense(t, c.n.Do(t, "POST", base+"/"+id(c.lic1)+"/renew", map[string]any{"duration": "1y", "from": "now"}, key...), 200)
		if !strings.HasPrefix(str(v.ExpiresAt), at(365*day)) {
			t.Fatalf("no expiry, from now: %+v", v)
		}
		// Access: another project's license, a read-only key.
		if r := c.n.Do(t, "POST", "/api/v1/project/"+id(c.p2)+"/licenses/"+id(l.ID)+"/renew", map[string]any{"duration": "1d"}, key...); r.Status != 403 {
			t.Fatalf("another project's license: %d %s", r.Status, r.Body)
		}
		if r := c.n.Do(t, "POST", renew, map[string]any{"duration": "1d"}, apptest.Key(c.readOnly)...); r.Status != 403 {
			t.Fatalf("read-only key: %d %s", r.Status, r.Body)
		}
		evs, err := c.n.Store.ListEvents(ctx, core.EventFilter{OrgID: c.owner.OrgID, Type: "license.renewed", Limit: 10})
		if err != nil || len(evs) != 5 {
			t.Fatalf("license.renewed events: %d, %v", len(evs), err)
		}
		var data struct {
			Previous map[string]any `json:"previous"`
		}
		if err := json.Unmarshal(evs[0].Data, &data); err != nil || !slices.Contains(mapKeys(data.Previous), "expires_at") ||
			data.Previous["expires_at"] != nil {
			t.Fatalf("newest renewal previous: %s", evs[0].Data)
		}
		audits, err := c.n.Store.ListAudit(ctx, core.AuditFilter{OrgID: c.owner.OrgID, Action: "license.renew", Limit: 10})
		if err != nil || len(audits) != 5 {
			t.Fatalf("license.renew audit events: %d, %v", len(audits), err)
		}
		var details map[string]any
		if err := json.Unmarshal(audits[0].Details, &details); err != nil || details["from"] != nil ||
			details["renew_from"] != "now" || details["to"] == nil || !slices.Contains(mapKeys(details), "from") {
			t.Fatalf("audit details: %s", audits[0].Details)
		}
	})
}

func mapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
