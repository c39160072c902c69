package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// The organization's plan, policy and usage (issue 15). Every key of the
// organization may read them (they are what its requests are held to);
// only an owner's live, organization-wide key with api_keys:write may set
// the policy.

// policyFields are the fields of a policy body. An unknown field is
// refused rather than ignored: a misspelt switch would otherwise leave a
// security rule silently unset.
var policyFields = []string{"global_keys", "api_project_deletion", "keys_without_expiry", "max_key_lifetime",
	"live_keys_without_ip_allowlist", "developer_scopes", "default_key_lifetime"}

var errPolicyProjectKey = &core.Error{Code: core.EForbidden, Reason: core.ReasonProjectMismatch,
	Message: "A project-bound API key cannot change the organization's policy: use an organization-wide key."}

var errPolicyTestKey = &core.Error{Code: core.EForbidden, Reason: core.ReasonTestModeReadOnly,
	Message: "Test API keys cannot change the organization's policy: use a live key."}

func (h *api) showOrganization(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	projectID := a.ProjectID
	if s := r.URL.Query().Get("project"); s != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id <= 0 {
			return core.Invalid("project", "The project field must be a project ID (a positive integer).")
		}
		projectID = id
	}
	al, err := h.svc.Allowance(r.Context(), a, projectID)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", organizationView(al, projectID))
}

func (h *api) setPolicy(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	if err := a.Require(core.ScopeAPIKeysWrite); err != nil {
		return err
	}
	switch {
	case a.Type != core.ActorSystem && !a.Role.ManagesMembers():
		return &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
			Message: "Only an owner of the organization can set its policy."}
	case a.ProjectID != 0:
		return errPolicyProjectKey
	case a.TestMode:
		return errPolicyTestKey
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	pol, err := parsePolicy(b)
	if err != nil {
		return err
	}
	if _, err := h.svc.SetPolicy(r.Context(), a, pol); err != nil {
		return err
	}
	al, err := h.svc.Allowance(r.Context(), a, 0)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Policy updated.", organizationView(al, 0))
}

// parsePolicy reads a whole policy: a field left out or sent as null is
// not set (the plan decides).
func parsePolicy(b *body) (core.Policy, error) {
	var pol core.Policy
	for k := range b.fields {
		if !slices.Contains(policyFields, k) {
			b.problems().Add(k, "The "+k+" field is not a policy field (one of "+strings.Join(policyFields, ", ")+").")
		}
	}
	boolean := func(name string) *bool {
		if v, ok := b.boolean(name); ok {
			return &v
		}
		return nil
	}
	pol.GlobalKeys = boolean("global_keys")
	pol.APIProjectDeletion = boolean("api_project_deletion")
	pol.KeysWithoutExpiry = boolean("keys_without_expiry")
	pol.LiveKeysWithoutIPAllowlist = boolean("live_keys_without_ip_allowlist")
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"max_key_lifetime", &pol.MaxKeyLifetime}, {"default_key_lifetime", &pol.DefaultKeyLifetime}} {
		if n, ok := b.integer(f.name); ok {
			*f.dst = &n
		}
	}
	if names, ok := b.strList("developer_scopes"); ok {
		var set core.ScopeSet
		for _, n := range names {
			s, known := core.ParseScope(strings.TrimSpace(n))
			if !known {
				b.problems().Add("developer_scopes", "The scope "+strconv.Quote(shortText(n))+" is not a valid scope.")
				continue
			}
			set |= s
		}
		pol.DeveloperScopes = &set
	}
	return pol, b.err()
}

// shortText cuts user input for an error message.
func shortText(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// organizationView is GET /api/v1/organization's answer.
func organizationView(al *service.Allowance, projectID int64) map[string]any {
	var plan any
	var rules *core.Rules
	if al.Plan != nil {
		rules = &al.Plan.Rules
		plan = map[string]any{"name": al.Plan.Name, "rules": rulesView(al.Plan.Rules)}
	}
	usage := map[string]any{}
	for _, c := range core.Caps {
		if c.PerProject() && projectID == 0 {
			continue
		}
		var limit *int64
		if rules != nil {
			limit = rules.Limit(c)
		}
		usage[string(c)] = map[string]any{"used": al.Usage[c], "limit": limit}
	}
	pol := al.Org.Policy
	var devScopes any
	if pol.DeveloperScopes != nil {
		devScopes = pol.DeveloperScopes.Strings()
	}
	policy := switchesView(pol.Switches)
	policy["developer_scopes"] = devScopes
	policy["default_key_lifetime"] = pol.DefaultKeyLifetime
	eff := al.Effective
	effective := map[string]any{
		"global_keys":                    core.Allowed(eff.GlobalKeys),
		"api_project_deletion":           core.Allowed(eff.APIProjectDeletion),
		"keys_without_expiry":            core.Allowed(eff.KeysWithoutExpiry) && eff.MaxKeyLifetime == nil,
		"max_key_lifetime":               eff.MaxKeyLifetime,
		"live_keys_without_ip_allowlist": core.Allowed(eff.LiveKeysWithoutIPAllowlist),
	}
	v := map[string]any{
		"id": al.Org.ID, "name": al.Org.Name, "slug": al.Org.Slug,
		"plan": plan, "policy": policy, "effective": effective, "usage": usage,
	}
	if projectID != 0 {
		v["usage_project_id"] = projectID
	}
	return v
}

// rulesView writes every cap and switch, null when it does not limit.
func rulesView(r core.Rules) map[string]any {
	v := switchesView(r.Switches)
	for _, c := range core.Caps {
		v["max_"+string(c)] = r.Limit(c)
	}
	return v
}

func switchesView(s core.Switches) map[string]any {
	return map[string]any{
		"global_keys": s.GlobalKeys, "api_project_deletion": s.APIProjectDeletion,
		"keys_without_expiry": s.KeysWithoutExpiry, "max_key_lifetime": s.MaxKeyLifetime,
		"live_keys_without_ip_allowlist": s.LiveKeysWithoutIPAllowlist,
	}
}

var errOrgProjectKey = &core.Error{Code: core.EForbidden, Reason: core.ReasonProjectMismatch,
	Message: "A project-bound API key cannot rename the organization: use an organization-wide key."}

var errOrgTestKey = &core.Error{Code: core.EForbidden, Reason: core.ReasonTestModeReadOnly,
	Message: "Test API keys cannot rename the organization: use a live key."}

// renameOrganization is PATCH /api/v1/organization: an owner's live,
// organization-wide key with projects:write renames the organization.
// Deleting one is left to the dashboard, behind a typed confirmation.
func (h *api) renameOrganization(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	if err := a.Require(core.ScopeProjectsWrite); err != nil {
		return err
	}
	switch {
	case a.ProjectID != 0:
		return errOrgProjectKey
	case a.TestMode:
		return errOrgTestKey
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	name, present := b.str("name")
	if err := b.err(); err != nil {
		return err
	}
	if !present {
		return core.Invalid("name", "The name field is required.")
	}
	if _, err := h.svc.RenameOrganization(r.Context(), a, name); err != nil {
		return err
	}
	al, err := h.svc.Allowance(r.Context(), a, 0)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Organization renamed.", organizationView(al, 0))
}
