package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// TestBrowserLists drives real Chromium through issue 19's lists: a bulk
// suspend of two ticked licenses from All licenses (the dry run's count,
// then the confirmation), and a key disabled from its row (the API
// refuses it with API_KEY_DISABLED) and enabled again (accepted).
func TestBrowserLists(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	ctx := context.Background()
	acc := n.CreateUser(t, "Acme", "ada@acme.test", core.RoleOwner)
	pid := createProject(t, n, acc, "Pro Plugin")
	var ids []int64
	for _, title := range []string{"Alpha", "Bravo", "Charlie"} {
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some(title)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	k, secret := n.CreateKey(t, acc, service.KeyInput{Name: "deploy"})

	b := newBrowser(t, path, n)
	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")

	b.open("/licenses")
	b.wantPage("/licenses", "All licenses", "1–3 of 3 licenses")
	b.do(chromedp.Click(chromedp.CSS(`input.row-select[value="`+itoa(ids[0])+`"]`)),
		chromedp.Click(chromedp.CSS(`input.row-select[value="`+itoa(ids[2])+`"]`)))
	b.shot("licenses-all")
	b.submit("bulk-submit")
	b.wantPage("/licenses/bulk", "Suspend 2 licenses?")
	b.submit("confirm")
	b.wantPage("/licenses", "2 licenses suspended.")
	for i, want := range []string{core.LicenseSuspended, core.LicenseActive, core.LicenseSuspended} {
		if l, _ := n.Service().License(ctx, acc.Actor(), pid, ids[i]); l.Status != want {
			t.Fatalf("license %d is %s, want %s", i, l.Status, want)
		}
	}

	b.open("/api-keys")
	b.submit("disable-" + itoa(k.ID))
	b.wantPage("/api-keys", "disabled: it is refused until you enable it.")
	if status, body := callAPI(t, n, secret, "/api/v1/projects"); status != http.StatusForbidden || !strings.Contains(body, "API_KEY_DISABLED") {
		t.Fatalf("disabled key: %d %s", status, body)
	}
	b.shot("api-keys-disabled")
	b.submit("enable-" + itoa(k.ID))
	b.wantPage("/api-keys", "enabled: it works again.")
	if status, body := callAPI(t, n, secret, "/api/v1/projects"); status != http.StatusOK {
		t.Fatalf("enabled key: %d %s", status, body)
	}
}
