package app

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// newOrgCmd is "latchkey org": the organization's plan, policy and usage
// (issue 15), over the API.
func newOrgCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Show the organization's plan, policy and usage; set its policy and license defaults",
		Long: `Show the plan the instance operator gave the organization, its owners' policy, what holds
(the stricter of both) and the usage against every cap; set the policy (an owner's live,
organization-wide key with api_keys:write). See docs/plans.md.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)

	var project int64
	showCmd := &cobra.Command{
		Use:     "show [--project ID]",
		Short:   "Show the plan, policy, effective rules and usage",
		Example: "  latchkey org show\n  latchkey org show --project 7 -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if project < 0 {
				return usagef("--project: must be a project ID")
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			o, err := cl.Organization.Get(cmd.Context(), project)
			if err != nil {
				return err
			}
			return c.printOrg(cmd, o)
		},
	}
	showCmd.Flags().Int64Var(&project, "project", 0, "add this project's per-project usage")
	_ = showCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))

	policyCmd := &cobra.Command{Use: "policy", Short: "Set the organization's policy"}
	var pf policyFlags
	setCmd := &cobra.Command{
		Use:   "set [--global-keys true|false|unset] [--max-key-lifetime 90d|unset] … [--clear]",
		Short: "Change the policy: only the flags given (the others are kept; --clear starts empty)",
		Long: `Change the organization's policy. Each switch takes true, false or unset (leave it to the
plan); lifetimes take a duration (90d, 720h, 3600 seconds) or unset; --developer-scopes takes a
comma-separated list of scopes, "" for none, or unset. The policy can only be stricter than
the plan: allowing what the plan forbids is refused (PLAN_LIMIT).

Scopes: ` + strings.Join(core.NewScopeSet(core.AllScopes...).Strings(), ", ") + `.` + connectionHelp,
		Example: `  latchkey org policy set --global-keys false --max-key-lifetime 90d --default-key-lifetime 30d
  latchkey org policy set --developer-scopes licenses:read,licenses:write
  latchkey org policy set --clear`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			var pol client.Policy
			if !pf.clear {
				o, err := cl.Organization.Get(cmd.Context(), 0)
				if err != nil {
					return err
				}
				pol = o.Policy
			}
			if err := pf.apply(cmd, &pol); err != nil {
				return err
			}
			o, err := cl.Organization.SetPolicy(cmd.Context(), pol)
			if err != nil {
				return err
			}
			return c.printOrg(cmd, o)
		},
	}
	pf.add(setCmd)
	policyCmd.AddCommand(setCmd)
	cmd.AddCommand(showCmd, policyCmd, newOrgDefaultsCmd(c))
	return cmd
}

// policyFlags are "org policy set"'s flags, read only when given.
type policyFlags struct {
	globalKeys, apiProjectDeletion, keysWithoutExpiry, liveKeysWithoutIPs string
	maxLifetime, defaultLifetime, developerScopes                         string
	clear                                                                 bool
}

func (f *policyFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.globalKeys, "global-keys", "", "allow API keys bound to no project: true, false or unset")
	fl.StringVar(&f.apiProjectDeletion, "api-project-deletion", "", "allow deleting projects with an API key: true, false or unset")
	fl.StringVar(&f.keysWithoutExpiry, "keys-without-expiry", "", "allow API keys without an expiry: true, false or unset")
	fl.StringVar(&f.liveKeysWithoutIPs, "live-keys-without-ip-allowlist", "", "allow live API keys without allowed IPs: true, false or unset")
	fl.StringVar(&f.maxLifetime, "max-key-lifetime", "", "longest an API key may live (90d, 720h) or unset")
	fl.StringVar(&f.defaultLifetime, "default-key-lifetime", "", "expiry given to keys created without one (30d) or unset")
	fl.StringVar(&f.developerScopes, "developer-scopes", "", `the most developers' keys may hold (s1,s2; "" for none) or unset`)
	fl.BoolVar(&f.clear, "clear", false, "start from an empty policy rather than the current one")
	for _, name := range []string{"global-keys", "api-project-deletion", "keys-without-expiry", "live-keys-without-ip-allowlist"} {
		_ = cmd.RegisterFlagCompletionFunc(name, fixedCompletion("true", "false", "unset"))
	}
}

// apply changes pol by the flags given.
func (f *policyFlags) apply(cmd *cobra.Command, pol *client.Policy) error {
	changed := cmd.Flags().Changed
	for _, sw := range []struct {
		flag, val string
		dst       **bool
	}{
		{"global-keys", f.globalKeys, &pol.GlobalKeys},
		{"api-project-deletion", f.apiProjectDeletion, &pol.APIProjectDeletion},
		{"keys-without-expiry", f.keysWithoutExpiry, &pol.KeysWithoutExpiry},
		{"live-keys-without-ip-allowlist", f.liveKeysWithoutIPs, &pol.LiveKeysWithoutIPAllowlist},
	} {
		if !changed(sw.flag) {
			continue
		}
		switch v := strings.ToLower(strings.TrimSpace(sw.val)); v {
		case "unset", "none", "":
			*sw.dst = nil
		default:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return usagef("--%s: %q is not true, false or unset", sw.flag, sw.val)
			}
			*sw.dst = &b
		}
	}
	for _, lt := range []struct {
		flag, val string
		dst       **int64
	}{
		{"max-key-lifetime", f.maxLifetime, &pol.MaxKeyLifetime},
		{"default-key-lifetime", f.defaultLifetime, &pol.DefaultKeyLifetime},
	} {
		if !changed(lt.flag) {
			continue
		}
		if v := strings.ToLower(strings.TrimSpace(lt.val)); v == "unset" || v == "none" {
			*lt.dst = nil
			continue
		}
		d, err := licensing.ParseDuration(lt.val)
		if err != nil {
			d, err = time.ParseDuration(lt.val)
		}
		if err != nil || d < time.Second {
			return usagef("--%s: %q is not a duration such as 90d, 720h or 3600 (seconds), nor unset", lt.flag, lt.val)
		}
		sec := int64(d / time.Second)
		*lt.dst = &sec
	}
	if changed("developer-scopes") {
		if v := strings.ToLower(strings.TrimSpace(f.developerScopes)); v == "unset" {
			pol.DeveloperScopes = nil
		} else {
			pol.DeveloperScopes = splitCSV(f.developerScopes)
			if pol.DeveloperScopes == nil {
				pol.DeveloperScopes = []string{}
			}
		}
	}
	return nil
}

// printOrg prints the organization: JSON, or its plan, the rules that
// hold and the usage against each cap.
func (c *conn) printOrg(cmd *cobra.Command, o *client.Organization) error {
	p := c.printer(cmd)
	if p.json {
		return p.object(o)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	plan := "none (no limits)"
	if o.Plan != nil {
		plan = o.Plan.Name
	}
	fmt.Fprintf(tw, "organization\t%s (%s)\n", o.Name, o.Slug)
	fmt.Fprintf(tw, "plan\t%s\n", plan)
	var planSw client.Switches
	if o.Plan != nil {
		planSw = o.Plan.Rules.Switches
	}
	fmt.Fprintf(tw, "\nRULE\tEFFECTIVE\tPLAN\tPOLICY\n")
	e := o.Effective
	for _, r := range []struct {
		name        string
		eff         bool
		plan, local *bool
	}{
		{"global_keys", e.GlobalKeys, planSw.GlobalKeys, o.Policy.GlobalKeys},
		{"api_project_deletion", e.APIProjectDeletion, planSw.APIProjectDeletion, o.Policy.APIProjectDeletion},
		{"keys_without_expiry", e.KeysWithoutExpiry, planSw.KeysWithoutExpiry, o.Policy.KeysWithoutExpiry},
		{"live_keys_without_ip_allowlist", e.LiveKeysWithoutIPAllowlist, planSw.LiveKeysWithoutIPAllowlist, o.Policy.LiveKeysWithoutIPAllowlist},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, orgAllowText(r.eff), orgOptBool(r.plan), orgOptBool(r.local))
	}
	fmt.Fprintf(tw, "max_key_lifetime\t%s\t%s\t%s\n", orgLifetime(e.MaxKeyLifetime), orgLifetime(planSw.MaxKeyLifetime), orgLifetime(o.Policy.MaxKeyLifetime))
	fmt.Fprintf(tw, "default_key_lifetime\t\t\t%s\n", orgLifetime(o.Policy.DefaultKeyLifetime))
	scopes := "-"
	if o.Policy.DeveloperScopes != nil {
		scopes = strings.Join(o.Policy.DeveloperScopes, ",")
		if scopes == "" {
			scopes = "(none)"
		}
	}
	fmt.Fprintf(tw, "developer_scopes\t\t\t%s\n", scopes)
	fmt.Fprintf(tw, "\nCAP\tUSED\tLIMIT\n")
	for _, cp := range core.Caps {
		u, ok := o.Usage[string(cp)]
		if !ok {
			continue
		}
		limit := "-"
		if u.Limit != nil {
			limit = strconv.FormatInt(*u.Limit, 10)
		}
		name := string(cp)
		if cp.PerProject() {
			name += " (project " + strconv.FormatInt(o.UsageProjectID, 10) + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", name, u.Used, limit)
	}
	return tw.Flush()
}

func orgAllowText(b bool) string {
	if b {
		return "allowed"
	}
	return "forbidden"
}

func orgOptBool(b *bool) string {
	if b == nil {
		return "-"
	}
	return orgAllowText(*b)
}

// lifetime writes seconds as days or hours, "-" for none.
func orgLifetime(sec *int64) string {
	switch {
	case sec == nil:
		return "-"
	case *sec%86400 == 0:
		return strconv.FormatInt(*sec/86400, 10) + "d"
	case *sec%3600 == 0:
		return strconv.FormatInt(*sec/3600, 10) + "h"
	}
	return strconv.FormatInt(*sec, 10) + "s"
}
