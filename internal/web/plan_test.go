package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

func i64(n int64) *int64 { return &n }
func no() *bool          { f := false; return &f }

// putOnPlan creates a plan as the operator does and puts org on it.
func putOnPlan(t *testing.T, n *apptest.Node, org, name string, rules core.Rules) {
	t.Helper()
	ctx := context.Background()
	op := core.SystemActor(0, "test")
	if _, err := n.Service().CreatePlan(ctx, op, name, rules); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Service().SetOrganizationPlan(ctx, op, org, name); err != nil {
		t.Fatal(err)
	}
}

// usageRow returns the text of the plan panel's row for a cap, and its
// bar's value ("" when it has none).
func usageRow(t *testing.T, p *page, label string) (text, bar string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr class="[^"]*" data-cap="` + regexp.QuoteMeta(label) + `">(.*?)</tr>`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no usage row %q in\n%s", label, p.Body)
	}
	if b := regexp.MustCompile(`<progress max="100" value="(\d+)"`).FindStringSubmatch(m[1]); b != nil {
		bar = b[1]
	}
	row := &page{Body: m[1]}
	return row.text(), bar
}

// TestPlanUsagePanels shows the plan and usage against every cap on the
// settings page, and a project's own usage on its page, before and after
// the plan is lowered below what is used.
func TestPlanUsagePanels(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		pid := createProject(t, n, acc, "Plugin")
		ctx := context.Background()
		if _, err := n.Service().CreateLicense(ctx, acc.Actor(), pid, service.LicenseInput{Title: service.Some("L")}); err != nil {
			t.Fatal(err)
		}

		p := c.get("/settings")
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "No plan: no limits.")
		if text, bar := usageRow(t, p, "Projects"); text != "Projects 1 Unlimited" || bar != "" {
			t.Fatalf("no plan: projects row %q bar %q", text, bar)
		}
		wantText(t, c.get("/projects/"+itoa(pid)), "No plan: no limits.")

		putOnPlan(t, n, "Acme", "free", core.Rules{MaxProjects: i64(4), MaxLicensesPerProject: i64(1), MaxMembers: i64(3),
			MaxAPIKeys: i64(0), Switches: core.Switches{GlobalKeys: no(), MaxKeyLifetime: i64(30 * 86400)}})
		p = c.get("/settings")
		wantText(t, p, "Plan: free", "Global API keys (not bound to a project) Forbidden by the plan",
			"Deleting projects through the API Allowed", "Longest API key lifetime 30 days (set by the plan)")
		for _, tc := range []struct{ label, text, bar string }{
			{"Projects", "Projects 1 4 25%", "25"},
			{"Licenses per project", "Licenses per project each project 1 see each project's page", ""},
			{"Domains per project", "Domains per project each project Unlimited", ""},
			{"API keys (live: not revoked or expired)", "API keys (live: not revoked or expired) 0 0 100% full", "100"},
			{"Members and pending invitations", "Members and pending invitations 1 3 33%", "33"},
			{"Webhook endpoints", "Webhook endpoints 0 Unlimited", ""},
		} {
			if text, bar := usageRow(t, p, tc.label); text != tc.text || bar != tc.bar {
				t.Errorf("row %q: %q bar %q, want %q bar %q", tc.label, text, bar, tc.text, tc.bar)
			}
		}

		proj := c.get("/projects/" + itoa(pid))
		wantStatus(t, proj, http.StatusOK)
		wantText(t, proj, "Plan: free", "In this project")
		if text, bar := usageRow(t, proj, "Licenses per project"); text != "Licenses per project 1 1 100% full" || bar != "100" {
			t.Fatalf("project licenses row %q bar %q", text, bar)
		}
		if text, _ := usageRow(t, proj, "Injectables per project"); text != "Injectables per project 0 Unlimited" {
			t.Fatalf("project injectables row %q", text)
		}
		wantNoText(t, proj, `data-cap="Projects"`)

		// Lowered below usage: nothing deleted, the panel says so.
		if _, err := n.Service().UpdatePlan(ctx, core.SystemActor(0, "test"), "free", "", func(r *core.Rules) {
			r.MaxLicensesPerProject = i64(0)
		}); err != nil {
			t.Fatal(err)
		}
		proj = c.get("/projects/" + itoa(pid))
		if text, _ := usageRow(t, proj, "Licenses per project"); text != "Licenses per project 1 0 100% over the plan" {
			t.Fatalf("lowered: %q", text)
		}
		wantText(t, c.get("/projects/"+itoa(pid)+"/licenses"), "L")

		// Every member sees the plan; only owners get the policy form.
		n.CreateUser(t, "Acme", "vic@acme.test", core.RoleViewer)
		v := signIn(t, n, "vic@acme.test")
		p = v.get("/settings")
		wantText(t, p, "Plan: free", "Only the organization's owners change the policy")
		wantNoText(t, p, `action="/settings/policy"`)
		wantText(t, v.get("/projects/"+itoa(pid)), "Plan: free")
	})
}

// storedPolicy returns the organization's policy as the store holds it.
func storedPolicy(t *testing.T, n *apptest.Node, orgID int64) string {
	t.Helper()
	o, err := n.Store.Organization(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(o.Policy)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPolicyForm saves the organization's policy from the settings page,
// and shows each refusal in the policy panel with what was posted.
func TestPolicyForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		p := c.get("/settings")
		wantText(t, p, "Organization policy", "Save policy")

		p = c.post("/settings/policy", url.Values{"form": {"policy"}, "forbid_global_keys": {"1"}, "forbid_keys_without_expiry": {"1"},
			"max_key_lifetime": {"90d"}, "default_key_lifetime": {"720h"}, "limit_developer_scopes": {"1"},
			"developer_scopes": {"projects:read", "licenses:read", "licenses:write"}})
		wantRedirect(t, p, "/settings")
		want := `{"global_keys":false,"keys_without_expiry":false,"max_key_lifetime":7776000,` +
			`"developer_scopes":["projects:read","licenses:read","licenses:write"],"default_key_lifetime":2592000}`
		if got := storedPolicy(t, n, acc.OrgID); got != want {
			t.Fatalf("policy %s\nwant   %s", got, want)
		}
		p = c.follow(p)
		if flashOf(p) != "Policy saved." {
			t.Fatalf("flash %q", flashOf(p))
		}
		wantText(t, p, "Global API keys (not bound to a project) Forbidden by your policy", "Longest API key lifetime 90 days (set by your policy)",
			"Default API key lifetime 30 days")
		for _, s := range []string{`name="forbid_global_keys" value="1" checked`, `name="forbid_keys_without_expiry" value="1" checked`,
			`name="max_key_lifetime" type="text" value="90d"`, `name="default_key_lifetime" type="text" value="30d"`,
			`name="limit_developer_scopes" value="1" checked`, `value="licenses:write" checked`} {
			if !strings.Contains(p.Body, s) {
				t.Errorf("the saved form lacks %s", s)
			}
		}
		for _, s := range []string{`name="forbid_api_project_deletion" value="1" checked`, `value="audit:read" checked`} {
			if strings.Contains(p.Body, s) {
				t.Errorf("the saved form holds %s", s)
			}
		}
		if audit := c.get("/audit"); !strings.Contains(audit.Body, "organization.policy") {
			t.Error("the policy change is not in the audit log")
		}

		putOnPlan(t, n, "Acme", "free", core.Rules{Switches: core.Switches{APIProjectDeletion: no(), MaxKeyLifetime: i64(180 * 86400)}})
		wantText(t, c.get("/settings"), "The plan forbids this already.")
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			msg    string
			field  string
		}{
			{"longer than the plan", url.Values{"max_key_lifetime": {"1y"}}, http.StatusForbidden,
				"Your plan (free) allows API keys to live at most 180 days: the policy cannot allow longer.", ""},
			{"default longer than the plan's maximum", url.Values{"default_key_lifetime": {"200d"}}, http.StatusUnprocessableEntity,
				"The default key lifetime must not be longer than the maximum key lifetime (180 days).", "default_key_lifetime"},
			{"default longer than its maximum", url.Values{"max_key_lifetime": {"30d"}, "default_key_lifetime": {"60d"}}, http.StatusUnprocessableEntity,
				"The default key lifetime must not be longer than the maximum key lifetime (30 days).", "default_key_lifetime"},
			{"not a duration", url.Values{"max_key_lifetime": {"forever"}}, http.StatusUnprocessableEntity,
				"The max key lifetime field must be a duration such as 90d, 1y or 36h.", "max_key_lifetime"},
			{"too short", url.Values{"default_key_lifetime": {"10m"}}, http.StatusUnprocessableEntity,
				"The default key lifetime field must be between 3600 seconds (1 hour) and 3153600000 seconds (100 years).", "default_key_lifetime"},
			{"unknown scope", url.Values{"limit_developer_scopes": {"1"}, "developer_scopes": {"licenses:read", "root"}}, http.StatusUnprocessableEntity,
				"The developer scopes field holds an unknown scope.", "developer_scopes"},
			// Unreadable text is refused for every form before it reaches
			// the handler, naming the field.
			{"NUL byte", url.Values{"max_key_lifetime": {"9\x000d"}}, http.StatusUnprocessableEntity, "", "max key lifetime field must be valid UTF-8"},
			{"invalid UTF-8", url.Values{"default_key_lifetime": {"\xff"}}, http.StatusUnprocessableEntity, "", "default key lifetime field must be valid UTF-8"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := storedPolicy(t, n, acc.OrgID)
				tc.form.Set("form", "policy")
				p := c.post("/settings/policy", tc.form)
				wantStatus(t, p, tc.status)
				if tc.msg != "" {
					where := "policy-error"
					if tc.field != "" {
						where = tc.field
					}
					got := fieldError(p, tc.field)
					if tc.field == "" {
						got = policyError(p)
					}
					if got != web.HumanMessage(tc.msg) {
						t.Fatalf("%s: %q, want %q\n%s", where, got, tc.msg, p.text())
					}
				} else {
					wantText(t, p, web.HumanMessage(tc.field))
				}
				if after := storedPolicy(t, n, acc.OrgID); after != before {
					t.Fatalf("a refused policy was saved: %s", after)
				}
				if tc.status == http.StatusForbidden {
					// The form keeps what was posted, and the rest of the page
					// is as it was.
					if !strings.Contains(p.Body, `name="max_key_lifetime" type="text" value="1y"`) {
						t.Error("the refused form lost its values")
					}
					if !strings.Contains(p.Body, `name="name" type="text" value="`) || strings.Contains(p.Body, `<div class="alert alert-error" role="alert">`) {
						t.Error("the refusal leaked into the other forms")
					}
				}
			})
		}

		// A stricter policy than the plan is fine.
		p = c.post("/settings/policy", url.Values{"form": {"policy"}, "forbid_api_project_deletion": {"1"}, "max_key_lifetime": {"90d"}})
		wantRedirect(t, p, "/settings")
		if got := storedPolicy(t, n, acc.OrgID); got != `{"api_project_deletion":false,"max_key_lifetime":7776000}` {
			t.Fatalf("policy %s", got)
		}

		// Only owners set it; the service decides, whatever the page shows.
		n.CreateUser(t, "Acme", "adm@acme.test", core.RoleAdmin)
		adm := signIn(t, n, "adm@acme.test")
		adm.get("/settings")
		p = adm.post("/settings/policy", url.Values{"form": {"policy"}})
		wantStatus(t, p, http.StatusForbidden)
		if got := storedPolicy(t, n, acc.OrgID); got != `{"api_project_deletion":false,"max_key_lifetime":7776000}` {
			t.Fatalf("an admin changed the policy: %s", got)
		}
		if p := adm.post("/settings/policy", url.Values{"form": {"policy"}, "_csrf": {"forged"}}); p.Status < 400 {
			t.Fatalf("a forged form was accepted: %d", p.Status)
		}
	})
}

// policyError returns the refusal shown in the policy panel.
func policyError(p *page) string {
	m := regexp.MustCompile(`<div class="alert alert-error" role="alert" id="policy-error">([^<]*)</div>`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(htmlText(m[1]))
}

func htmlText(s string) string { return (&page{Body: s}).text() }
