package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
)

// reload does what a browser's reload does on the page p answered: it
// asks for the page again, which repeats the post when the post's answer
// was the page itself, and repeats only the GET after a redirect.
func reload(c *client, path string, form url.Values, p *page) (shown, again *page) {
	c.t.Helper()
	if p.Location == "" {
		return p, c.post(path, form)
	}
	shown = c.follow(p)
	return shown, c.get(p.Location)
}

// TestKeySecretPageSurvivesReload checks that reloading the page that shows
// a new secret (after create, and after rotate) creates no second key and
// shows the secret no second time.
func TestKeySecretPageSurvivesReload(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		count := func() int { return liveKeys(t, n, acc) }
		c.get("/api-keys/new")
		form := url.Values{"name": {"deploy"}, "scopes": {"projects:read"}, "env": {"live"}}
		p := c.post("/api-keys", form)
		shown, again := reload(c, "/api-keys", form, p)
		secret := shownSecret(t, shown)
		wantText(t, shown, "Copy this key now.")
		if shown.Header.Get("Cache-Control") != "no-store" {
			t.Error("the secret page may be cached")
		}
		if n := count(); n != 1 {
			t.Fatalf("%d live keys after a reload of the secret page, want 1", n)
		}
		// The reload shows the key without its secret, and says why.
		if again.Location != "" {
			again = c.follow(again)
		}
		wantNoText(t, again, secret, secret[8:])
		wantText(t, again, "shown only once")

		// Rotation: the same.
		ks, _ := n.Service().ListAPIKeys(ctx, acc.Actor(), 0, 100)
		rotate := "/api-keys/" + itoa(ks[0].ID) + "/rotate"
		rform := url.Values{"grace_seconds": {"3600"}}
		p = c.post(rotate, rform)
		// Another session, even given the cookie, is not shown the secret.
		if p.Location != "" {
			var sealed string
			for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
				if ck.Name == "latchkey_reveal" {
					sealed = ck.Value
				}
			}
			if sealed == "" {
				t.Fatal("the rotation set no reveal cookie")
			}
			other := signIn(t, n, "ada@acme.test")
			refused := other.get(p.Location, "Cookie", "latchkey_reveal="+sealed)
			wantStatus(t, refused, http.StatusSeeOther)
			wantNoText(t, other.follow(refused), "Copy this key now.")
		}
		shown, again = reload(c, rotate, rform, p)
		rotated := shownSecret(t, shown)
		wantText(t, shown, "The old key keeps working for now: it is refused in ")
		if again.Location != "" {
			again = c.follow(again)
		}
		wantNoText(t, again, rotated, rotated[8:])
		// The old key (in its grace) and one successor, not two.
		if n := count(); n != 2 {
			t.Fatalf("%d live keys after a reload of the rotation page, want 2", n)
		}
	})
}
