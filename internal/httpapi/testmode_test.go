package httpapi_test

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// testModeFixture is a paid project (newRuntime's) with a live key and a
// test key of the same owner and scopes, so that only the mode differs.
type testModeFixture struct {
	rt         *runtime
	live, test string
	n          int // licenses made, for unique titles
}

func newTestModeFixture(t *testing.T, b storetest.Backend) *testModeFixture {
	t.Helper()
	rt := newRuntime(t, b)
	f := &testModeFixture{rt: rt}
	_, f.live = rt.n.CreateKey(t, rt.owner, service.KeyInput{Name: "live"})
	_, f.test = rt.n.CreateKey(t, rt.owner, service.KeyInput{Name: "test", Env: core.EnvTest})
	if !strings.HasPrefix(f.test, "sk_test_") {
		t.Fatalf("test key %q", f.test)
	}
	return f
}

// license makes a license of the given mode holding up to two seats (and
// domains, so that activations are kept), and
// validates it once by heartbeat, so that it has an activation and a seat.
// The runtime answer is asserted the same for test and live licenses.
func (f *testModeFixture) license(t *testing.T, test bool) (l *core.License, activation, seat int64) {
	t.Helper()
	f.n++
	two := int64(2)
	ctx := context.Background()
	l, err := f.rt.n.Service().CreateLicense(ctx, f.rt.owner.Actor(), f.rt.paid, service.LicenseInput{
		Title: service.Some("cell " + strconv.Itoa(f.n)), IsTestLicense: service.Some(test), MaxConcurrent: service.Some(&two), MaxDomains: service.Some(&two)})
	if err != nil {
		t.Fatal(err)
	}
	f.wantValid(t, l)
	// A test license validates on local hosts only, which are not
	// activations: it has none (activation 0).
	acts, err := f.rt.n.Store.ListActivationPage(ctx, core.ActivationFilter{LicenseID: l.ID})
	if err != nil || len(acts) != map[bool]int{false: 1, true: 0}[test] {
		t.Fatalf("activations %v %v", acts, err)
	}
	if len(acts) == 0 {
		return l, 0, seats0(t, f, l.ID)
	}
	return l, acts[0].ID, seats0(t, f, l.ID)
}

func seats0(t *testing.T, f *testModeFixture, license int64) int64 {
	t.Helper()
	seats, err := f.rt.n.Store.ListSeats(context.Background(), license, f.rt.n.Clock.Now())
	if err != nil || len(seats) != 1 {
		t.Fatalf("seats %v %v", seats, err)
	}
	return seats[0].ID
}

// wantValid asserts that runtime validation (DevPayr's, then a heartbeat)
// passes for l, test or live, on a domain of its environment: test mode
// is a management rule, never a runtime one. A test license keeps
// its rule of local and .test hosts only (licensing.Decide).
func (f *testModeFixture) wantValid(t *testing.T, l *core.License) {
	t.Helper()
	host := "shop.example.com"
	if l.IsTestLicense {
		host = "shop.test"
		r := f.rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", "shop.example.com")
		if r.Status != 403 || r.Env.Code != "ENVIRONMENT_MISMATCH" {
			t.Fatalf("a test license on a production domain: %d %s", r.Status, r.Body)
		}
	}
	r := f.rt.n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", host)
	if r.Status != 200 {
		t.Fatalf("runtime validation of %q (test %v): %d %s", l.Title, l.IsTestLicense, r.Status, r.Body)
	}
	r = f.rt.n.Do(t, "POST", "/api/v1/licenses/heartbeat", `{"instance":"a"}`, "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", host)
	var a heartbeatAnswer
	if r.Status == 200 {
		r.Decode(t, &a)
	}
	if r.Status != 200 || !a.Valid || a.Code != "VALID" {
		t.Fatalf("heartbeat of %q (test %v): %d %s", l.Title, l.IsTestLicense, r.Status, r.Body)
	}
}

// snapshot is everything a management route could change about a license.
type snapshot struct {
	license *core.License
	acts    []core.Activation
	seats   []core.Seat
}

func (f *testModeFixture) snapshot(t *testing.T, id int64) snapshot {
	t.Helper()
	ctx := context.Background()
	l, err := f.rt.n.Store.License(ctx, id)
	if err != nil {
		t.Fatalf("license %d: %v", id, err)
	}
	acts, err := f.rt.n.Store.ListActivationPage(ctx, core.ActivationFilter{LicenseID: id})
	if err != nil {
		t.Fatal(err)
	}
	seats, err := f.rt.n.Store.ListSeats(ctx, id, f.rt.n.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{l, acts, seats}
}

// TestTestModeIsolation is the isolation matrix of issue 15: every route on
// one license × a live and a test key × a live and a test license. A test
// key gets 404 "License not found." for a live license, and nothing about
// it changes; every other cell gets the route's own answer.
func TestTestModeIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newTestModeFixture(t, b)
		type cell struct{ path, act, seat string }
		routes := []struct {
			name, method string
			path         func(c cell) string
			body         any
			want         int // for a visible license
		}{
			{"show", "GET", func(c cell) string { return c.path }, nil, 200},
			{"update PATCH", "PATCH", func(c cell) string { return c.path }, map[string]any{"max_domains": 5}, 200},
			{"update PUT", "PUT", func(c cell) string { return c.path }, map[string]any{"max_domains": 6}, 200},
			{"delete", "DELETE", func(c cell) string { return c.path }, nil, 200},
			{"revoke", "POST", func(c cell) string { return c.path + "/revoke" }, nil, 200},
			{"suspend", "POST", func(c cell) string { return c.path + "/suspend" }, nil, 200},
			{"reactivate", "POST", func(c cell) string { return c.path + "/reactivate" }, nil, 403}, // active: INVALID_STATE
			{"renew", "POST", func(c cell) string { return c.path + "/renew" }, map[string]any{"duration": "30d", "from": "now"}, 200},
			{"seats", "GET", func(c cell) string { return c.path + "/seats" }, nil, 200},
			{"delete seat", "DELETE", func(c cell) string { return c.path + "/seats/" + c.seat }, nil, 200},
			{"activations", "GET", func(c cell) string { return c.path + "/activations" }, nil, 200},
			{"delete activation", "DELETE", func(c cell) string { return c.path + "/activations/" + c.act }, nil, 200},
		}
		base := "/api/v1/project/" + id(f.rt.paid) + "/licenses/"
		for _, rc := range routes {
			for _, key := range []struct {
				name   string
				secret string
				test   bool
			}{{"live key", f.live, false}, {"test key", f.test, true}} {
				for _, testLicense := range []bool{false, true} {
					name := rc.name + "/" + key.name + "/live license"
					if testLicense {
						name = rc.name + "/" + key.name + "/test license"
					}
					t.Run(name, func(t *testing.T) {
						l, act, seat := f.license(t, testLicense)
						c := cell{path: base + id(l.ID), act: id(act), seat: id(seat)}
						before := f.snapshot(t, l.ID)
						// The live key reads first, so that a cached answer
						// would be there for the test key to be served.
						wantStatus(t, f.rt.n.Do(t, "GET", c.path, nil, apptest.Key(f.live)...), 200)
						r := f.rt.n.Do(t, rc.method, rc.path(c), rc.body, apptest.Key(key.secret)...)
						if key.test && !testLicense {
							wantStatus(t, r, 404)
							if r.Env.Message != "License not found." {
								t.Fatalf("message %q", r.Env.Message)
							}
							if after := f.snapshot(t, l.ID); !reflect.DeepEqual(before, after) {
								t.Fatalf("a test key changed a live license:\nbefore %+v\nafter  %+v", before, after)
							}
							f.wantValid(t, l)
							return
						}
						want := rc.want
						if rc.name == "delete activation" && act == 0 {
							want = 404 // a test license has no activation
							if r.Env.Message == "License not found." {
								t.Fatalf("the license is hidden: %s", r.Body)
							}
						}
						wantStatus(t, r, want)
						if rc.want == 403 && r.Env.Code != core.ReasonInvalidState {
							t.Fatalf("code %q: %s", r.Env.Code, r.Body)
						}
					})
				}
			}
		}
	})
}

// TestTestModeLists runs every license list and bulk action with each key
// and ?mode: a test key lists and changes test licenses only, a live key
// both, narrowed by mode.
func TestTestModeLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newTestModeFixture(t, b)
		live, _, _ := f.license(t, false)
		test, _, _ := f.license(t, true)
		for _, base := range []string{
			"/api/v1/project/" + id(f.rt.paid) + "/licenses?per_page=50",
			"/api/v1/licenses?per_page=50",
			"/api/v1/licenses?per_page=50&project_id=" + id(f.rt.paid),
		} {
			// newRuntime's own licenses are in the lists too (one of them
			// a test license): the expected lists are the live key's,
			// split by mode.
			var liveIDs, testIDs []int64
			for _, l := range f.list(t, base, f.live) {
				if l.IsTest {
					testIDs = append(testIDs, l.ID)
				} else {
					liveIDs = append(liveIDs, l.ID)
				}
			}
			if !slices.Contains(liveIDs, live.ID) || !slices.Contains(testIDs, test.ID) || slices.Contains(liveIDs, test.ID) {
				t.Fatalf("%s: live %v, test %v", base, liveIDs, testIDs)
			}
			all := append(slices.Clone(liveIDs), testIDs...)
			for _, tc := range []struct {
				key, mode string
				want      []int64
			}{
				{f.live, "", all},
				{f.live, "live", liveIDs},
				{f.live, "test", testIDs},
				{f.test, "", testIDs},
				{f.test, "test", testIDs},
				{f.test, "live", nil}, // the filter narrows, never widens
			} {
				path := base
				if tc.mode != "" {
					path += "&mode=" + tc.mode
				}
				// Twice: the second answer may come from the response cache.
				for range 2 {
					if got := f.listIDs(t, path, tc.key); !sameIDs(got, tc.want) {
						t.Fatalf("%s with the %s key: %v, want %v", path, keyName(f, tc.key), got, tc.want)
					}
				}
			}
		}
		r := f.rt.n.Do(t, "GET", "/api/v1/licenses?mode=staging", nil, apptest.Key(f.live)...)
		wantStatus(t, r, 422, `"mode":["The selected mode is invalid: use live or test."]`)

		// Bulk: a dry run counts, a real run changes, only what the key sees.
		bulk := "/api/v1/project/" + id(f.rt.paid) + "/licenses/bulk"
		both := []int64{live.ID, test.ID} // the fixture's other licenses left out
		for _, tc := range []struct {
			filter map[string]any
			want   int
		}{{map[string]any{"ids": both}, 1}, {map[string]any{"ids": both, "mode": "test"}, 1},
			{map[string]any{"ids": both, "mode": "live"}, 0}, {map[string]any{"ids": []int64{live.ID}}, 0}} {
			r := f.rt.n.Do(t, "POST", bulk, map[string]any{"action": "suspend", "dry_run": true, "filter": tc.filter}, apptest.Key(f.test)...)
			wantStatus(t, r, 200, `"count":`+strconv.Itoa(tc.want)+`,`)
		}
		before := f.snapshot(t, live.ID)
		r = f.rt.n.Do(t, "POST", bulk, map[string]any{"action": "suspend", "filter": map[string]any{"ids": both}}, apptest.Key(f.test)...)
		wantStatus(t, r, 200, `"count":1,`)
		if after := f.snapshot(t, live.ID); !reflect.DeepEqual(before, after) {
			t.Fatalf("a test key's bulk action changed a live license")
		}
		if l := f.snapshot(t, test.ID).license; l.Status != core.LicenseSuspended {
			t.Fatalf("the test license is %s", l.Status)
		}
		r = f.rt.n.Do(t, "POST", bulk, map[string]any{"action": "suspend", "dry_run": true, "filter": map[string]any{"ids": both, "mode": "test"}},
			apptest.Key(f.live)...)
		wantStatus(t, r, 200, `"count":0,`) // the test license is suspended already
		r = f.rt.n.Do(t, "POST", bulk, map[string]any{"action": "suspend", "dry_run": true, "filter": map[string]any{"mode": "paid"}},
			apptest.Key(f.live)...)
		wantStatus(t, r, 422, `"filter.mode":["The selected filter.mode is invalid: use live or test."]`)
	})
}

func keyName(f *testModeFixture, secret string) string {
	if secret == f.test {
		return "test"
	}
	return "live"
}

type modeView struct {
	ID     int64 `json:"id"`
	IsTest bool  `json:"is_test_license"`
}

func (f *testModeFixture) list(t *testing.T, path, key string) []modeView {
	t.Helper()
	r := f.rt.n.Do(t, "GET", path, nil, apptest.Key(key)...)
	wantStatus(t, r, 200)
	var page struct {
		Data []modeView `json:"data"`
	}
	r.Decode(t, &page)
	return page.Data
}

func (f *testModeFixture) listIDs(t *testing.T, path, key string) []int64 {
	t.Helper()
	var ids []int64
	for _, l := range f.list(t, path, key) {
		ids = append(ids, l.ID)
	}
	return ids
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestTestModeWrites: a test key's license is a test license whatever the
// body says, may not be made live, and projects, domains and injectables
// are read-only to a test key (403 TEST_MODE_READ_ONLY, nothing written).
func TestTestModeWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newTestModeFixture(t, b)
		n, p := f.rt.n, id(f.rt.paid)
		type flag struct {
			ID     int64 `json:"id"`
			IsTest bool  `json:"is_test_license"`
		}
		for _, body := range []map[string]any{{"title": "T1"}, {"title": "T2", "is_test_license": false}, {"title": "T3", "is_test_license": true}} {
			r := n.Do(t, "POST", "/api/v1/project/"+p+"/licenses", body, apptest.Key(f.test)...)
			wantStatus(t, r, 201)
			var v flag
			r.Decode(t, &v)
			if !v.IsTest {
				t.Fatalf("%v by a test key made a live license: %s", body, r.Body)
			}
			if l := f.snapshot(t, v.ID).license; !l.IsTestLicense {
				t.Fatalf("stored live: %+v", l)
			}
		}
		l, _, _ := f.license(t, true)
		path := "/api/v1/project/" + p + "/licenses/" + id(l.ID)
		r := n.Do(t, "PATCH", path, map[string]any{"is_test_license": false, "title": "made live"}, apptest.Key(f.test)...)
		wantStatus(t, r, 422, `"is_test_license":["The is test license field cannot be false with a test API key`)
		if got := f.snapshot(t, l.ID).license; !got.IsTestLicense || got.Title != l.Title {
			t.Fatalf("written: %+v", got)
		}
		wantStatus(t, n.Do(t, "PATCH", path, map[string]any{"is_test_license": true}, apptest.Key(f.test)...), 200)
		// A live key may make it live; then the test key no longer sees it.
		wantStatus(t, n.Do(t, "PATCH", path, map[string]any{"is_test_license": false}, apptest.Key(f.live)...), 200)
		wantStatus(t, n.Do(t, "GET", path, nil, apptest.Key(f.test)...), 404)
		// The live key's own create keeps what the body says.
		r = n.Do(t, "POST", "/api/v1/project/"+p+"/licenses", map[string]any{"title": "L1"}, apptest.Key(f.live)...)
		var v flag
		r.Decode(t, &v)
		if r.Status != 201 || v.IsTest {
			t.Fatalf("live key's create: %s", r.Body)
		}

		ctx := context.Background()
		inj, err := n.Service().CreateInjectable(ctx, f.rt.owner.Actor(), f.rt.paid, service.InjectableInput{Type: service.Some("snippet"),
			Mode: service.Some("inject"), TargetPath: service.Some("a.js"), Secret: service.Some("0123456789abcdef0123456789abcdef"),
			Content: service.Some("x"), OnlyIfPaid: service.Some(false), IsActive: service.Some(true), Title: service.Some("snippet")})
		if err != nil {
			t.Fatal(err)
		}
		dom := id(f.rt.domains["shop.example.com"])
		pp, ip := "/api/v1/project/"+p, "/api/v1/project/"+p+"/injectables/"+id(inj.ID)
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1/project", map[string]any{"name": "New"}},
			{"PUT", pp, map[string]any{"name": "Renamed"}},
			{"PATCH", pp, map[string]any{"name": "Renamed"}},
			{"DELETE", pp, nil},
			{"POST", pp + "/domains", map[string]any{"domain": "new.example.com"}},
			{"PUT", pp + "/domains/" + dom, map[string]any{"domain": "other.example.com"}},
			{"PATCH", pp + "/domain/" + dom, map[string]any{"domain": "other.example.com"}},
			{"DELETE", pp + "/domains/" + dom, nil},
			{"POST", pp + "/injectables", map[string]any{"title": "new", "type": "snippet", "content": "x"}},
			{"PUT", ip, map[string]any{"title": "renamed"}},
			{"PATCH", ip, map[string]any{"title": "renamed"}},
			{"DELETE", ip, nil},
		} {
			r := n.Do(t, tc.method, tc.path, tc.body, apptest.Key(f.test)...)
			wantStatus(t, r, 403, "Test API keys cannot change projects, domains or injectables: use a live key.")
			if r.Env.Code != core.ReasonTestModeReadOnly {
				t.Fatalf("%s %s: code %q", tc.method, tc.path, r.Env.Code)
			}
		}
		// Reads are allowed, and nothing was written.
		for _, path := range []string{"/api/v1/projects", pp, pp + "/domains", pp + "/domains/" + dom, pp + "/injectables", ip} {
			r := n.Do(t, "GET", path, nil, apptest.Key(f.test)...)
			wantStatus(t, r, 200)
			if strings.Contains(string(r.Body), "Renamed") || strings.Contains(string(r.Body), "other.example.com") ||
				strings.Contains(string(r.Body), `"renamed"`) {
				t.Fatalf("%s: written: %s", path, r.Body)
			}
		}
		wantStatus(t, n.Do(t, "PUT", pp, map[string]any{"name": "Renamed"}, apptest.Key(f.live)...), 200)
	})
}

// A test key holding api_keys:write mints test keys only: a live key (new,
// or as a rotation's successor) would carry its holder to every live
// license.
func TestTestModeKeysMintTestKeysOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newTestModeFixture(t, b)
		n := f.rt.n
		const refused = "Test API keys can only create and rotate test keys: use a live key."
		r := n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "child", "env": "live"}, apptest.Key(f.test)...)
		wantStatus(t, r, 403, refused)
		if r.Env.Code != core.ReasonTestModeReadOnly {
			t.Fatalf("code %q", r.Env.Code)
		}
		// Without an env, a test key's key is a test key.
		r = n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "child"}, apptest.Key(f.test)...)
		wantStatus(t, r, 201, `"sk_test_`)
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "child", "env": "test"}, apptest.Key(f.test)...), 201)
		// Rotating a live key would mint its live successor.
		live, _ := n.CreateKey(t, f.rt.owner, service.KeyInput{Name: "another live"})
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys/"+id(live.ID)+"/rotate", nil, apptest.Key(f.test)...), 403, refused)
		after := n.Do(t, "GET", "/api/v1/api-keys/"+id(live.ID), nil, apptest.Key(f.live)...)
		wantStatus(t, after, 200, `"status":"active"`)
		if strings.Contains(string(after.Body), `"rotated_to"`) && !strings.Contains(string(after.Body), `"rotated_to":null`) {
			t.Fatalf("the refused rotation retired the key: %s", after.Body)
		}
		// A live key may mint live keys.
		wantStatus(t, n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "child", "env": "live"}, apptest.Key(f.live)...), 201, `"sk_live_`)
	})
}
