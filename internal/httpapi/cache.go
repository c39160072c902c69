package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
)

// respCache keeps rendered management reads (show and list under a
// project), as DevPayr documents (15 minutes), but never serves one after a
// write: every write under a project publishes core.ChangeCatalog for it,
// synchronously on this node and through the change feed on the others,
// and entries are tagged with it (core.CatalogDeps).
//
// Only 200 answers are kept, and an entry is keyed by everything the
// service's decision to answer 200 used: the organization, the project the
// key is bound to (0: none), the key's effective scopes (its own ∩ its
// owner's current role), whether it is a test key, the path and the query. A request that presents
// the same of these gets the answer the service would give it, so keys of
// one owner share entries, and the service stays the one place that
// decides: a miss runs the handler, and a hit is a request whose decision
// is already known.
type respCache struct {
	c *cache.Cache[respKey, []byte]
}

type respKey struct {
	org, binding int64
	scopes       core.ScopeSet
	// testMode: a test key sees only test licenses (issue 15), so it
	// never shares an entry with a live key of the same owner and scopes.
	testMode    bool
	path, query string
}

// maxRespBytes bounds the rendered bodies kept: clients choose query
// strings, so the bound is on bytes, not entries, and a body is cheap to
// render again.
const maxRespBytes = 16 << 20

func newRespCache(set *cache.Set, ttl time.Duration, now func() time.Time) *respCache {
	return &respCache{cache.NewIn(set, cache.Config[respKey, []byte]{Name: "response", MaxBytes: maxRespBytes, TTL: ttl, Now: now,
		Weigh: func(k respKey, body []byte) uint32 {
			return uint32(min(len(body)+len(k.path)+len(k.query)+48, 1<<30))
		}})}
}

// recorder captures a handler's response so it can be cached.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

// cached serves a read under /project/{project} from the cache when it
// can, and fills the cache with successful answers.
func (h *api) cached(scope core.Scope, f handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a := actorFrom(r)
		project, err := strconv.ParseInt(r.PathValue("project"), 10, 64)
		if err != nil || a == nil || !a.Can(scope) {
			return f(w, r)
		}
		k := respKey{org: a.OrgID, binding: a.ProjectID, scopes: a.Scopes, testMode: a.TestMode, path: r.URL.Path, query: r.URL.RawQuery}
		if body, ok := h.cache.c.Get(k); ok {
			writeBody(w, http.StatusOK, body)
			return nil
		}
		t := h.cache.c.Begin()
		rec := &recorder{header: http.Header{}}
		if err := f(rec, r); err != nil {
			return err
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		body := rec.body.Bytes()
		if rec.status == http.StatusOK && len(body) <= maxRespBytes/16 {
			h.cache.c.Put(t, k, bytes.Clone(body), core.CatalogDeps(project)...)
		}
		writeBody(w, rec.status, body)
		return nil
	}
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	setJSONHeaders(w.Header(), len(body))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
