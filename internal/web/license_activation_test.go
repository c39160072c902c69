package web_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The license page lists activations with their sighting and removes one
// (CSRF-checked), and its "Test this license" form explains a validation
// without counting it.
func TestLicenseActivationsAndTest(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		one := int64(1)
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("One site"),
			MaxDomains: service.Some(&one), AllowedCountries: service.Some(activationTestPtr("NG"))})
		if err != nil {
			t.Fatal(err)
		}
		v := n.Stack.Validator
		res, err := v.Validate(ctx, service.ValidateInput{Key: l.UUID, Identifier: "shop.example.org", IP: netip.MustParseAddr("198.51.100.20"),
			Country: "NG", UserAgent: "plugin/<1.0>", Count: true})
		if err != nil || !res.Valid() {
			t.Fatalf("validation %+v %v", res, err)
		}
		path := "/projects/" + itoa(pid) + "/licenses/" + itoa(l.ID)
		page := c.get(path)
		wantStatus(t, page, http.StatusOK)
		wantText(t, page, "shop.example.org", "example.org", "198.51.100.20", "NG", "plugin/<1.0>", "Test this license")
		if !strings.Contains(page.Body, "plugin/&lt;1.0&gt;") {
			t.Fatal("the user agent is not escaped")
		}
		acts, err := n.Store.ListActivations(ctx, l.ID)
		if err != nil || len(acts) != 1 {
			t.Fatalf("activations %+v %v", acts, err)
		}
		del := path + "/activations/" + itoa(acts[0].ID) + "/delete"
		if !strings.Contains(page.Body, `action="`+del+`"`) || !strings.Contains(page.Body, "data-confirm=") {
			t.Fatal("no remove button with a confirmation")
		}

		// The test form: four rules broken at once are all shown; nothing
		// is counted.
		if _, err := n.Service().SuspendLicense(ctx, acc.Actor(), pid, l.ID); err != nil {
			t.Fatal(err)
		}
		test := c.get(path + "?test=1&identifier=other.example.net&ip=192.0.2.1&country=de")
		wantStatus(t, test, http.StatusOK)
		for _, want := range []string{"SUSPENDED", "TOO_MANY_DOMAINS", "COUNTRY_NOT_ALLOWED", "refused", "project_active", "payment"} {
			if !strings.Contains(test.Body, want) {
				t.Errorf("the test shows no %s", want)
			}
		}
		if got := strings.Count(test.Body, `class="check-failed"`); got != 3 {
			t.Errorf("%d failing checks shown, want 3 (status, max_domains, country)", got)
		}
		if after, _ := n.Store.ListActivations(ctx, l.ID); len(after) != 1 {
			t.Fatalf("the test recorded an activation: %+v", after)
		}
		bad := c.get(path + "?test=1&ip=nope&country=Nigeria")
		wantStatus(t, bad, http.StatusOK)
		wantText(t, bad, "The IP field must be a valid IP address.", "ISO 3166-1 alpha-2")
		wantStatus(t, c.get(path+"?test=1&identifier=%00"), http.StatusUnprocessableEntity)

		// Remove: refused without the CSRF token, done with it.
		wantStatus(t, c.post(del, url.Values{"_csrf": {"forged"}}), http.StatusForbidden)
		p := c.post(del, nil)
		wantRedirect(t, p, path)
		if f := flashOf(c.follow(p)); !strings.Contains(f, "shop.example.org removed") {
			t.Fatalf("flash %q", f)
		}
		if after, _ := n.Store.ListActivations(ctx, l.ID); len(after) != 0 {
			t.Fatalf("left %+v", after)
		}
		if f := flashOf(c.follow(c.post(del, nil))); !strings.Contains(f, "not found") && !strings.Contains(f, "Activation") {
			t.Fatalf("second removal flash %q", f)
		}

		// A member who may only read sees no remove button.
		n.CreateUser(t, "Acme", "viewer@acme.test", core.RoleViewer)
		vc := signIn(t, n, "viewer@acme.test")
		if _, err := n.Service().ReactivateLicense(ctx, acc.Actor(), pid, l.ID); err != nil {
			t.Fatal(err)
		}
		if res, err := v.Validate(ctx, service.ValidateInput{Key: l.UUID, Identifier: "x.example.org", Country: "NG", Count: true}); err != nil || !res.Valid() {
			t.Fatalf("%+v %v", res, err)
		}
		vp := vc.get(path)
		wantStatus(t, vp, http.StatusOK)
		wantText(t, vp, "x.example.org")
		if strings.Contains(vp.Body, "/activations/") {
			t.Fatal("a viewer sees a remove button")
		}
	})
}

func activationTestPtr[T any](v T) *T { return &v }
