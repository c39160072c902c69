package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// TestLicenseSeats: the license page lists live seats (instance, IP,
// since, expiry), a release button frees one, and a license without
// max_concurrent shows no seats section.
func TestLicenseSeats(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Desktop app")
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("Studio")})
		if err != nil {
			t.Fatal(err)
		}
		lpath := "/projects/" + itoa(pid) + "/licenses/" + itoa(l.ID)
		if page := c.get(lpath); strings.Contains(page.Body, `id="seats"`) {
			t.Fatal("a license without max_concurrent shows seats")
		}
		three, ttl := int64(3), int64(120)
		mp, tp := &three, &ttl
		if _, err := n.Store.UpdateLicense(ctx, l.ID, core.LicenseUpdate{MaxConcurrent: &mp, HeartbeatTTL: &tp}); err != nil {
			t.Fatal(err)
		}
		n.Service().Invalidate(core.Change{Kind: core.ChangeLicense, ID: l.ID}) // written behind the service's back
		wantText(t, c.get(lpath), "No copy holds a seat now", "0 of 3 in use", "2m0s")
		for _, inst := range []string{"pc-alpha", "pc-beta"} {
			r := n.Do(t, "POST", "/api/v1/licenses/heartbeat", map[string]any{"instance": inst, "domain": "studio"}, "X-LICENSE-KEY", l.UUID)
			if r.Status != 200 || !strings.Contains(string(r.Body), `"code":"VALID"`) {
				t.Fatalf("heartbeat: %d %s", r.Status, r.Body)
			}
		}
		page := c.get(lpath)
		expires := n.Clock.Now().Add(2 * 60e9).UTC().Format("2006-01-02 15:04:05 UTC")
		wantText(t, page, "2 of 3 in use", "pc-alpha", "pc-beta", "127.0.0.1", "in 2 minutes", "Release")
		if !strings.Contains(page.Body, `title="`+expires+`"`) {
			t.Errorf("a seat's expiry lacks its absolute time %q", expires)
		}
		seats, err := n.Service().ListSeats(ctx, acc.Actor(), pid, l.ID)
		if err != nil || len(seats) != 2 {
			t.Fatalf("seats %v %v", seats, err)
		}
		p := c.post(lpath+"/seats/"+itoa(seats[0].ID)+"/release", nil)
		wantRedirect(t, p, lpath+"#seats")
		page = c.follow(p)
		wantText(t, page, "Seat of pc-alpha released.", "1 of 3 in use")
		if strings.Contains(page.Body, "<code>pc-alpha</code>") {
			t.Fatal("the released seat is still listed")
		}
		// Releasing it again is a message, not an error page.
		p = c.post(lpath+"/seats/"+itoa(seats[0].ID)+"/release", nil)
		wantRedirect(t, p, lpath+"#seats")
		wantText(t, c.follow(p), "Seat not found")
	})
}
