package service

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// Plans (issue 15) are set by the instance operator: only the system actor
// (admin commands) manages them. An organization's plan and policy are
// read inside the transaction of every creation they limit, never cached:
// a plan changed on one node holds on every node from the next request.

// ReasonPolicyLimit is the code of a refusal by the organization's own
// policy (403), as PLAN_LIMIT is by its plan.
const ReasonPolicyLimit = core.ReasonPolicyLimit

// Bounds of a key lifetime in a plan or a policy, in seconds.
const (
	minKeyLifetime = 3600
	maxKeyLifetime = 100 * 365 * 86400
)

var errOperatorOnly = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only the instance operator (latchkey admin) can manage plans."}

func requireOperator(actor *core.Actor) error {
	if actor.Type != core.ActorSystem {
		return errOperatorOnly
	}
	return nil
}

// validatePlan checks a plan's name and rules.
func validatePlan(name string, rules core.Rules) error {
	p := core.Problems{}
	checkPlanName(p, name)
	for _, c := range core.Caps {
		if v := rules.Limit(c); v != nil && *v < 0 {
			p.Add("max_"+string(c), "The max "+label(string(c))+" field must be at least 0.")
		}
	}
	checkLifetime(p, "max_key_lifetime", rules.MaxKeyLifetime)
	return p.Err()
}

func checkPlanName(p core.Problems, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		p.Add("name", "The name field is required.")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		p.Add("name", "The name field must be printable text.")
	case utf8.RuneCountInString(name) > 64:
		p.Add("name", "The name field must not be greater than 64 characters.")
	}
}

func checkLifetime(p core.Problems, field string, v *int64) {
	if v != nil && (*v < minKeyLifetime || *v > maxKeyLifetime) {
		p.Add(field, fmt.Sprintf("The %s field must be between %d seconds (1 hour) and %d seconds (100 years).", label(field), minKeyLifetime, maxKeyLifetime))
	}
}

// CreatePlan adds a plan (operator only).
func (s *Service) CreatePlan(ctx context.Context, actor *core.Actor, name string, rules core.Rules) (*core.Plan, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if err := validatePlan(name, rules); err != nil {
		return nil, err
	}
	p := &core.Plan{Name: name, Rules: rules}
	if err := s.store.CreatePlan(ctx, p); err != nil {
		if core.IsCode(err, core.EConflict) {
			return nil, core.Invalid("name", "A plan named "+quoteShort(name)+" already exists.")
		}
		return nil, err
	}
	return p, nil
}

// Plans lists every plan with how many organizations are on it.
func (s *Service) Plans(ctx context.Context, actor *core.Actor) ([]core.Plan, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	return s.store.ListPlans(ctx)
}

// PlanByName returns a plan (operator only).
func (s *Service) PlanByName(ctx context.Context, actor *core.Actor, name string) (*core.Plan, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	return s.store.PlanByName(ctx, strings.TrimSpace(name))
}

// UpdatePlan applies change to the named plan's rules and renames it when
// newName is not "". Lowering a cap deletes nothing: it blocks creations
// over it.
func (s *Service) UpdatePlan(ctx context.Context, actor *core.Actor, name, newName string, change func(*core.Rules)) (*core.Plan, error) {
	if err := requireOperator(actor); err != nil {
		return nil, err
	}
	var out *core.Plan
	err := s.store.InTx(ctx, func(st core.Store) error {
		p, err := st.PlanByName(ctx, strings.TrimSpace(name))
		if err != nil {
			return err
		}
		rules := p.Rules
		change(&rules)
		newName = strings.TrimSpace(newName)
		check := p.Name
		if newName != "" {
			check = newName
		}
		if err := validatePlan(check, rules); err != nil {
			return err
		}
		out, err = st.UpdatePlan(ctx, p.ID, newName, rules)
		if core.IsCode(err, core.EConflict) {
			return core.Invalid("name", "A plan named "+quoteShort(newName)+" already exists.")
		}
		return err
	})
	return out, err
}

// DeletePlan removes a plan no organization is on.
func (s *Service) DeletePlan(ctx context.Context, actor *core.Actor, name string) error {
	if err := requireOperator(actor); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(st core.Store) error {
		p, err := st.PlanByName(ctx, strings.TrimSpace(name))
		if err != nil {
			return err
		}
		return st.DeletePlan(ctx, p.ID)
	})
}

// SetOrganizationPlan puts an organization on the named plan ("" for
// none). The write is in the database every node reads at each creation,
// so it holds on every node at once. Audit-logged in the organization.
func (s *Service) SetOrganizationPlan(ctx context.Context, actor *core.Actor, orgName, planName string) (*core.Organization, *core.Plan, error) {
	if err := requireOperator(actor); err != nil {
		return nil, nil, err
	}
	var o *core.Organization
	var plan *core.Plan
	err := s.store.InTx(ctx, func(st core.Store) error {
		var err error
		if o, err = st.OrganizationByName(ctx, strings.TrimSpace(orgName)); err != nil {
			return err
		}
		plan = nil
		var planID int64
		if strings.TrimSpace(planName) != "" {
			if plan, err = st.PlanByName(ctx, strings.TrimSpace(planName)); err != nil {
				return err
			}
			planID = plan.ID
		}
		if err := st.SetOrganizationPlan(ctx, o.ID, planID); err != nil {
			return err
		}
		o.PlanID = planID
		name := ""
		if plan != nil {
			name = plan.Name
		}
		sys := *actor
		sys.OrgID = o.ID
		return audit(ctx, st, sys.Audit("organization.set_plan", "organization", o.ID, 0, map[string]any{"plan": name}))
	})
	return o, plan, err
}

// orgRules is what limits an organization: its plan (nil: none) and its
// policy, read in the transaction that creates.
type orgRules struct {
	Org  *core.Organization
	Plan *core.Plan
}

func (s *Service) rulesOf(ctx context.Context, st core.Store, orgID int64) (*orgRules, error) {
	o, err := st.Organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	r := &orgRules{Org: o}
	if o.PlanID != 0 {
		if r.Plan, err = st.Plan(ctx, o.PlanID); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Switches returns what holds: the plan's and the policy's, the stricter
// of each.
func (r *orgRules) Switches() core.Switches {
	if r.Plan == nil {
		return r.Org.Policy.Switches
	}
	return core.Stricter(r.Plan.Rules.Switches, r.Org.Policy.Switches)
}

// Forbid returns the refusal when the plan or the policy forbids what
// allowed tests; what names it ("global API keys").
func (r *orgRules) Forbid(allowed func(core.Switches) bool, what string) error {
	if r.Plan != nil && !allowed(r.Plan.Rules.Switches) {
		return core.PlanLimit("Your plan (%s) does not allow %s.", r.Plan.Name, what)
	}
	if !allowed(r.Org.Policy.Switches) {
		return policyLimit("Your organization's policy does not allow " + what + ".")
	}
	return nil
}

// lifetimeText writes seconds as days or hours for a message.
func lifetimeText(sec int64) string {
	switch {
	case sec%86400 == 0:
		return plural(sec/86400, "day")
	case sec%3600 == 0:
		return plural(sec/3600, "hour")
	}
	return plural(sec, "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// checkCap refuses creating one more of what c counts when the
// organization's plan caps it and the count has reached the cap. Call it
// inside the creating transaction, after the access checks and before the
// request's fields are reported (DevPayr checks the project count before
// validation): on PostgreSQL the count locks the organization's row, so a
// cap of N admits N across every node.
func (s *Service) checkCap(ctx context.Context, st core.Store, orgID, projectID int64, c core.Cap) error {
	r, err := s.rulesOf(ctx, st, orgID)
	if err != nil || r.Plan == nil {
		return err
	}
	return r.checkCap(ctx, st, projectID, c, 1)
}

// checkCap refuses adding n of what c counts beyond the plan's cap.
func (r *orgRules) checkCap(ctx context.Context, st core.Store, projectID int64, c core.Cap, n int64) error {
	if r.Plan == nil {
		return nil
	}
	limit := r.Plan.Rules.Limit(c)
	if limit == nil {
		return nil
	}
	u, err := st.Usage(ctx, r.Org.ID, projectID, c)
	if err != nil {
		return err
	}
	if u[c]+n > *limit {
		return core.PlanLimit("Your plan (%s) allows %d %s.", r.Plan.Name, *limit, c.Noun())
	}
	return nil
}

// Allowance is an organization's plan, policy and what it uses, for the
// dashboard and GET /api/v1/organization.
type Allowance struct {
	Org       *core.Organization
	Plan      *core.Plan // nil: no plan, no limits
	Effective core.Switches
	// Usage counts the organization's caps, and the per-project caps in
	// the project asked for.
	Usage core.Usage
}

// Allowance returns the organization's plan, policy and usage; projectID,
// when not 0, adds that project's per-project counts.
func (s *Service) Allowance(ctx context.Context, actor *core.Actor, projectID int64) (*Allowance, error) {
	if projectID != 0 {
		if _, err := s.projectFor(ctx, s.store, actor, projectID); err != nil {
			return nil, err
		}
	}
	r, err := s.rulesOf(ctx, s.store, actor.OrgID)
	if err != nil {
		return nil, err
	}
	u, err := s.store.Usage(ctx, actor.OrgID, projectID)
	if err != nil {
		return nil, err
	}
	return &Allowance{Org: r.Org, Plan: r.Plan, Effective: r.Switches(), Usage: u}, nil
}

// SetPolicy replaces the organization's policy (owners only). A policy may
// only be stricter than the plan: allowing what the plan forbids, or a
// longer key lifetime than the plan's, is refused with PLAN_LIMIT.
func (s *Service) SetPolicy(ctx context.Context, actor *core.Actor, pol core.Policy) (*core.Organization, error) {
	if err := requirePolicyOwner(actor); err != nil {
		return nil, err
	}
	p := core.Problems{}
	checkLifetime(p, "max_key_lifetime", pol.MaxKeyLifetime)
	checkLifetime(p, "default_key_lifetime", pol.DefaultKeyLifetime)
	if pol.DeveloperScopes != nil && *pol.DeveloperScopes&^core.NewScopeSet(core.AllScopes...) != 0 {
		p.Add("developer_scopes", "The developer scopes field holds an unknown scope.")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var out *core.Organization
	err := s.store.InTx(ctx, func(st core.Store) error {
		r, err := s.rulesOf(ctx, st, actor.OrgID)
		if err != nil {
			return err
		}
		if r.Plan != nil {
			plan := r.Plan.Rules.Switches
			for _, sw := range []struct {
				plan, pol *bool
				what      string
			}{
				{plan.GlobalKeys, pol.GlobalKeys, "global API keys"},
				{plan.APIProjectDeletion, pol.APIProjectDeletion, "deleting projects through the API"},
				{plan.KeysWithoutExpiry, pol.KeysWithoutExpiry, "API keys without an expiry"},
				{plan.LiveKeysWithoutIPAllowlist, pol.LiveKeysWithoutIPAllowlist, "live API keys without an IP allow-list"},
			} {
				if !core.Allowed(sw.plan) && sw.pol != nil && *sw.pol {
					return core.PlanLimit("Your plan (%s) does not allow %s: the policy cannot allow them.", r.Plan.Name, sw.what)
				}
			}
			if plan.MaxKeyLifetime != nil && pol.MaxKeyLifetime != nil && *pol.MaxKeyLifetime > *plan.MaxKeyLifetime {
				return core.PlanLimit("Your plan (%s) allows API keys to live at most %s: the policy cannot allow longer.",
					r.Plan.Name, lifetimeText(*plan.MaxKeyLifetime))
			}
		}
		eff := pol.Switches
		if r.Plan != nil {
			eff = core.Stricter(r.Plan.Rules.Switches, pol.Switches)
		}
		if pol.DefaultKeyLifetime != nil && eff.MaxKeyLifetime != nil && *pol.DefaultKeyLifetime > *eff.MaxKeyLifetime {
			return core.Invalid("default_key_lifetime", "The default key lifetime must not be longer than the maximum key lifetime ("+
				lifetimeText(*eff.MaxKeyLifetime)+").")
		}
		if err := st.SetOrganizationPolicy(ctx, actor.OrgID, pol); err != nil {
			return err
		}
		r.Org.Policy = pol
		out = r.Org
		return audit(ctx, st, actor.Audit("organization.policy", "organization", actor.OrgID, 0, policyAudit(pol)))
	})
	return out, err
}

func policyAudit(pol core.Policy) map[string]any {
	d := map[string]any{}
	for k, v := range map[string]*bool{"global_keys": pol.GlobalKeys, "api_project_deletion": pol.APIProjectDeletion,
		"keys_without_expiry": pol.KeysWithoutExpiry, "live_keys_without_ip_allowlist": pol.LiveKeysWithoutIPAllowlist} {
		if v != nil {
			d[k] = *v
		}
	}
	for k, v := range map[string]*int64{"max_key_lifetime": pol.MaxKeyLifetime, "default_key_lifetime": pol.DefaultKeyLifetime} {
		if v != nil {
			d[k] = *v
		}
	}
	if pol.DeveloperScopes != nil {
		d["developer_scopes"] = pol.DeveloperScopes.Strings()
	}
	return d
}
