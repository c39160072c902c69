package web

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The plan panels (issue 15): what the organization's plan allows and how
// much of it is used, on the settings page (the organization's caps) and
// on each project's page (the per-project caps). The numbers are read
// when the page is drawn, as every creation checks them.

// usageRow is one cap and what is used against it.
type usageRow struct {
	Label string
	Used  int64
	Limit *int64 // nil: no cap
	// PerProject rows on the settings page show the cap only: each
	// project counts its own.
	PerProject bool
}

// Percent is how full the cap is, 0 to 100, for the bar.
func (u usageRow) Percent() int64 {
	switch {
	case u.Limit == nil:
		return 0
	case *u.Limit <= 0 || u.Used >= *u.Limit:
		return 100
	}
	return u.Used * 100 / *u.Limit
}

// LimitText is the cap for people: a plan's 0 is a cap of zero, not
// "unlimited" as on a license.
func (u usageRow) LimitText() string {
	if u.Limit == nil {
		return "Unlimited"
	}
	return strconv.FormatInt(*u.Limit, 10)
}

// Full reports that the next creation will be refused.
func (u usageRow) Full() bool { return u.Limit != nil && u.Used >= *u.Limit }

// Over reports usage beyond the cap: the plan was lowered below it.
func (u usageRow) Over() bool { return u.Limit != nil && u.Used > *u.Limit }

// capLabels name the caps as the panels show them.
var capLabels = map[core.Cap]string{
	core.CapProjects:              "Projects",
	core.CapLicensesPerProject:    "Licenses per project",
	core.CapDomainsPerProject:     "Domains per project",
	core.CapInjectablesPerProject: "Injectables per project",
	core.CapAPIKeys:               "API keys (live: not revoked or expired)",
	core.CapMembers:               "Members and pending invitations",
	core.CapWebhookEndpoints:      "Webhook endpoints",
}

// switchRow is one of the plan's switches and who decides it.
type switchRow struct {
	Label string
	Field string // the policy form's checkbox
	// By is "plan" or "policy" when one of them forbids, else "".
	By string
}

// planUsage is what the plan panel draws.
type planUsage struct {
	Plan *core.Plan // nil: no plan, no limits
	Rows []usageRow
	// Switches and the key lifetimes are on the settings page only.
	Switches []switchRow
	// MaxKeyLifetime is the shorter of the plan's and the policy's, in
	// words ("" when neither sets one); By says whose it is.
	MaxKeyLifetime   string
	MaxKeyLifetimeBy string
	// DefaultKeyLifetime is the policy's, in words.
	DefaultKeyLifetime string
	// Project is set on a project's page.
	Project bool
}

// planUsage reads the organization's plan and usage; projectID (not 0)
// gives a project's page its per-project rows.
func (d *dashboard) planUsage(r *http.Request, projectID int64) (*planUsage, error) {
	a, err := d.svc.Allowance(r.Context(), actorOf(r), projectID)
	if err != nil {
		return nil, err
	}
	return usageOf(a, projectID), nil
}

func usageOf(a *service.Allowance, projectID int64) *planUsage {
	u := &planUsage{Plan: a.Plan, Project: projectID != 0}
	var rules core.Rules
	if a.Plan != nil {
		rules = a.Plan.Rules
	}
	for _, c := range core.Caps {
		if projectID != 0 && !c.PerProject() {
			continue
		}
		u.Rows = append(u.Rows, usageRow{Label: capLabels[c], Used: a.Usage[c], Limit: rules.Limit(c),
			PerProject: projectID == 0 && c.PerProject()})
	}
	if projectID != 0 {
		return u
	}
	pol := a.Org.Policy
	for _, sw := range switchDefs {
		row := switchRow{Label: sw.label, Field: sw.field}
		switch {
		case a.Plan != nil && !core.Allowed(*sw.of(&rules.Switches)):
			row.By = "plan"
		case !core.Allowed(*sw.of(&pol.Switches)):
			row.By = "policy"
		}
		u.Switches = append(u.Switches, row)
	}
	if v := a.Effective.MaxKeyLifetime; v != nil {
		u.MaxKeyLifetime = lifetimeWords(*v)
		u.MaxKeyLifetimeBy = "policy"
		if rules.MaxKeyLifetime != nil && *rules.MaxKeyLifetime == *v {
			u.MaxKeyLifetimeBy = "plan"
		}
	}
	if v := pol.DefaultKeyLifetime; v != nil {
		u.DefaultKeyLifetime = lifetimeWords(*v)
	}
	return u
}

// switchDef is one switch: how pages name it, its form field, and where
// it is in Switches.
type switchDef struct {
	label string
	field string // the policy form's checkbox that forbids it
	of    func(*core.Switches) **bool
}

var switchDefs = []switchDef{
	{"Global API keys (not bound to a project)", "forbid_global_keys", func(s *core.Switches) **bool { return &s.GlobalKeys }},
	{"Deleting projects through the API", "forbid_api_project_deletion", func(s *core.Switches) **bool { return &s.APIProjectDeletion }},
	{"API keys without an expiry", "forbid_keys_without_expiry", func(s *core.Switches) **bool { return &s.KeysWithoutExpiry }},
	{"Live API keys without an IP allow-list", "forbid_live_keys_without_ip_allowlist", func(s *core.Switches) **bool { return &s.LiveKeysWithoutIPAllowlist }},
}

// lifetimeWords writes a key lifetime for people: "90 days", "36 hours".
func lifetimeWords(sec int64) string {
	n, unit := sec, "second"
	switch {
	case sec%86400 == 0:
		n, unit = sec/86400, "day"
	case sec%3600 == 0:
		n, unit = sec/3600, "hour"
	case sec%60 == 0:
		n, unit = sec/60, "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// lifetimeInput writes a key lifetime as the policy form reads it back
// ("90d", "36h", "5400").
func lifetimeInput(sec int64) string {
	switch {
	case sec%86400 == 0:
		return strconv.FormatInt(sec/86400, 10) + "d"
	case sec%3600 == 0:
		return strconv.FormatInt(sec/3600, 10) + "h"
	}
	return strconv.FormatInt(sec, 10)
}

// orgSettings is the organization part of the settings page: the plan
// panel, and the policy form (owners) or what the policy says (others).
type orgSettings struct {
	Usage *planUsage
	// Policy is the policy form: as saved, or as posted when refused.
	Policy *form
	Scopes []core.Scope
}

// orgSettings builds the organization panels of the settings page. A
// posted policy form (marked form=policy) is shown in its own panel with
// its refusal; the rest of the page gets a fresh form.
func (d *dashboard) orgSettings(r *http.Request, f *form) (*orgSettings, *form, error) {
	a, err := d.svc.Allowance(r.Context(), actorOf(r), 0)
	if err != nil {
		return nil, nil, err
	}
	o := &orgSettings{Usage: usageOf(a, 0), Scopes: core.AllScopes}
	if f.Get("form") == "policy" {
		o.Policy, f = f, newForm()
		return o, f, nil
	}
	o.Policy = policyValues(a.Org.Policy)
	return o, f, nil
}

// projectPlanUsage is the project page's panel: nil when the actor may
// not see it, so the page still draws.
func (d *dashboard) projectPlanUsage(r *http.Request, projectID int64) (*planUsage, error) {
	u, err := d.planUsage(r, projectID)
	if err != nil {
		if _, ok := publicError(err, r); ok {
			return nil, nil
		}
		return nil, err
	}
	return u, nil
}
