package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
)

var submissionRE = regexp.MustCompile(`name="submission" value="([^"]+)"`)

// A key form sent twice (a double click, a resend from the history) makes
// one key; every repeat gets the first post's answer, the way to the one
// secret page.
func TestKeyCreateRepeatedSubmit(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		count := func() int { return liveKeys(t, n, acc) }
		token := func() string {
			t.Helper()
			m := submissionRE.FindStringSubmatch(c.get("/api-keys/new").Body)
			if m == nil {
				t.Fatal("the key form carries no submission token")
			}
			return m[1]
		}
		form := func(tok string) url.Values {
			return url.Values{"name": {"deploy"}, "scopes": {"projects:read"}, "env": {"live"}, "submission": {tok}, "_csrf": {c.csrf}}
		}

		tok := token()
		first := c.post("/api-keys", form(tok))
		second := c.post("/api-keys", form(tok))
		wantStatus(t, first, http.StatusSeeOther)
		wantStatus(t, second, http.StatusSeeOther)
		if second.Location != first.Location {
			t.Fatalf("the repeat went to %q, the first post to %q", second.Location, first.Location)
		}
		if got := count(); got != 1 {
			t.Fatalf("%d keys after a form sent twice, want 1", got)
		}
		wantText(t, c.follow(second), "Copy this key now.")

		// Sent many times at once.
		tok = token()
		var wg sync.WaitGroup
		locations := make([]string, 8)
		for i := range locations {
			wg.Go(func() { locations[i] = c.post("/api-keys", form(tok)).Location })
		}
		wg.Wait()
		for _, l := range locations {
			if l == "" || l != locations[0] {
				t.Fatalf("concurrent repeats answered %q", locations)
			}
		}
		if got := count(); got != 2 {
			t.Fatalf("%d keys after 8 concurrent posts of one form (and one before), want 2", got)
		}

		// A refused form keeps its token, and its corrected version makes
		// the key.
		tok = token()
		bad := form(tok)
		bad.Del("scopes")
		wantStatus(t, c.post("/api-keys", bad), http.StatusUnprocessableEntity)
		wantStatus(t, c.post("/api-keys", form(tok)), http.StatusSeeOther)
		if got := count(); got != 3 {
			t.Fatalf("%d keys after a refused and a corrected post, want 3", got)
		}

		// Another session's post with the same token is its own.
		other := signIn(t, n, "ada@acme.test")
		f := form(tok)
		f.Set("_csrf", other.csrf)
		other.get("/api-keys/new")
		f.Set("_csrf", other.csrf)
		wantStatus(t, other.post("/api-keys", f), http.StatusSeeOther)
		if got := count(); got != 4 {
			t.Fatalf("%d keys: another session's token was taken for a repeat", got)
		}
	})
}
