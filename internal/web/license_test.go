package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

func TestLicenseForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		other := createProject(t, n, acc, "Other")
		foreign, err := n.Service().CreateDomain(ctx, acc.Actor(), other, serviceDomain("other.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		base := "/projects/" + itoa(pid) + "/licenses"
		form := c.get(base + "/new")
		// Every field of seed 001.
		for _, f := range []string{"title", "domain_id", "expires_at", "max_domains", "max_subdomains_per_domain", "max_usage_per_day",
			"allowed_ips", "allowed_countries", "is_test_license", "allow_configs"} {
			if !strings.Contains(form.Body, `name="`+f+`"`) {
				t.Errorf("the form has no %s field", f)
			}
		}
		yesterday := n.Clock.Now().AddDate(0, 0, -1).Format("2006-01-02")
		for _, tc := range []struct {
			name   string
			form   url.Values
			fields map[string]string
		}{
			{"empty", url.Values{}, map[string]string{"title": "The title field is required."}},
			{"everything wrong", url.Values{"title": {strings.Repeat("t", 256)}, "domain_id": {itoa(foreign.ID)}, "expires_at": {yesterday},
				"max_domains": {"-1"}, "max_subdomains_per_domain": {"three"}, "max_usage_per_day": {"1.5"},
				"allowed_ips": {"127.0.0.1, 999.1.1.1"}, "allowed_countries": {"NG, XX"}, "validate_against": {"moon"}},
				map[string]string{
					"title":                     "The title field must not be greater than 255 characters.",
					"domain_id":                 "The selected domain id is invalid.",
					"expires_at":                "The expires at field must be a date after now.",
					"max_domains":               "The max domains field must be at least 0.",
					"max_subdomains_per_domain": "The max subdomains per domain field must be an integer.",
					"max_usage_per_day":         "The max usage per day field must be an integer.",
					"allowed_ips":               `The allowed ips field must be a comma-separated list of valid IP addresses (or CIDR blocks): "999.1.1.1" is not one.`,
					"validate_against":          "The validate against field must be project_domains or license_domains.",
				}},
			{"not a date", url.Values{"title": {"A"}, "expires_at": {"next tuesday"}, "domain_id": {"abc"}},
				map[string]string{"expires_at": "The expires at field must be a valid date.", "domain_id": "The selected domain id is invalid."}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := c.post(base, tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				for f, msg := range tc.fields {
					if got := fieldError(p, f); got != web.HumanMessage(msg) {
						t.Errorf("%s: %q, want %q", f, got, msg)
					}
				}
				if !strings.Contains(p.Body, "alert-error") {
					t.Error("no summary above the form")
				}
				ls, _ := n.Service().ListLicenses(ctx, acc.Actor(), pid, core.LicenseFilter{})
				if len(ls) != 0 {
					t.Fatal("an invalid form created a license")
				}
			})
		}
		if got := fieldError(c.post(base, url.Values{"title": {"A"}, "allowed_countries": {"NG, XX"}}), "allowed_countries"); !strings.HasPrefix(got,
			web.HumanMessage(`The allowed countries field must be a comma-separated list of ISO 3166-1 alpha-2 codes: "XX" is not one`)) {
			t.Errorf("allowed_countries: %q", got)
		}

		dom, err := n.Service().CreateDomain(ctx, acc.Actor(), pid, serviceDomain("shop.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		next := n.Clock.Now().AddDate(1, 0, 0).Format("2006-01-02")
		p := c.post(base, url.Values{"title": {"Customer A"}, "domain_id": {itoa(dom.ID)}, "expires_at": {next}, "max_domains": {"3"},
			"max_subdomains_per_domain": {""}, "max_usage_per_day": {"1000"}, "allowed_ips": {"127.0.0.1, 102.90.101.2"},
			"allowed_countries": {"ng, us"}, "is_test_license": {"1"}, "allow_configs": {"on"}})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, base+"/") {
			t.Fatalf("create: %d %q\n%s", p.Status, p.Location, p.text())
		}
		show := c.follow(p)
		ls, _ := n.Service().ListLicenses(ctx, acc.Actor(), pid, core.LicenseFilter{})
		if len(ls) != 1 {
			t.Fatalf("%d licenses", len(ls))
		}
		l := ls[0]
		wantText(t, show, "License Customer A created.", l.UUID, "shop.example.com", "Expires in 12 months", "1000", "NG, US",
			"127.0.0.1, 102.90.101.2", "The project's registered domains", "Unlimited")
		if !strings.Contains(show.Body, `title="`+next+` `) { // the expiry is relative, the date on hover
			t.Errorf("the license lacks the expiry %s", next)
		}
		if l.MaxDomains == nil || *l.MaxDomains != 3 || l.MaxSubdomainsPerDomain != nil || !l.IsTestLicense || !l.AllowConfigs {
			t.Fatalf("license %+v", l)
		}
		p = c.post(base, url.Values{"title": {"Customer A"}})
		if fieldError(p, "title") != "The title has already been taken." {
			t.Errorf("duplicate title: %q", fieldError(p, "title"))
		}

		// Edit: the form comes back filled; an expiry left alone is not
		// re-checked, so an expired license stays editable.
		lpath := base + "/" + itoa(l.ID)
		edit := c.get(lpath + "/edit")
		if !strings.Contains(edit.Body, `value="Customer A"`) || !strings.Contains(edit.Body, `value="`+next+`"`) {
			t.Fatal("edit form not filled")
		}
		n.Clock.Advance(400 * 24 * time.Hour)
		c = signIn(t, n, "ada@acme.test") // the session did not live that long
		p = c.post(lpath+"/edit", url.Values{"title": {"Customer A (renamed)"}, "domain_id": {""}, "expires_at": {next},
			"validate_against": {"license_domains"}, "max_domains": {"0"}})
		wantRedirect(t, p, lpath)
		wantText(t, c.follow(p), "License saved.", "Customer A (renamed)", "expired", "Not pinned", "Any domain (activations)")
	})
}

func TestLicenseListAndActions(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		base := "/projects/" + itoa(pid) + "/licenses"
		wantText(t, c.get(base), "No licenses yet")
		// /licenses is every project's list (issue 19).
		wantText(t, c.get("/licenses"), "All licenses", "No licenses yet")

		var ids []int64
		for i := range 25 {
			l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some(fmt.Sprintf("Customer %02d", i))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, l.ID)
		}
		titles := func(p *page) []string {
			var out []string
			for _, m := range regexp.MustCompile(`<strong>(Customer \d+)</strong>`).FindAllStringSubmatch(p.Body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		// Newest first, 20 a page.
		first := c.get(base)
		got := titles(first)
		if len(got) != 20 || got[0] != "Customer 24" || got[19] != "Customer 05" {
			t.Fatalf("first page %v", got)
		}
		m := regexp.MustCompile(`href="([^"]*page=2[^"]*)"`).FindStringSubmatch(first.Body)
		if m == nil {
			t.Fatal("no next page link")
		}
		second := c.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		if got := titles(second); len(got) != 5 || got[4] != "Customer 00" {
			t.Fatalf("second page %v", got)
		}
		if got := titles(c.get(base + "?search=customer+1")); len(got) != 10 {
			t.Fatalf("search: %v", got)
		}

		lpath := base + "/" + itoa(ids[3])
		// Suspend, reactivate, revoke: the same service calls as the API.
		p := c.post(lpath+"/suspend", nil)
		wantRedirect(t, p, lpath)
		page := c.follow(p)
		wantText(t, page, "License suspended.")
		if !strings.Contains(page.Body, `badge-suspended`) {
			t.Error("not shown suspended")
		}
		if got := titles(c.get(base + "?status=suspended")); len(got) != 1 || got[0] != "Customer 03" {
			t.Fatalf("status filter: %v", got)
		}
		// A refused transition is a message, not an error page.
		p = c.post(lpath+"/suspend", nil)
		wantRedirect(t, p, lpath)
		wantText(t, c.follow(p), "The license is not active, so it cannot be suspended.")
		wantRedirect(t, c.post(lpath+"/reactivate", nil), lpath)
		wantRedirect(t, c.post(lpath+"/revoke", nil), lpath)
		l, _ := n.Service().License(ctx, acc.Actor(), pid, ids[3])
		if l.Status != core.LicenseRevoked {
			t.Fatalf("status %s", l.Status)
		}
		wantText(t, c.get(lpath+"/delete"), "Delete the license Customer 03?")
		wantRedirect(t, c.post(lpath+"/delete", nil), base)
		wantStatus(t, c.get(lpath), http.StatusNotFound)
		events, _ := n.Service().ListAudit(ctx, acc.Actor(), core.AuditFilter{Action: "license.", ActorType: core.ActorUser})
		if len(events) != 4 { // suspend, reactivate, revoke, delete; the refused suspend wrote nothing
			t.Fatalf("%d license events by the user, want 4", len(events))
		}
	})
}

func TestLicenseActivationsAndChart(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		l, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("Customer A")})
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"shop.example.com", "blog.example.com", "shop.example.com"} {
			r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"domain": host}, "X-LICENSE-KEY", l.UUID)
			if r.Status != 200 || !strings.Contains(string(r.Body), `"valid":true`) {
				t.Fatalf("validate: %d %s", r.Status, r.Body)
			}
		}
		lpath := "/projects/" + itoa(pid) + "/licenses/" + itoa(l.ID)
		// Unflushed counts already show in the chart.
		page := c.get(lpath)
		wantText(t, page, "Passing validations, last 30 days: 3 in total")
		if !strings.Contains(page.Body, "<title>"+n.Clock.Now().Format("2006-01-02")+": 3</title>") {
			t.Error("today's bar is not 3")
		}
		if err := n.Stack.Validator.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		page = c.get(lpath)
		wantText(t, page, "shop.example.com", "blog.example.com", "example.com", "3 in total")
	})
}

// TestLicenseBusinessForm sets the customer, external ID, metadata, seat
// and churn fields through the form, shows them, edits the metadata as
// lines, and finds the license by a pasted key in the list's search.
func TestLicenseBusinessForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		ctx := context.Background()
		pid := createProject(t, n, acc, "Pro Plugin")
		base := "/projects/" + itoa(pid) + "/licenses"
		form := c.get(base + "/new")
		for _, f := range []string{"customer_name", "customer_email", "external_id", "metadata", "max_concurrent", "heartbeat_ttl",
			"max_new_activations_per_day"} {
			if !strings.Contains(form.Body, `name="`+f+`"`) {
				t.Errorf("the form has no %s field", f)
			}
		}
		for _, tc := range []struct {
			name   string
			form   url.Values
			fields map[string]string
		}{
			{"bad values", url.Values{"title": {"A"}, "customer_email": {"nope"}, "max_concurrent": {"-1"}, "heartbeat_ttl": {"5"},
				"max_new_activations_per_day": {"x"}, "metadata": {"plan=gold\nnot a pair"}},
				map[string]string{
					"customer_email":              "The customer email field must be a valid email address.",
					"max_concurrent":              "The max concurrent field must be at least 0 (0 or null: no limit).",
					"heartbeat_ttl":               "The heartbeat ttl field must be between 30 and 86400 seconds.",
					"max_new_activations_per_day": "The max new activations per day field must be an integer.",
					"metadata":                    "Line 2 of the metadata is not key=value.",
				}},
			{"metadata value too long", url.Values{"title": {"A"}, "metadata": {"plan=" + strings.Repeat("v", 501)}},
				map[string]string{"metadata": "The metadata.plan field must not be greater than 500 characters."}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := c.post(base, tc.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				for f, msg := range tc.fields {
					if got := fieldError(p, f); got != web.HumanMessage(msg) {
						t.Errorf("%s: %q, want %q", f, got, msg)
					}
				}
			})
		}
		p := c.post(base, url.Values{"title": {"Order 1042"}, "customer_name": {"Ada Lovelace"}, "customer_email": {"ada@example.com"},
			"external_id": {"sub_1042"}, "metadata": {"plan = gold\r\nseats=5\n\n"}, "max_concurrent": {"2"}, "heartbeat_ttl": {"120"},
			"max_new_activations_per_day": {"3"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("create: %d\n%s", p.Status, p.text())
		}
		show := c.follow(p)
		wantText(t, show, "Ada Lovelace", "ada@example.com", "sub_1042", "plan", "gold", "seats", "120 s")
		ls, _ := n.Service().ListLicenses(ctx, acc.Actor(), pid, core.LicenseFilter{})
		if len(ls) != 1 || ls[0].Metadata["plan"] != "gold" || ls[0].Metadata["seats"] != "5" || *ls[0].MaxConcurrent != 2 {
			t.Fatalf("licenses %+v", ls)
		}
		l := ls[0]
		p = c.post(base, url.Values{"title": {"Other"}, "external_id": {"sub_1042"}})
		if got := fieldError(p, "external_id"); got != web.HumanMessage("The external id has already been taken in this project.") || p.Status != http.StatusConflict {
			t.Errorf("duplicate external ID: %d %q", p.Status, got)
		}

		// Edit: the lines come back; a removed line removes its entry.
		lpath := base + "/" + itoa(l.ID)
		edit := c.get(lpath + "/edit")
		if !strings.Contains(edit.Body, "plan=gold\nseats=5\n") || !strings.Contains(edit.Body, `value="sub_1042"`) {
			t.Fatalf("edit form not filled:\n%s", edit.Body)
		}
		p = c.post(lpath+"/edit", url.Values{"title": {"Order 1042"}, "validate_against": {"license_domains"}, "metadata": {"plan=silver"},
			"customer_name": {""}, "heartbeat_ttl": {""}, "external_id": {"sub_1042"}, "customer_email": {"ada@example.com"}})
		wantRedirect(t, p, lpath)
		got, _ := n.Service().License(ctx, acc.Actor(), pid, l.ID)
		if len(got.Metadata) != 1 || got.Metadata["plan"] != "silver" || got.CustomerName != nil || got.HeartbeatTTL != nil ||
			got.ExternalID == nil {
			t.Fatalf("edited %+v", got)
		}

		// The list's search: a pasted key, a customer's e-mail, an external ID.
		if _, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("Unrelated")}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{" " + strings.ToUpper(l.UUID) + " ", "ADA@example", "sub_10"} {
			page := c.get(base + "?q=" + url.QueryEscape(q))
			if !strings.Contains(page.Body, "<strong>Order 1042</strong>") || strings.Contains(page.Body, "<strong>Unrelated</strong>") {
				t.Errorf("?q=%q did not find only the license:\n%s", q, page.text())
			}
		}
	})
}
