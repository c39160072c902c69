package app

import (
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newLicensesCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "licenses",
		Short: "List, show, create, update, suspend, revoke, reactivate and delete a project's licenses",
		Long: `Manage a project's licenses (--project ID). A license's key, the one you hand to the customer,
is its uuid.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var project int64
	addProjectFlag(cmd, c, &project)

	var status, search string
	listCmd := listCmd(c, listing[client.License]{
		use:     "list --project ID [--status active|revoked|suspended] [--search TEXT]",
		short:   "List a project's licenses, newest first",
		example: "  latchkey licenses list --project 7 --status suspended",
		project: &project,
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.License, error] {
			return cl.Licenses.List(cmd.Context(), project, &client.LicenseFilter{Status: status, Search: search})
		},
		header: []string{"ID", "TITLE", "STATUS", "KEY", "EXPIRES", "DOMAIN"},
		row: func(l client.License) []string {
			return []string{strconv.FormatInt(l.ID, 10), l.Title, l.Status, l.UUID, timeText(l.ExpiresAt), optText(l.DomainID)}
		},
	})
	lf := listCmd.Flags()
	lf.StringVar(&status, "status", "", "only licenses in this status: active, revoked or suspended")
	lf.StringVar(&search, "search", "", "only licenses whose title contains this")
	_ = listCmd.RegisterFlagCompletionFunc("status", fixedCompletion(client.LicenseActive, client.LicenseRevoked, client.LicenseSuspended))

	oneLicense := func(use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) (any, error)) *cobra.Command {
		return c.oneCmd("license", &project, use, short, example, c.printing(run))
	}
	showCmd := oneLicense("show ID --project ID", "Show a license, with its key (uuid)", "  latchkey licenses show 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.Licenses.Get(cmd.Context(), project, id)
		})

	var cf licenseFlags
	createCmd := &cobra.Command{
		Use:   "create --project ID --title TITLE",
		Short: "Issue a license; its uuid is the key to hand out",
		Example: `  latchkey licenses create --project 7 --title 'Customer A' --expires 2027-01-01 --max-domains 3
  KEY=$(latchkey licenses create --project 7 --title 'Customer B' -o json | jq -r .uuid)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, project); err != nil {
				return err
			}
			u, err := cf.update(cmd)
			if err != nil {
				return err
			}
			in := client.LicenseCreate{Title: deref(u.Title), DomainID: u.DomainID, ExpiresAt: u.ExpiresAt, MaxDomains: u.MaxDomains,
				MaxSubdomainsPerDomain: u.MaxSubdomainsPerDomain, MaxUsagePerDay: u.MaxUsagePerDay, AllowedIPs: deref(u.AllowedIPs),
				AllowedCountries: deref(u.AllowedCountries), IsTestLicense: cf.test, AllowConfigs: cf.allowConfigs,
				ValidateAgainst: deref(u.ValidateAgainst)}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			l, err := cl.Licenses.Create(cmd.Context(), project, in)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(l)
		},
	}
	cf.add(createCmd, false)

	var uf licenseFlags
	updateCmd := oneLicense("update ID --project ID [--title T] [--expires DATE|--no-expiry] …", "Change a license's fields (only the flags given)",
		"  latchkey licenses update 42 --project 7 --max-domains 5 --no-expiry",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			u, err := uf.update(cmd)
			if err != nil {
				return nil, err
			}
			return cl.Licenses.Update(cmd.Context(), project, id, u)
		})
	uf.add(updateCmd, true)

	suspendCmd := oneLicense("suspend ID --project ID", "Suspend an active license: its validations answer SUSPENDED",
		"  latchkey licenses suspend 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.Licenses.Suspend(cmd.Context(), project, id)
		})
	revokeCmd := oneLicense("revoke ID --project ID", "Revoke an active license: its validations answer REVOKED",
		"  latchkey licenses revoke 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.Licenses.Revoke(cmd.Context(), project, id)
		})
	reactivateCmd := oneLicense("reactivate ID --project ID", "Make a suspended or revoked, unexpired license active again",
		"  latchkey licenses reactivate 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.Licenses.Reactivate(cmd.Context(), project, id)
		})
	deleteCmd := oneLicense("delete ID --project ID", "Delete a license", "  latchkey licenses delete 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if err := cl.Licenses.Delete(cmd.Context(), project, id); err != nil {
				return nil, err
			}
			return map[string]any{"id": id, "deleted": true}, nil
		})
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, suspendCmd, revokeCmd, reactivateCmd, deleteCmd)
	cmd.AddCommand(newActivationsCmd(c, &project))
	return cmd
}

type licenseFlags struct {
	title, expires, allowedIPs, allowedCountries, validateAgainst string
	domainID, maxDomains, maxSubdomains, maxUsage                 int64
	test, allowConfigs, noExpiry, unpin                           bool
}

func (f *licenseFlags) add(cmd *cobra.Command, update bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.title, "title", "", "the license's title, unique in the project (required to create)")
	fs.Int64Var(&f.domainID, "domain-id", 0, "pin the license to this domain of the project")
	fs.StringVar(&f.expires, "expires", "", "expiry: a date (2027-01-31) or an RFC 3339 time; default never")
	fs.Int64Var(&f.maxDomains, "max-domains", 0, "how many base domains may use it (0: unlimited)")
	fs.Int64Var(&f.maxSubdomains, "max-subdomains", 0, "how many subdomains per base domain (0: unlimited)")
	fs.Int64Var(&f.maxUsage, "max-usage-per-day", 0, "passing validations per UTC day (0: unlimited)")
	fs.StringVar(&f.allowedIPs, "allowed-ips", "", "comma-separated IPs and CIDR blocks it may run from (\"\" clears)")
	fs.StringVar(&f.allowedCountries, "allowed-countries", "", "comma-separated ISO country codes, such as NG,US,GB (\"\" clears)")
	fs.BoolVar(&f.test, "test", false, "a test license: runs only on local hosts")
	fs.BoolVar(&f.allowConfigs, "allow-configs", false, "allow configs")
	fs.StringVar(&f.validateAgainst, "validate-against", "", "project_domains or license_domains")
	_ = cmd.RegisterFlagCompletionFunc("validate-against", fixedCompletion(client.ValidateProjectDomains, client.ValidateLicenseDomains))
	if update {
		fs.BoolVar(&f.noExpiry, "no-expiry", false, "remove the expiry")
		fs.BoolVar(&f.unpin, "unpin", false, "unpin the license from its domain")
		cmd.MarkFlagsMutuallyExclusive("expires", "no-expiry")
		cmd.MarkFlagsMutuallyExclusive("domain-id", "unpin")
	}
}

func (f *licenseFlags) update(cmd *cobra.Command) (client.LicenseUpdate, error) {
	var u client.LicenseUpdate
	changed := cmd.Flags().Changed
	if changed("title") {
		u.Title = &f.title
	}
	if changed("domain-id") {
		u.DomainID = &f.domainID
	}
	if changed("expires") {
		t, err := parseTimeFlag("expires", f.expires)
		if err != nil {
			return u, err
		}
		u.ExpiresAt = &t
	}
	for name, v := range map[string]struct {
		dst **int64
		val *int64
	}{"max-domains": {&u.MaxDomains, &f.maxDomains}, "max-subdomains": {&u.MaxSubdomainsPerDomain, &f.maxSubdomains},
		"max-usage-per-day": {&u.MaxUsagePerDay, &f.maxUsage}} {
		if changed(name) {
			*v.dst = v.val
		}
	}
	if changed("allowed-ips") {
		u.AllowedIPs = &f.allowedIPs
	}
	if changed("allowed-countries") {
		u.AllowedCountries = &f.allowedCountries
	}
	if changed("test") {
		u.IsTestLicense = &f.test
	}
	if changed("allow-configs") {
		u.AllowConfigs = &f.allowConfigs
	}
	if changed("validate-against") {
		u.ValidateAgainst = &f.validateAgainst
	}
	u.ClearExpiry, u.ClearDomain = f.noExpiry, f.unpin
	return u, nil
}
