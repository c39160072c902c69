package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// The operator's plan commands (issue 15). They write to the database
// every node reads inside each creation it limits, so a change holds on
// every node from its next request: there is nothing to reload.

// operator is the actor of the admin commands: the instance operator, the
// only one who manages plans.
func operator() *core.Actor { return core.SystemActor(0, "admin-cli") }

// noLimit reports whether a flag value removes a cap or a switch.
func noLimit(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "unlimited":
		return true
	}
	return false
}

// capFlag is a cap: a whole number, or none/unlimited for no cap.
type capFlag struct {
	set bool
	v   *int64
}

func (f *capFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f *capFlag) Set(s string) error {
	f.set = true
	if noLimit(s) {
		f.v = nil
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of at least 0, or none", s)
	}
	f.v = &n
	return nil
}

func (f *capFlag) Type() string { return "N|none" }

// switchFlag is a switch: true or false, or none to leave it to the
// default (allowed). The flag alone means true.
type switchFlag struct {
	set bool
	v   *bool
}

func (f *switchFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatBool(*f.v)
}

func (f *switchFlag) Set(s string) error {
	f.set = true
	if noLimit(s) {
		f.v = nil
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true, false or none", s)
	}
	f.v = &b
	return nil
}

func (f *switchFlag) Type() string { return "bool|none" }

// lifetimeFlag is a key lifetime: a duration as licenses take them ("90d",
// "1y", "36h", seconds), or none.
type lifetimeFlag struct {
	set bool
	v   *int64
}

func (f *lifetimeFlag) String() string {
	if f.v == nil {
		return ""
	}
	return durationText(*f.v)
}

func (f *lifetimeFlag) Set(s string) error {
	f.set = true
	if noLimit(s) {
		f.v = nil
		return nil
	}
	sec, ok := service.ParseLifetime(s)
	if !ok {
		return fmt.Errorf("%q is not a duration such as 90d, 1y or 36h, or none", s)
	}
	f.v = &sec
	return nil
}

func (f *lifetimeFlag) Type() string { return "DURATION|none" }

// durationText writes seconds in the largest unit that divides them, in
// the syntax --max-key-lifetime reads back.
func durationText(sec int64) string {
	for _, u := range []struct {
		n    int64
		unit string
	}{{365 * 86400, "y"}, {7 * 86400, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}} {
		if sec >= u.n && sec%u.n == 0 {
			return strconv.FormatInt(sec/u.n, 10) + u.unit
		}
	}
	return strconv.FormatInt(sec, 10) + "s"
}

// ruleFlags are the flags of plans create and update: one per cap and
// switch, named after it.
type ruleFlags struct {
	caps     map[core.Cap]*capFlag
	switches []namedSwitch
	lifetime lifetimeFlag
}

type namedSwitch struct {
	name string
	flag *switchFlag
	ptr  func(*core.Switches) **bool
}

// capFlagName is the flag of a cap: --max-projects, --max-licenses-per-project…
func capFlagName(c core.Cap) string { return "max-" + strings.ReplaceAll(string(c), "_", "-") }

func addRuleFlags(f *pflag.FlagSet, update bool) *ruleFlags {
	rf := &ruleFlags{caps: map[core.Cap]*capFlag{}}
	unset := ""
	if update {
		unset = "; none or unlimited removes it"
	}
	for _, c := range core.Caps {
		cf := &capFlag{}
		rf.caps[c] = cf
		f.Var(cf, capFlagName(c), "cap on "+c.Noun()+capScope(c)+unset)
	}
	rf.switches = []namedSwitch{
		{"global-keys", &switchFlag{}, func(s *core.Switches) **bool { return &s.GlobalKeys }},
		{"api-project-deletion", &switchFlag{}, func(s *core.Switches) **bool { return &s.APIProjectDeletion }},
		{"keys-without-expiry", &switchFlag{}, func(s *core.Switches) **bool { return &s.KeysWithoutExpiry }},
		{"live-keys-without-ip-allowlist", &switchFlag{}, func(s *core.Switches) **bool { return &s.LiveKeysWithoutIPAllowlist }},
	}
	usage := map[string]string{
		"global-keys":                    "allow API keys that are not bound to a project",
		"api-project-deletion":           "allow deleting projects through the API (false: in the dashboard only)",
		"keys-without-expiry":            "allow API keys without an expiry",
		"live-keys-without-ip-allowlist": "allow live API keys without an IP allow-list",
	}
	for _, sw := range rf.switches {
		f.Var(sw.flag, sw.name, usage[sw.name]+" (default: allowed"+strings.TrimPrefix(unset, ";")+")")
		f.Lookup(sw.name).NoOptDefVal = "true"
	}
	f.Var(&rf.lifetime, "max-key-lifetime", "longest an API key may live from its creation or rotation, as 90d, 1y or 36h"+unset)
	return rf
}

func capScope(c core.Cap) string {
	if c.PerProject() {
		return ""
	}
	return " per organization"
}

// apply changes rules as the flags given say; flags not given leave them.
func (rf *ruleFlags) apply(r *core.Rules) {
	for _, c := range core.Caps {
		if cf := rf.caps[c]; cf.set {
			r.SetLimit(c, cf.v)
		}
	}
	for _, sw := range rf.switches {
		if sw.flag.set {
			*sw.ptr(&r.Switches) = sw.flag.v
		}
	}
	if rf.lifetime.set {
		r.MaxKeyLifetime = rf.lifetime.v
	}
}

func (rf *ruleFlags) any() bool {
	for _, cf := range rf.caps {
		if cf.set {
			return true
		}
	}
	for _, sw := range rf.switches {
		if sw.flag.set {
			return true
		}
	}
	return rf.lifetime.set
}

// adminOutput adds --output to an admin command.
func adminOutput(f *pflag.FlagSet, out *string) {
	f.StringVarP(out, "output", "o", "table", "output format: table or json")
}

func checkOutput(out string) error {
	if out != "table" && out != "json" {
		return usagef("--output: %q is not table or json", out)
	}
	return nil
}

// planJSON is a plan as -o json prints it: its rules as the API shows
// them (a cap or switch left out does not limit).
type planJSON struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	Organizations int64      `json:"organizations"`
	Rules         core.Rules `json:"rules"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func toPlanJSON(p *core.Plan) planJSON {
	return planJSON{ID: p.ID, Name: p.Name, Organizations: p.Organizations, Rules: p.Rules,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

func capText(v *int64) string {
	if v == nil {
		return "unlimited"
	}
	return strconv.FormatInt(*v, 10)
}

func switchText(v *bool) string {
	if core.Allowed(v) {
		return "allowed"
	}
	return "forbidden"
}

func lifetimeText(v *int64) string {
	if v == nil {
		return "none"
	}
	return durationText(*v)
}

// planRows are a plan's fields as the table shows them, named as the
// flags that set them.
func planRows(p *core.Plan) [][2]string {
	rows := [][2]string{{"name", p.Name}, {"organizations", strconv.FormatInt(p.Organizations, 10)}}
	for _, c := range core.Caps {
		rows = append(rows, [2]string{capFlagName(c), capText(p.Rules.Limit(c))})
	}
	sw := p.Rules.Switches
	rows = append(rows,
		[2]string{"global-keys", switchText(sw.GlobalKeys)},
		[2]string{"api-project-deletion", switchText(sw.APIProjectDeletion)},
		[2]string{"keys-without-expiry", switchText(sw.KeysWithoutExpiry)},
		[2]string{"max-key-lifetime", lifetimeText(sw.MaxKeyLifetime)},
		[2]string{"live-keys-without-ip-allowlist", switchText(sw.LiveKeysWithoutIPAllowlist)},
	)
	return rows
}

func printPlan(cmd *cobra.Command, output string, p *core.Plan) error {
	pr := printer{w: cmd.OutOrStdout(), json: output == "json"}
	if pr.json {
		b, err := json.Marshal(toPlanJSON(p))
		if err != nil {
			return err
		}
		return pr.raw(b)
	}
	tw := tabwriter.NewWriter(pr.w, 0, 4, 2, ' ', 0)
	for _, r := range planRows(p) {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// planError names a plan or an organization that is not there, and
// points at the command that lists them.
func planError(err error, plan, org string) error {
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.ENotFound {
		return err
	}
	switch {
	case strings.HasPrefix(ce.Message, "Plan"):
		return fmt.Errorf("no plan named %q (see latchkey admin plans list)", plan)
	case strings.HasPrefix(ce.Message, "Organization"):
		return fmt.Errorf("no organization named %q (see latchkey admin orgs list)", org)
	}
	return err
}

func newAdminPlansCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plans",
		Short: "Manage plans: the caps and switches each organization gets",
		Long: `A plan caps what an organization may create (projects, licenses, domains and injectables per
project, API keys, members, webhook endpoints) and allows or forbids global API keys, deleting
projects through the API, API keys without an expiry (and how long a key may live), and live
keys without an IP allow-list. An organization without a plan has no limits. Put an
organization on a plan with "latchkey admin orgs set-plan".

A change holds on every node at once: each creation reads the plan in its own transaction.
Lowering a cap deletes nothing; creations over it are refused with 403 PLAN_LIMIT.`,
	}
	cmd.AddCommand(newPlanCreateCmd(env), newPlanUpdateCmd(env), newPlanListCmd(env), newPlanDeleteCmd(env))
	requireVerb(cmd)
	return cmd
}

func newPlanCreateCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var name, output string
	var rf *ruleFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME [--max-projects N] [--global-keys=false] …",
		Short: "Create a plan and print it",
		Long: `Create a plan. Every cap and switch left out does not limit; a cap of 0 forbids creating
any. Switches take true or false (the flag alone is true).`,
		Example: `  latchkey admin plans create --name free --max-projects 3 --max-licenses-per-project 100 --global-keys=false
  latchkey admin plans create --name pro --max-projects 50 --keys-without-expiry=false --max-key-lifetime 1y`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			var rules core.Rules
			rf.apply(&rules)
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				p, err := svc.CreatePlan(cmd.Context(), operator(), name, rules)
				if err != nil {
					return err
				}
				return printPlan(cmd, output, p)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the plan's name, unique (required)")
	rf = addRuleFlags(f, false)
	adminOutput(f, &output)
	cfg.AddStoreFlags(f)
	return cmd
}

func newPlanUpdateCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var name, rename, output string
	var rf *ruleFlags
	cmd := &cobra.Command{
		Use:   "update --name NAME [--rename NEW] [--max-projects N|none] …",
		Short: "Change a plan's caps and switches and print it",
		Long: `Change the caps and switches given, and leave the others as they are; a cap or switch set to
none (or unlimited) is removed. Organizations on the plan get the change at once, on every
node. Lowering a cap below what an organization uses deletes nothing: its creations are
refused until it is back under the cap.`,
		Example: `  latchkey admin plans update --name free --max-projects 5 --max-api-keys none
  latchkey admin plans update --name free --rename starter --global-keys=true`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return usagef("--name: give the name of the plan to change")
			}
			if !rf.any() && !cmd.Flags().Changed("rename") {
				return errors.New("nothing to change: give --rename or a cap or switch flag")
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				p, err := svc.UpdatePlan(cmd.Context(), operator(), name, rename, rf.apply)
				if err != nil {
					return planError(err, name, "")
				}
				return printPlan(cmd, output, p)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the plan to change (required)")
	f.StringVar(&rename, "rename", "", "a new name for the plan")
	rf = addRuleFlags(f, true)
	adminOutput(f, &output)
	cfg.AddStoreFlags(f)
	return cmd
}

func newPlanListCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the plans with their caps, switches and how many organizations are on each",
		Example: `  latchkey admin plans list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				plans, err := svc.Plans(cmd.Context(), operator())
				if err != nil {
					return err
				}
				items := make([]planJSON, len(plans))
				for i := range plans {
					items[i] = toPlanJSON(&plans[i])
				}
				header := []string{"NAME", "ORGS", "PROJECTS", "LICENSES/PROJECT", "DOMAINS/PROJECT", "INJECTABLES/PROJECT",
					"API KEYS", "MEMBERS", "WEBHOOKS", "GLOBAL KEYS", "API DELETION", "NO EXPIRY", "MAX LIFETIME", "LIVE NO IP"}
				return list(printer{w: cmd.OutOrStdout(), json: output == "json"}, items, header, func(p planJSON) []string {
					plan := core.Plan{Name: p.Name, Organizations: p.Organizations, Rules: p.Rules}
					rows := planRows(&plan)
					out := make([]string, len(rows))
					for i, r := range rows {
						out[i] = r[1]
					}
					return out
				})
			})
		},
	}
	adminOutput(cmd.Flags(), &output)
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}

func newPlanDeleteCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var name string
	cmd := &cobra.Command{
		Use:   "delete --name NAME",
		Short: "Delete a plan no organization is on",
		Long: `Delete a plan. A plan that organizations are on is kept: move them to another plan (or to
none) with "latchkey admin orgs set-plan" first.`,
		Example: `  latchkey admin plans delete --name trial`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return usagef("--name: give the name of the plan to delete")
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				if err := svc.DeletePlan(cmd.Context(), operator(), name); err != nil {
					return planError(err, name, "")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted plan %s\n", strings.TrimSpace(name))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the plan to delete (required)")
	cfg.AddStoreFlags(cmd.Flags())
	return destructive(cmd, env, func(*cobra.Command, []string) (string, error) {
		return fmt.Sprintf("Delete plan %q?", strings.TrimSpace(name)), nil
	})
}

func newAdminOrgsCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "orgs",
		Short: "List organizations and put them on plans",
	}
	cmd.AddCommand(newOrgSetPlanCmd(env), newOrgListCmd(env))
	requireVerb(cmd)
	return cmd
}

func newOrgSetPlanCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var org, plan, output string
	var noPlan bool
	cmd := &cobra.Command{
		Use:   "set-plan --org NAME (--plan NAME | --no-plan)",
		Short: "Put an organization on a plan, or on none",
		Long: `Put the organization on the plan; --no-plan (or --plan "") takes it off any plan, which
removes every limit. It holds on every node at once. What the organization already has over
the new plan's caps is kept; creating more is refused. Audit-logged in the organization.`,
		Example: `  latchkey admin orgs set-plan --org Acme --plan free
  latchkey admin orgs set-plan --org Acme --no-plan`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if strings.TrimSpace(org) == "" {
				return usagef("--org: give the organization's name")
			}
			switch {
			case noPlan && strings.TrimSpace(plan) != "":
				return usagef("give either --plan or --no-plan, not both")
			case !noPlan && !cmd.Flags().Changed("plan"):
				return errors.New(`--plan: give the plan's name (or --no-plan to take the organization off any plan)`)
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				o, p, err := svc.SetOrganizationPlan(cmd.Context(), operator(), org, plan)
				if err != nil {
					return planError(err, plan, org)
				}
				name := ""
				if p != nil {
					name = p.Name
				}
				if output == "json" {
					b, err := json.Marshal(map[string]any{"organization": o.Name, "plan": nullable(name)})
					if err != nil {
						return err
					}
					return printer{w: cmd.OutOrStdout(), json: true}.raw(b)
				}
				if name == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is on no plan: no limits\n", o.Name)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is on plan %s\n", o.Name, name)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "the organization's name (required)")
	f.StringVar(&plan, "plan", "", `the plan's name; "" for none`)
	f.BoolVar(&noPlan, "no-plan", false, "take the organization off any plan")
	adminOutput(f, &output)
	cfg.AddStoreFlags(f)
	return cmd
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// orgJSON is an organization as orgs list -o json prints it.
type orgJSON struct {
	ID    int64            `json:"id"`
	Name  string           `json:"name"`
	Slug  string           `json:"slug"`
	Plan  *string          `json:"plan"`
	Usage map[string]int64 `json:"usage"`
}

func newOrgListCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the organizations with their plan and what they use",
		Example: `  latchkey admin orgs list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, st *store.Store) error {
				ctx := cmd.Context()
				plans, err := svc.Plans(ctx, operator())
				if err != nil {
					return err
				}
				planNames := map[int64]string{}
				for _, p := range plans {
					planNames[p.ID] = p.Name
				}
				orgs, err := st.ListOrganizations(ctx)
				if err != nil {
					return err
				}
				items := make([]orgJSON, 0, len(orgs))
				for _, o := range orgs {
					u, err := st.Usage(ctx, o.ID, 0)
					if err != nil {
						return err
					}
					it := orgJSON{ID: o.ID, Name: o.Name, Slug: o.Slug, Usage: map[string]int64{}}
					if name, ok := planNames[o.PlanID]; ok {
						it.Plan = &name
					}
					for _, c := range core.Caps {
						if !c.PerProject() {
							it.Usage[string(c)] = u[c]
						}
					}
					items = append(items, it)
				}
				header := []string{"ID", "NAME", "SLUG", "PLAN", "PROJECTS", "API KEYS", "MEMBERS", "WEBHOOKS"}
				return list(printer{w: cmd.OutOrStdout(), json: output == "json"}, items, header, func(o orgJSON) []string {
					plan := "-"
					if o.Plan != nil {
						plan = *o.Plan
					}
					n := func(c core.Cap) string { return strconv.FormatInt(o.Usage[string(c)], 10) }
					return []string{strconv.FormatInt(o.ID, 10), o.Name, o.Slug, plan,
						n(core.CapProjects), n(core.CapAPIKeys), n(core.CapMembers), n(core.CapWebhookEndpoints)}
				})
			})
		},
	}
	adminOutput(cmd.Flags(), &output)
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}
