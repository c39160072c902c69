package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestRetiredKeyExpiryIsFinal: a rotated key's expiry is set by its rotation
// and an expired key stays expired. Neither the leaked old secret nor anyone
// else may move it; otherwise rotation and expiry would not end anything.
func TestRetiredKeyExpiryIsFinal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		keyPath := func(id int64) string { return "/api/v1/api-keys/" + strconv.FormatInt(id, 10) }
		future := n.Clock.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)

		rotated, oldSecret := n.CreateKey(t, f.owner, service.KeyInput{Name: "rotated"})
		wantStatus(t, n.Do(t, "POST", keyPath(rotated.ID)+"/rotate", map[string]any{"grace_seconds": 600}, apptest.Key(f.ownerKey)...), 201)
		exp := n.Clock.Now().Add(time.Minute)
		expired, expiredSecret := n.CreateKey(t, f.owner, service.KeyInput{Name: "expiring", ExpiresAt: &exp})

		during := []struct {
			name   string
			key    string
			body   map[string]any
			status int
			want   string
		}{
			{"old secret clears its own expiry", oldSecret, map[string]any{"expires_at": nil}, 403, "ROTATED_KEY"},
			{"old secret extends its own expiry", oldSecret, map[string]any{"expires_at": future}, 403, "ROTATED_KEY"},
			{"owner extends the grace", f.ownerKey, map[string]any{"expires_at": future}, 409, "EXPIRY_FINAL"},
			{"owner clears the grace", f.ownerKey, map[string]any{"expires_at": nil}, 409, "EXPIRY_FINAL"},
		}
		for _, tc := range during {
			t.Run("grace/"+tc.name, func(t *testing.T) {
				r := n.Do(t, "PATCH", keyPath(rotated.ID), tc.body, apptest.Key(tc.key)...)
				wantStatus(t, r, tc.status, tc.want)
				if tc.status == 409 && len(r.Env.Errors["expires_at"]) != 1 {
					t.Fatalf("errors = %v", r.Env.Errors)
				}
			})
		}
		// Other fields of a key in its grace may still change.
		wantStatus(t, n.Do(t, "PATCH", keyPath(rotated.ID), map[string]any{"name": "renamed"}, apptest.Key(f.ownerKey)...), 200)
		// Nor can the old secret manage keys during its grace: minting a new
		// key, or changing or revoking its successor, would outlive the
		// rotation or lock its owner out.
		successor := rotated.ID + 1
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"create", "POST", "/api/v1/api-keys", map[string]any{"name": "escape"}},
			{"update the successor", "PATCH", keyPath(successor), map[string]any{"allowed_ips": "192.0.2.1"}},
			{"revoke the successor", "POST", keyPath(successor) + "/revoke", nil},
			{"rotate the successor", "POST", keyPath(successor) + "/rotate", nil},
			{"update itself", "PATCH", keyPath(rotated.ID), map[string]any{"name": "mine"}},
		} {
			t.Run("grace/old secret may not "+tc.name, func(t *testing.T) {
				wantStatus(t, n.Do(t, tc.method, tc.path, tc.body, apptest.Key(oldSecret)...), 403, "ROTATED_KEY")
			})
		}
		// It still reads, as the integrations it serves until the end of
		// the grace need.
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(oldSecret)...), 200)

		n.Clock.Advance(601 * time.Second)
		after := []struct {
			name string
			id   int64
			body map[string]any
		}{
			{"rotated, extend", rotated.ID, map[string]any{"expires_at": future}},
			{"rotated, clear", rotated.ID, map[string]any{"expires_at": nil}},
			{"expired, extend", expired.ID, map[string]any{"expires_at": future}},
			{"expired, clear", expired.ID, map[string]any{"expires_at": nil}},
		}
		for _, tc := range after {
			t.Run("after/"+tc.name, func(t *testing.T) {
				wantStatus(t, n.Do(t, "PATCH", keyPath(tc.id), tc.body, apptest.Key(f.ownerKey)...), 409, "EXPIRY_FINAL", "expires_at")
			})
		}
		for _, secret := range []string{oldSecret, expiredSecret} {
			wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(secret)...), 403, "Invalid or expired API key.")
		}
	})
}

// TestRevokeNeverBeyondOwnRights: a key may revoke only keys that hold no
// scope it lacks, as for update and rotate.
func TestRevokeNeverBeyondOwnRights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		_, narrow := n.CreateKey(t, f.owner, service.KeyInput{Name: "narrow", Scopes: []string{"api_keys:write"}})
		full, fullSecret := n.CreateKey(t, f.owner, service.KeyInput{Name: "full"})
		peer, _ := n.CreateKey(t, f.owner, service.KeyInput{Name: "peer", Scopes: []string{"api_keys:write"}})
		keyPath := func(id int64) string { return "/api/v1/api-keys/" + strconv.FormatInt(id, 10) }

		wantStatus(t, n.Do(t, "POST", keyPath(full.ID)+"/revoke", nil, apptest.Key(narrow)...), 403, "beyond your own rights")
		wantStatus(t, n.Do(t, "DELETE", keyPath(full.ID), nil, apptest.Key(narrow)...), 403, "beyond your own rights")
		wantStatus(t, n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(fullSecret)...), 200)
		// A key within the caller's rights may be revoked.
		wantStatus(t, n.Do(t, "POST", keyPath(peer.ID)+"/revoke", nil, apptest.Key(narrow)...), 200, `"status":"revoked"`)
		// A key with more rights may revoke it.
		wantStatus(t, n.Do(t, "DELETE", keyPath(full.ID), nil, apptest.Key(f.ownerKey)...), 200, `"status":"revoked"`)
	})
}

// TestMaxKeyRateLimit: no key may be given, or use, more requests per minute
// than --max-key-rate-limit, whoever sets it.
func TestMaxKeyRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b, func(c *config.Config) { c.KeyRateLimit = 5; c.MaxKeyRateLimit = 10 })
		n := f.n
		k, secret := n.CreateKey(t, f.owner, service.KeyInput{Name: "limited", RateLimit: 10})
		path := "/api/v1/api-keys/" + strconv.FormatInt(k.ID, 10)
		const msg = "The rate limit per minute field must be between 0 and 10."
		tests := []struct {
			name   string
			method string
			path   string
			body   map[string]any
			status int
		}{
			{"create above", "POST", "/api/v1/api-keys", map[string]any{"name": "fast", "rate_limit_per_minute": 11}, 422},
			{"create far above", "POST", "/api/v1/api-keys", map[string]any{"name": "fast", "rate_limit_per_minute": 1000000}, 422},
			{"update above", "PATCH", path, map[string]any{"rate_limit_per_minute": 11}, 422},
			{"own secret raises itself", "PATCH", path, map[string]any{"rate_limit_per_minute": 1000000}, 422},
			{"update at the ceiling", "PATCH", path, map[string]any{"rate_limit_per_minute": 10}, 200},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := countKeys(t, n, f.owner)
				key := f.ownerKey
				if tc.name == "own secret raises itself" {
					key = secret
				}
				r := n.Do(t, tc.method, tc.path, tc.body, apptest.Key(key)...)
				if tc.status == 422 {
					wantStatus(t, r, 422, msg)
					if got := r.Env.Errors["rate_limit_per_minute"]; len(got) != 1 || got[0] != msg {
						t.Fatalf("errors = %v", r.Env.Errors)
					}
					if after := countKeys(t, n, f.owner); after != before {
						t.Fatalf("a refused request wrote: %d keys, then %d", before, after)
					}
					return
				}
				wantStatus(t, r, tc.status)
			})
		}
		stored, err := n.Store.APIKey(context.Background(), k.ID)
		if err != nil || stored.RateLimit != 10 {
			t.Fatalf("stored limit = %d, %v", stored.RateLimit, err)
		}

		// A key stored with more (before the ceiling was lowered) is held to it.
		big := 1000
		old, oldSecret := n.CreateKey(t, f.owner, service.KeyInput{Name: "from before"})
		if _, err := n.Store.UpdateAPIKey(context.Background(), old.ID, core.APIKeyUpdate{RateLimit: &big}); err != nil {
			t.Fatal(err)
		}
		r := n.Do(t, "GET", "/api/v1/api-keys", nil, apptest.Key(oldSecret)...)
		wantStatus(t, r, 200)
		if got := r.Header.Get("X-RateLimit-Limit"); got != "10" {
			t.Fatalf("limit of a key stored above the ceiling = %q, want 10", got)
		}
	})
}

// TestAuditCursorBoundToFilters: a cursor continues only the listing it
// came from; with any filter changed it is a 422 on cursor, as docs/api.md
// says, instead of paging another result set from a foreign position.
func TestAuditCursorBoundToFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newFixture(t, b)
		n := f.n
		for i := range 3 {
			n.CreateKey(t, f.owner, service.KeyInput{Name: fmt.Sprint("k", i)})
		}
		const filters = "action=api_key.&actor_type=system&target_type=api_key&actor_id=0&project_id=0&since=2020-01-01&until=2100-01-01"
		r := n.Do(t, "GET", "/api/v1/audit?per_page=1&"+filters, nil, apptest.Key(f.ownerKey)...)
		wantStatus(t, r, 200)
		var pg struct {
			NextCursor *string `json:"next_cursor"`
		}
		r.Decode(t, &pg)
		if pg.NextCursor == nil {
			t.Fatalf("no next page: %s", r.Body)
		}
		cursor := url.QueryEscape(*pg.NextCursor)
		wantStatus(t, n.Do(t, "GET", "/api/v1/audit?per_page=1&"+filters+"&cursor="+cursor, nil, apptest.Key(f.ownerKey)...), 200, "api_key.create")
		others := []string{
			"", // no filter at all
			strings.Replace(filters, "action=api_key.", "action=api_key.create", 1),
			strings.Replace(filters, "actor_type=system", "actor_type=api_key", 1),
			strings.Replace(filters, "target_type=api_key", "target_type=license", 1),
			strings.Replace(filters, "actor_id=0", "actor_id=1", 1),
			strings.Replace(filters, "project_id=0", "project_id=1", 1),
			filters + "&target_id=1",
			strings.Replace(filters, "since=2020-01-01", "since=2020-01-02", 1),
			strings.Replace(filters, "until=2100-01-01", "until=2099-01-01", 1),
		}
		for _, other := range others {
			t.Run(other, func(t *testing.T) {
				r := n.Do(t, "GET", "/api/v1/audit?per_page=1&"+other+"&cursor="+cursor, nil, apptest.Key(f.ownerKey)...)
				wantStatus(t, r, 422, "cursor")
				if len(r.Env.Errors["cursor"]) != 1 {
					t.Fatalf("errors = %v", r.Env.Errors)
				}
			})
		}
	})
}
