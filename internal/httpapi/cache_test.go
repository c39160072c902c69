package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
)

// respFixture runs cached reads of one project through a counting handler.
type respFixture struct {
	set   *cache.Set
	h     *api
	calls int
	// during runs inside the handler, after it rendered its answer: where
	// a write on another request would land.
	during func()
}

func newRespFixture() *respFixture {
	f := &respFixture{set: &cache.Set{}}
	f.h = &api{cache: newRespCache(f.set, time.Hour, time.Now)}
	return f
}

func (f *respFixture) get(t *testing.T, a *core.Actor) string {
	t.Helper()
	handler := f.h.cached(core.ScopeLicensesRead, func(w http.ResponseWriter, r *http.Request) error {
		f.calls++
		_, _ = w.Write([]byte(strconv.Itoa(f.calls)))
		if f.during != nil {
			d := f.during
			f.during = nil
			d()
		}
		return nil
	})
	r := httptest.NewRequest("GET", "/api/v1/project/7/licenses", nil)
	r.SetPathValue("project", "7")
	r = r.WithContext(context.WithValue(r.Context(), actorKey{}, a))
	w := httptest.NewRecorder()
	if err := handler(w, r); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

func TestResponseCacheRacingAWrite(t *testing.T) {
	a := &core.Actor{Type: core.ActorAPIKey, OrgID: 1, KeyID: 10, Scopes: core.NewScopeSet(core.ScopeLicensesRead)}
	f := newRespFixture()
	f.during = func() { f.set.Invalidate(core.Change{Kind: core.ChangeCatalog, ID: 7}) }
	if got := f.get(t, a); got != "1" {
		t.Fatalf("first read = %q", got)
	}
	if got := f.get(t, a); got != "2" {
		t.Fatalf("the answer rendered before the write was cached: %q", got)
	}
	if got := f.get(t, a); got != "2" {
		t.Fatalf("a fresh answer was not cached: %q", got)
	}
	f.set.Invalidate(core.Change{Kind: core.ChangeCatalog, ID: 8})
	if got := f.get(t, a); got != "2" {
		t.Fatalf("another project's write dropped this one's reads: %q", got)
	}
	f.set.Invalidate(core.Change{Kind: core.ChangeProject, ID: 7})
	if got := f.get(t, a); got != "3" {
		t.Fatalf("a change to the project left its reads cached: %q", got)
	}
}

// The cache key carries everything the service's decision used: keys that
// present the same organization, binding and effective scopes share an
// answer; any difference is a separate entry.
func TestResponseCacheKey(t *testing.T) {
	read := core.NewScopeSet(core.ScopeLicensesRead)
	base := core.Actor{Type: core.ActorAPIKey, OrgID: 1, KeyID: 10, Scopes: read}
	tests := []struct {
		name   string
		mutate func(a *core.Actor)
		shares bool
	}{
		{"another key of the same rights", func(a *core.Actor) { a.KeyID = 11; a.UserID = 5 }, true},
		{"another organization", func(a *core.Actor) { a.OrgID = 2 }, false},
		{"bound to the project", func(a *core.Actor) { a.ProjectID = 7 }, false},
		{"more scopes", func(a *core.Actor) { a.Scopes = core.NewScopeSet(core.ScopeLicensesRead, core.ScopeLicensesWrite) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newRespFixture()
			a := base
			f.get(t, &a)
			b := base
			tc.mutate(&b)
			want := "2"
			if tc.shares {
				want = "1"
			}
			if got := f.get(t, &b); got != want {
				t.Fatalf("second actor got %q, want %q", got, want)
			}
		})
	}
	// Without the route's scope the handler decides (and refuses).
	f := newRespFixture()
	a := base
	f.get(t, &a)
	none := base
	none.Scopes = core.NewScopeSet(core.ScopeProjectsRead)
	if got := f.get(t, &none); got != "2" {
		t.Fatalf("a key without the scope was served from the cache: %q", got)
	}
}
