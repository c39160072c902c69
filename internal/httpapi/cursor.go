package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
)

// cursors encodes keyset positions as opaque tokens in DevPayr's style
// (base64url JSON without padding), signed so that a forged or edited
// cursor, or one taken from another listing, is refused with 422 instead of
// leaking rows or failing deeper down.
type cursors struct {
	key []byte
}

type cursorBody struct {
	ID   int64  `json:"id"`
	Next bool   `json:"_pointsToNextItems"`
	Sig  string `json:"s"`
}

func (c cursors) sign(list string, id int64) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(list + "\x00" + strconv.FormatInt(id, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// encode returns the cursor that continues list after id.
func (c cursors) encode(list string, id int64) string {
	b, _ := json.Marshal(cursorBody{ID: id, Next: true, Sig: c.sign(list, id)})
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = core.Invalid("cursor", "The cursor is invalid or does not belong to this listing.")

// decode returns the position a cursor of list points at; an empty cursor
// is 0 (the start).
func (c cursors) decode(list, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		// Tolerate padded base64 from clients that re-encode.
		if raw, err = base64.URLEncoding.DecodeString(s); err != nil {
			return 0, errBadCursor
		}
	}
	var b cursorBody
	if err := json.Unmarshal(raw, &b); err != nil || b.ID <= 0 {
		return 0, errBadCursor
	}
	if !hmac.Equal([]byte(b.Sig), []byte(c.sign(list, b.ID))) {
		return 0, errBadCursor
	}
	return b.ID, nil
}

// page is DevPayr's paginator object.
type page struct {
	Data       any     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	// HasMore says whether next_cursor leads to another page, for clients
	// that test a boolean (Stripe's has_more).
	HasMore bool   `json:"has_more"`
	PerPage int    `json:"per_page"`
	Path    string `json:"path"`
}

// perPage reads per_page with DevPayr's default and maximum; out-of-range
// values are clamped, garbage means the default (SDKs send it everywhere).
func perPage(r *http.Request, def, max int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("per_page"))
	if err != nil || n < 1 {
		return def
	}
	return min(n, max)
}

// itemIDs reads the project ID and the ID of the named item within it, in
// that order, so a bad project ID answers first.
func itemIDs(r *http.Request, name, what string) (project, id int64, err error) {
	if project, err = pathID(r, "project", "Project"); err != nil {
		return 0, 0, err
	}
	if id, err = pathID(r, name, what); err != nil {
		return 0, 0, err
	}
	return project, id, nil
}

// pathID reads a numeric path value; anything else is 404, as DevPayr's
// integer route constraints answer.
func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, core.NotFound(what)
	}
	return id, nil
}

// LicenseListCursor returns the cursor that lists a project's licenses
// from just below beforeID, signed with cursorKey (the instance secret's
// "cursor" key). The benchmark uses it to start deep in a large project.
func LicenseListCursor(cursorKey []byte, projectID, beforeID int64) string {
	return cursors{key: cursorKey}.encode("licenses/"+strconv.FormatInt(projectID, 10)+"//", beforeID)
}

// respondPage answers a list fetched with one item more than n: the first
// n items rendered, and a cursor after the last of them when there was
// more.
func respondPage[T, V any](h *api, w http.ResponseWriter, r *http.Request, list string, items []T, n int,
	id func(*T) int64, render func(*T) V) error {
	var next *string
	if len(items) > n {
		items = items[:n]
		c := h.cursors.encode(list, id(&items[n-1]))
		next = &c
	}
	out := make([]V, len(items))
	for i := range items {
		out[i] = render(&items[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}
