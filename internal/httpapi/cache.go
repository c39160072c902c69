package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// respCache keeps rendered management reads (show and list under a
// project) per API key, path and query, as DevPayr documents (15 minutes),
// but never serves one after a write: every write under a project bumps the
// project's generation, synchronously on this node and through the change
// feed on the others, and an entry of an older generation is a miss.
//
// An entry is per API key, and a key's organization and project binding
// never change, so the access checks that produced a 200 still hold; the
// scope is checked again on every hit, since the owner's role may change.
type respCache struct {
	ttl      time.Duration
	now      func() time.Time
	maxBytes int
	bytes    int

	mu      sync.RWMutex
	global  uint64
	gens    map[int64]uint64
	entries map[respKey]respEntry
}

type respKey struct {
	keyID int64
	path  string
	query string
}

type respEntry struct {
	project int64
	gen     uint64
	global  uint64
	expires time.Time
	body    []byte
}

func newRespCache(ttl time.Duration, now func() time.Time) *respCache {
	// 8 MB of rendered bodies at most: clients choose query strings, so the
	// bound is on bytes, not entries, and a body is cheap to render again.
	return &respCache{ttl: ttl, now: now, maxBytes: 8 << 20, gens: map[int64]uint64{}, entries: map[respKey]respEntry{}}
}

// generation returns the current generations for a project.
func (c *respCache) generation(project int64) (uint64, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gens[project], c.global
}

func (c *respCache) get(k respKey, project int64) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	fresh := ok && e.project == project && e.gen == c.gens[project] && e.global == c.global && c.now().Before(e.expires)
	c.mu.RUnlock()
	if !fresh {
		return nil, false
	}
	return e.body, true
}

func (c *respCache) put(k respKey, project int64, gen, global uint64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gens[project] || global != c.global {
		return // a write happened while this read ran
	}
	size := len(body) + len(k.path) + len(k.query) + 128
	if size > c.maxBytes/16 {
		return // one huge page is not worth a sixteenth of the cache
	}
	if old, ok := c.entries[k]; ok {
		c.bytes -= len(old.body) + len(k.path) + len(k.query) + 128
	}
	// Forget arbitrary entries until the new one fits: cheap, and this is a
	// cache, not a store.
	for key, e := range c.entries {
		if c.bytes+size <= c.maxBytes {
			break
		}
		delete(c.entries, key)
		c.bytes -= len(e.body) + len(key.path) + len(key.query) + 128
	}
	c.entries[k] = respEntry{project: project, gen: gen, global: global, expires: c.now().Add(c.ttl), body: body}
	c.bytes += size
}

// Invalidate makes the reads a change touches stale.
func (c *respCache) Invalidate(ch core.Change) {
	switch ch.Kind {
	case core.ChangeCatalog, core.ChangeProject:
		c.mu.Lock()
		c.gens[ch.ID]++
		c.mu.Unlock()
	case core.ChangeAll:
		c.mu.Lock()
		c.global++
		clear(c.entries)
		c.bytes = 0
		c.mu.Unlock()
	}
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
		k := respKey{keyID: a.KeyID, path: r.URL.Path, query: r.URL.RawQuery}
		if body, ok := h.cache.get(k, project); ok {
			writeBody(w, http.StatusOK, body)
			return nil
		}
		gen, global := h.cache.generation(project)
		rec := &recorder{header: http.Header{}}
		if err := f(rec, r); err != nil {
			return err
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		body := rec.body.Bytes()
		if rec.status == http.StatusOK {
			h.cache.put(k, project, gen, global, bytes.Clone(body))
		}
		writeBody(w, rec.status, body)
		return nil
	}
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
