package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/web"
)

// dashDefault is one defaultable field of the license form: the value set
// as the project's default, one typed instead, and how the stored license
// shows each.
type dashDefault struct {
	field, project, explicit string
	got                      func(l *core.License) string
	wantNull                 string // the license's value when the field is posted empty
}

func showInt(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

func showStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func showBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func dashDefaults() []dashDefault {
	expiry := func(l *core.License) string {
		if l.ExpiresAt == nil {
			return ""
		}
		return l.ExpiresAt.UTC().Format(time.DateOnly)
	}
	return []dashDefault{
		{"expires_in", "30d", "2d", expiry, ""},
		{"max_domains", "2", "9", func(l *core.License) string { return showInt(l.MaxDomains) }, ""},
		{"max_subdomains_per_domain", "3", "8", func(l *core.License) string { return showInt(l.MaxSubdomainsPerDomain) }, ""},
		{"max_usage_per_day", "100", "50", func(l *core.License) string { return showInt(l.MaxUsagePerDay) }, ""},
		{"max_concurrent", "2", "7", func(l *core.License) string { return showInt(l.MaxConcurrent) }, ""},
		{"heartbeat_ttl", "120", "60", func(l *core.License) string { return showInt(l.HeartbeatTTL) }, ""},
		{"allowed_countries", "NG, US", "FR", func(l *core.License) string { return showStr(l.AllowedCountries) }, ""},
		{"allowed_ips", "10.0.0.1", "127.0.0.1", func(l *core.License) string { return showStr(l.AllowedIPs) }, ""},
		{"is_test_license", "1", "0", func(l *core.License) string { return showBool(l.IsTestLicense) }, "0"},
		{"allow_configs", "1", "0", func(l *core.License) string { return showBool(l.AllowConfigs) }, "0"},
	}
}

// TestLicenseDefaultsDashboard sets a project's and the organization's
// license defaults on their settings pages, then creates licenses with
// the form: a field the form leaves out takes the default, a field posted
// empty has no restriction, a value typed is kept; the new license form
// shows the defaults.
func TestLicenseDefaultsDashboard(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		other := createProject(t, n, acc, "Theme")
		base := "/projects/" + itoa(pid)
		cases := dashDefaults()

		wantText(t, c.get(base+"/edit"), "License defaults", "Save license defaults")
		wantText(t, c.get("/settings"), "Organization license defaults")

		// Bad values: the license rules' messages on the fields, nothing saved.
		bad := c.post(base+"/license-defaults", url.Values{"license_defaults.max_domains": {"-1"},
			"license_defaults.allowed_countries": {"XX"}, "license_defaults.expires_in": {"soon"}})
		wantStatus(t, bad, http.StatusUnprocessableEntity)
		for field, msg := range map[string]string{
			"license_defaults.max_domains":       "The license defaults.max domains field must be at least 0.",
			"license_defaults.allowed_countries": "The license defaults.allowed countries field must be",
			"license_defaults.expires_in":        "The license defaults.expires in field must be a positive duration",
		} {
			if got := fieldError(bad, field); !strings.HasPrefix(got, web.HumanMessage(msg)) {
				t.Errorf("%s: %q, want %q", field, got, msg)
			}
		}
		wantHTML(t, bad, `value="soon"`)
		if p, _ := n.Service().Project(ctx, acc.Actor(), pid); p.LicenseDefaults != (core.LicenseDefaults{}) {
			t.Fatalf("refused defaults were saved: %+v", p.LicenseDefaults)
		}

		proj, org := url.Values{}, url.Values{}
		for _, tc := range cases {
			proj.Set("license_defaults."+tc.field, tc.project)
			org.Set("license_defaults."+tc.field, tc.project)
		}
		org.Set("license_defaults.max_domains", "5")
		wantRedirect(t, c.post(base+"/license-defaults", proj), base+"/edit")
		wantRedirect(t, c.post("/settings/license-defaults", org), "/settings")
		edit := c.get(base + "/edit")
		wantHTML(t, edit, `value="30d"`)
		wantText(t, edit, "Organization default: 5.")

		// The new license form shows what applies.
		wantHTML(t, c.get(base+"/licenses/new"), `name="expires_in" type="text" value="30d"`, `name="max_domains" type="number" value="2"`,
			`value="NG, US"`)
		wantHTML(t, c.get("/projects/"+itoa(other)+"/licenses/new"), `name="max_domains" type="number" value="5"`)

		create := func(t *testing.T, title string, form url.Values) *core.License {
			t.Helper()
			form.Set("title", title)
			p := c.post(base+"/licenses", form)
			if p.Status != http.StatusSeeOther {
				t.Fatalf("create %s: %d %s", title, p.Status, fieldErrors(p))
			}
			id, err := strconv.ParseInt(p.Location[strings.LastIndex(p.Location, "/")+1:], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			l, err := n.Service().License(ctx, acc.Actor(), pid, id)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		// full is the form as a browser posts it: every input, empty.
		full := func() url.Values {
			f := url.Values{"expires_at": {""}, "expires_in": {""}, "is_test_license": {"0"}, "allow_configs": {"0"}}
			for _, tc := range cases {
				if f.Get(tc.field) == "" && tc.field != "is_test_license" && tc.field != "allow_configs" {
					f.Set(tc.field, "")
				}
			}
			return f
		}
		day := func(d int) string {
			return n.Clock.Now().Add(time.Duration(d) * 24 * time.Hour).UTC().Format(time.DateOnly)
		}
		for _, tc := range cases {
			t.Run(tc.field, func(t *testing.T) {
				wantDefault, wantExplicit := tc.project, tc.explicit
				if tc.field == "expires_in" {
					wantDefault, wantExplicit = day(30), day(2)
				}
				omitted := full()
				omitted.Del(tc.field)
				if tc.field == "expires_in" {
					omitted.Del("expires_at")
				}
				if got := tc.got(create(t, tc.field+" omitted", omitted)); got != wantDefault {
					t.Errorf("omitted: %q, want the default %q", got, wantDefault)
				}
				if got := tc.got(create(t, tc.field+" empty", full())); got != tc.wantNull {
					t.Errorf("posted empty: %q, want %q", got, tc.wantNull)
				}
				explicit := full()
				explicit.Set(tc.field, tc.explicit)
				if tc.field == "is_test_license" || tc.field == "allow_configs" {
					// A ticked box is posted before its hidden 0.
					explicit[tc.field] = []string{"1", "0"}
					wantExplicit = "1"
					explicit2 := full()
					if got := tc.got(create(t, tc.field+" unticked", explicit2)); got != "0" {
						t.Errorf("unticked: %q, want 0", got)
					}
				}
				if got := tc.got(create(t, tc.field+" explicit", explicit)); got != wantExplicit {
					t.Errorf("explicit: %q, want %q", got, wantExplicit)
				}
			})
		}
		// An expiry date chosen instead of the prefilled duration: both sent
		// is refused, the date alone is kept.
		both := full()
		both.Set("expires_in", "30d")
		both.Set("expires_at", day(3))
		both.Set("title", "Both")
		wantStatus(t, c.post(base+"/licenses", both), http.StatusUnprocessableEntity)

		// A developer sees the organization's defaults but cannot change them.
		n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		dev := signIn(t, n, "dev@acme.test")
		wantText(t, dev.get("/settings"), "Only owners and admins can change these.")
		wantStatus(t, dev.post("/settings/license-defaults", url.Values{"license_defaults.max_domains": {"1"}}), http.StatusForbidden)
		if d, _ := n.Service().OrganizationLicenseDefaults(ctx, acc.Actor()); d.MaxDomains == nil || *d.MaxDomains != 5 {
			t.Fatalf("a developer changed the organization's defaults: %+v", d)
		}
		// Clearing: every field emptied.
		wantRedirect(t, c.post(base+"/license-defaults", url.Values{"license_defaults.max_domains": {""}}), base+"/edit")
		if p, _ := n.Service().Project(ctx, acc.Actor(), pid); p.LicenseDefaults != (core.LicenseDefaults{}) {
			t.Fatalf("emptied defaults: %+v", p.LicenseDefaults)
		}
	})
}

func fieldErrors(p *page) string {
	i := strings.Index(p.Body, "field-error")
	if i < 0 {
		return p.Location
	}
	return p.Body[i:min(len(p.Body), i+300)]
}

// wantHTML fails unless the page's HTML holds each text.
func wantHTML(t *testing.T, p *page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
