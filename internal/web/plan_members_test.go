package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
)

// TestInviteOverThePlan: the team form refuses an invitation beyond the
// plan's cap on members (members plus pending invitations) with 403 and
// the plan's message next to the form, before the fields are checked;
// renewing a pending invitation is not a creation.
func TestInviteOverThePlan(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		ctx := context.Background()
		c, _ := owner(t, n, "Acme", "ada@acme.test")
		invite := func(email, role, _ string) *page {
			return c.post("/team", url.Values{"email": {email}, "role": {role}})
		}
		// Without SMTP the page shows the link (200).
		if p := invite("bea@acme.test", "viewer", "correct horse battery"); p.Status != http.StatusOK {
			t.Fatalf("first invitation: %d\n%s", p.Status, p.Body)
		}
		op := core.SystemActor(0, "operator")
		two := int64(2)
		if _, err := n.Service().CreatePlan(ctx, op, "free", core.Rules{MaxMembers: &two}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := n.Service().SetOrganizationPlan(ctx, op, "Acme", "free"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, email, password string }{
			{"valid", "cy@acme.test", "correct horse battery"},
			{"invalid too", "not an email", "short"},
		} {
			p := invite(tc.email, "viewer", tc.password)
			wantStatus(t, p, http.StatusForbidden)
			wantText(t, p, "Your plan (free) allows 2 members.")
		}
		if p := invite("bea@acme.test", "developer", "correct horse battery"); p.Status != http.StatusOK {
			t.Fatalf("renewing the pending invitation: %d\n%s", p.Status, p.Body)
		}
	})
}
