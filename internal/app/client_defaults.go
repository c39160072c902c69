package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// License defaults (issue 15): `latchkey projects defaults show|set` and
// `latchkey org defaults show|set`. set changes only the flags given
// (--unset removes a default, --clear all of them), on a project as on the
// organization.

// defaultsFlags are the defaults a set command changes.
type defaultsFlags struct {
	expiresIn, countries, ips                                     string
	maxDomains, maxSubdomains, maxUsage, maxConcurrent, heartbeat int64
	testLicense, allowConfigs                                     bool
	unset                                                         []string
	clear                                                         bool
}

func (f *defaultsFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.expiresIn, "expires-in", "", `expiry of new licenses from their creation ("30d", "1y", seconds) or "never"`)
	fs.Int64Var(&f.maxDomains, "max-domains", 0, "max domains (0: unlimited)")
	fs.Int64Var(&f.maxSubdomains, "max-subdomains-per-domain", 0, "max subdomains per domain (0: unlimited)")
	fs.Int64Var(&f.maxUsage, "max-usage-per-day", 0, "passing validations per UTC day (0: unlimited)")
	fs.Int64Var(&f.maxConcurrent, "max-concurrent", 0, "seats: copies running at once (0: unlimited)")
	fs.Int64Var(&f.heartbeat, "heartbeat-ttl", 0, "how long a seat lasts after a heartbeat, 30 to 86400 seconds")
	fs.StringVar(&f.countries, "allowed-countries", "", `ISO 3166-1 alpha-2 codes, "NG,US" ("": any, overriding the organization's)`)
	fs.StringVar(&f.ips, "allowed-ips", "", `IP addresses or CIDR blocks ("": any, overriding the organization's)`)
	fs.BoolVar(&f.testLicense, "is-test-license", false, "new licenses are test licenses")
	fs.BoolVar(&f.allowConfigs, "allow-configs", false, "new licenses allow configs")
	fs.StringSliceVar(&f.unset, "unset", nil, "remove these defaults (field names: "+strings.Join(client.LicenseDefaultFields, ", ")+")")
	fs.BoolVar(&f.clear, "clear", false, "remove every default not set by another flag")
}

// patch returns the change the flags ask for.
func (f *defaultsFlags) patch(cmd *cobra.Command) (client.LicenseDefaultsPatch, error) {
	p := client.LicenseDefaultsPatch{Clear: f.clear}
	changed := cmd.Flags().Changed
	for _, u := range f.unset {
		u = strings.ReplaceAll(strings.TrimSpace(u), "-", "_")
		if !slices.Contains(client.LicenseDefaultFields, u) {
			return p, usagef("--unset: %q is not a license default (use %s)", u, strings.Join(client.LicenseDefaultFields, ", "))
		}
		if changed(strings.ReplaceAll(u, "_", "-")) {
			return p, usagef("--unset %s: the field is also set by --%s", u, strings.ReplaceAll(u, "_", "-"))
		}
		p.Remove = append(p.Remove, u)
	}
	d := &p.Set
	for flag, dst := range map[string]**string{"expires-in": &d.ExpiresIn, "allowed-countries": &d.AllowedCountries, "allowed-ips": &d.AllowedIPs} {
		if changed(flag) {
			v := cmd.Flags().Lookup(flag).Value.String()
			*dst = &v
		}
	}
	for _, n := range []struct {
		flag string
		src  *int64
		dst  **int64
	}{{"max-domains", &f.maxDomains, &d.MaxDomains}, {"max-subdomains-per-domain", &f.maxSubdomains, &d.MaxSubdomainsPerDomain},
		{"max-usage-per-day", &f.maxUsage, &d.MaxUsagePerDay}, {"max-concurrent", &f.maxConcurrent, &d.MaxConcurrent},
		{"heartbeat-ttl", &f.heartbeat, &d.HeartbeatTTL}} {
		if changed(n.flag) {
			v := *n.src
			*n.dst = &v
		}
	}
	if changed("is-test-license") {
		d.IsTestLicense = &f.testLicense
	}
	if changed("allow-configs") {
		d.AllowConfigs = &f.allowConfigs
	}
	if !p.Clear && len(p.Remove) == 0 && p.Set == (client.LicenseDefaults{}) {
		return p, fmt.Errorf("nothing to change: give a default's flag, --unset or --clear")
	}
	return p, nil
}

// applyPatch is the patch applied to cur, as the server applies a merge
// patch (the organization's PUT replaces: the CLI sends the merged whole).
func applyPatch(cur client.LicenseDefaults, p client.LicenseDefaultsPatch) client.LicenseDefaults {
	if p.Clear {
		cur = client.LicenseDefaults{}
	}
	for _, f := range p.Remove {
		switch f {
		case "expires_in":
			cur.ExpiresIn = nil
		case "max_domains":
			cur.MaxDomains = nil
		case "max_subdomains_per_domain":
			cur.MaxSubdomainsPerDomain = nil
		case "max_usage_per_day":
			cur.MaxUsagePerDay = nil
		case "max_concurrent":
			cur.MaxConcurrent = nil
		case "heartbeat_ttl":
			cur.HeartbeatTTL = nil
		case "allowed_countries":
			cur.AllowedCountries = nil
		case "allowed_ips":
			cur.AllowedIPs = nil
		case "is_test_license":
			cur.IsTestLicense = nil
		case "allow_configs":
			cur.AllowConfigs = nil
		}
	}
	s := p.Set
	for _, f := range []struct{ dst, src **string }{{&cur.ExpiresIn, &s.ExpiresIn}, {&cur.AllowedCountries, &s.AllowedCountries},
		{&cur.AllowedIPs, &s.AllowedIPs}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **int64 }{{&cur.MaxDomains, &s.MaxDomains}, {&cur.MaxSubdomainsPerDomain, &s.MaxSubdomainsPerDomain},
		{&cur.MaxUsagePerDay, &s.MaxUsagePerDay}, {&cur.MaxConcurrent, &s.MaxConcurrent}, {&cur.HeartbeatTTL, &s.HeartbeatTTL}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **bool }{{&cur.IsTestLicense, &s.IsTestLicense}, {&cur.AllowConfigs, &s.AllowConfigs}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	return cur
}

// newProjectDefaultsCmd is `latchkey projects defaults`.
func newProjectDefaultsCmd(c *conn) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "defaults",
		Short: "Show or change a project's license defaults",
		Long: "A license created without a field takes the project's default, then the organization's " +
			"(latchkey org defaults); a field sent as null has no restriction.",
	}
	showCmd := &cobra.Command{
		Use:               "show ID",
		Short:             "Show a project's own license defaults",
		Example:           "  latchkey projects defaults show 7 --output json",
		Args:              idArg("project"),
		ValidArgsFunction: projectCompletion(c),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := argID(args, "project")
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			d, err := cl.LicenseDefaults.Project(cmd.Context(), id)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		},
	}
	var f defaultsFlags
	setCmd := &cobra.Command{
		Use:               "set ID [--expires-in 1y] [--max-domains N] … [--unset FIELD,…] [--clear]",
		Short:             "Change a project's license defaults (only the flags given)",
		Example:           "  latchkey projects defaults set 7 --expires-in 1y --max-domains 3\n  latchkey projects defaults set 7 --unset allowed_ips\n  latchkey projects defaults set 7 --clear",
		Args:              idArg("project"),
		ValidArgsFunction: projectCompletion(c),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := argID(args, "project")
			if err != nil {
				return err
			}
			p, err := f.patch(cmd)
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			d, err := cl.LicenseDefaults.UpdateProject(cmd.Context(), id, p)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		},
	}
	f.add(setCmd)
	cmd.AddCommand(showCmd, setCmd)
	return cmd
}

// newOrgDefaultsCmd is `latchkey org defaults`.
func newOrgDefaultsCmd(c *conn) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "defaults",
		Short: "Show or change the organization's license defaults",
		Long: "The organization's license defaults apply to every project, field by field, where the project " +
			"has none of its own. Changing them needs an owner's or an admin's key with projects:write.",
	}
	showCmd := &cobra.Command{
		Use:     "show",
		Short:   "Show the organization's license defaults",
		Example: "  latchkey org defaults show",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			d, err := cl.LicenseDefaults.Organization(cmd.Context())
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		},
	}
	var f defaultsFlags
	setCmd := &cobra.Command{
		Use:     "set [--expires-in 1y] [--max-domains N] … [--unset FIELD,…] [--clear]",
		Short:   "Change the organization's license defaults (only the flags given)",
		Example: "  latchkey org defaults set --expires-in 1y --allowed-countries NG,GH\n  latchkey org defaults set --unset expires_in\n  latchkey org defaults set --clear",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.patch(cmd)
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			// The server's PUT replaces the whole set: the flags are
			// applied to the current one here (the last writer wins).
			cur, err := cl.LicenseDefaults.Organization(cmd.Context())
			if err != nil {
				return err
			}
			d, err := cl.LicenseDefaults.SetOrganization(cmd.Context(), applyPatch(*cur, p))
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		},
	}
	f.add(setCmd)
	cmd.AddCommand(showCmd, setCmd)
	return cmd
}
