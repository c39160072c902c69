package store

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/latchkey/latchkey/internal/core"
)

// rulesArg stores a plan's rules, a policy or license defaults as the JSON
// object the core types marshal to.
func rulesArg(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// rulesScan reads such an object back; an empty or unreadable one is the
// zero value (no rules), which the migration's default '{}' also is.
type rulesScan struct{ dst any }

func (r rulesScan) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, r.dst)
}

const planColumns = `id, name, rules, created_at, updated_at,
	(SELECT count(*) FROM organizations o WHERE o.plan_id = plans.id)`

func scanPlan(row interface{ Scan(...any) error }) (*core.Plan, error) {
	var p core.Plan
	err := row.Scan(&p.ID, &p.Name, rulesScan{&p.Rules}, utc{&p.CreatedAt}, utc{&p.UpdatedAt}, &p.Organizations)
	return &p, err
}

// CreatePlan inserts p.
func (s *Store) CreatePlan(ctx context.Context, p *core.Plan) error {
	now := s.clock()
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO plans (name, rules, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id`,
		p.Name, rulesArg(p.Rules), now).Scan(&p.ID)
	if err != nil {
		return s.conflict(err, "create plan", "A plan with this name already exists.")
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

// Plan returns the plan with the given ID.
func (s *Store) Plan(ctx context.Context, id int64) (*core.Plan, error) {
	p, err := scanPlan(s.r().QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, id))
	return p, s.wrap(notFound(err, "Plan"), "plan")
}

// PlanByName returns the plan with the given name, matched
// case-insensitively.
func (s *Store) PlanByName(ctx context.Context, name string) (*core.Plan, error) {
	p, err := scanPlan(s.r().QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE lower(name) = lower($1)`, name))
	return p, s.wrap(notFound(err, "Plan"), "plan by name")
}

// ListPlans returns every plan by name.
func (s *Store) ListPlans(ctx context.Context) ([]core.Plan, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+planColumns+` FROM plans ORDER BY lower(name), id`)
	if err != nil {
		return nil, s.wrap(err, "list plans")
	}
	defer rows.Close()
	var out []core.Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, s.wrap(err, "list plans")
		}
		out = append(out, *p)
	}
	return out, s.wrap(rows.Err(), "list plans")
}

// UpdatePlan replaces the plan's rules, and its name when name is not "".
func (s *Store) UpdatePlan(ctx context.Context, id int64, name string, rules core.Rules) (*core.Plan, error) {
	var p *core.Plan
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if name != "" {
			set.add("name", name)
		}
		set.add("rules", rulesArg(rules))
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE plans SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return s.conflict(err, "update plan", "A plan with this name already exists.")
		}
		if err := affected(res, "Plan"); err != nil {
			return err
		}
		p, err = scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, id))
		return err
	})
	return p, s.wrap(err, "update plan")
}

// DeletePlan removes a plan no organization is on.
func (s *Store) DeletePlan(ctx context.Context, id int64) error {
	return s.wrap(s.inTx(ctx, func(q querier) error {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM organizations WHERE plan_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return core.Errorf(core.EConflict, "The plan is used by %d organization(s): move them to another plan first.", n)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM plans WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return affected(res, "Plan")
	}), "delete plan")
}

// SetOrganizationPlan puts the organization on planID, or on no plan.
func (s *Store) SetOrganizationPlan(ctx context.Context, orgID, planID int64) error {
	return s.wrap(s.inTx(ctx, func(q querier) error {
		if planID != 0 {
			var id int64
			if err := q.QueryRowContext(ctx, `SELECT id FROM plans WHERE id = $1`, planID).Scan(&id); err != nil {
				return notFound(err, "Plan")
			}
		}
		res, err := q.ExecContext(ctx, `UPDATE organizations SET plan_id = $1, updated_at = $2 WHERE id = $3`,
			nullID(planID), s.clock(), orgID)
		if err != nil {
			return err
		}
		return affected(res, "Organization")
	}), "set organization plan")
}

// SetOrganizationPolicy replaces the organization's policy.
func (s *Store) SetOrganizationPolicy(ctx context.Context, orgID int64, p core.Policy) error {
	return s.setOrgJSON(ctx, orgID, "policy", p)
}

// SetOrganizationLicenseDefaults replaces the organization-wide license
// defaults.
func (s *Store) SetOrganizationLicenseDefaults(ctx context.Context, orgID int64, d core.LicenseDefaults) error {
	return s.setOrgJSON(ctx, orgID, "license_defaults", d)
}

func (s *Store) setOrgJSON(ctx context.Context, orgID int64, column string, v any) error {
	res, err := s.w().ExecContext(ctx, `UPDATE organizations SET `+column+` = $1, updated_at = $2 WHERE id = $3`,
		rulesArg(v), s.clock(), orgID)
	if err != nil {
		return s.wrap(err, "set organization "+column)
	}
	return s.wrap(affected(res, "Organization"), "set organization "+column)
}

// Usage counts what a plan caps. On PostgreSQL, inside a transaction, the
// organization's row is locked first: two nodes creating under one cap
// then count one after the other.
func (s *Store) Usage(ctx context.Context, orgID, projectID int64, caps ...core.Cap) (core.Usage, error) {
	q := s.r()
	if s.d.ForUpdate != "" && s.tx != nil {
		q = s.w()
		var id int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM organizations WHERE id = $1`+s.d.ForUpdate, orgID).Scan(&id); err != nil {
			return nil, s.wrap(notFound(err, "Organization"), "usage")
		}
	}
	u := core.Usage{}
	counts := []struct {
		cap core.Cap
		sql string
		arg int64
	}{
		{core.CapProjects, `SELECT count(*) FROM projects WHERE org_id = $1 AND deleted_at IS NULL`, orgID},
		{core.CapAPIKeys, `SELECT count(*) FROM api_keys WHERE org_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`, orgID},
		{core.CapMembers, `SELECT (SELECT count(*) FROM memberships WHERE org_id = $1) + (SELECT count(*) FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND digest IS NOT NULL AND expires_at > $2)`, orgID},
		{core.CapWebhookEndpoints, `SELECT count(*) FROM webhook_endpoints WHERE org_id = $1 AND source = 'api'`, orgID},
	}
	if projectID != 0 {
		counts = append(counts, []struct {
			cap core.Cap
			sql string
			arg int64
		}{
			{core.CapLicensesPerProject, `SELECT count(*) FROM licenses WHERE project_id = $1`, projectID},
			{core.CapDomainsPerProject, `SELECT count(*) FROM domains WHERE project_id = $1`, projectID},
			{core.CapInjectablesPerProject, `SELECT count(*) FROM injectables WHERE project_id = $1`, projectID},
		}...)
	}
	now := ts(s.clock())
	for _, c := range counts {
		if len(caps) > 0 && !slices.Contains(caps, c.cap) {
			continue
		}
		args := []any{c.arg}
		if c.cap == core.CapAPIKeys || c.cap == core.CapMembers {
			args = append(args, now)
		}
		var n int64
		if err := q.QueryRowContext(ctx, c.sql, args...).Scan(&n); err != nil {
			return nil, s.wrap(err, "usage "+string(c.cap))
		}
		u[c.cap] = n
	}
	return u, nil
}
