package app

import (
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newLicensesCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "licenses",
		Short: "List, show, create, update, renew, suspend, revoke, reactivate and delete licenses; check out license files",
		Long: `Manage a project's licenses (--project ID). A license's key, the one you hand to the customer,
is its uuid. "licenses list" without --project lists the licenses of every project the key can see.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var project int64
	addProjectFlag(cmd, c, &project)

	var filter client.LicenseFilter
	var metaFilter []string
	listCmd := listCmd(c, listing[client.License]{
		use:   "list [--project ID] [--status S] [--search T] [--q TEXT|KEY] [--external-id ID] [--customer-email E] [--metadata k=v]… [--mode live|test]",
		short: "List licenses, newest first: a project's, or every project's without --project",
		example: `  latchkey licenses list --project 7 --status suspended
  latchkey licenses list --q 0193f1c2-a4b8-7c3e-9d0a-1b2c3d4e5f60   # find a pasted license key
  latchkey licenses list --metadata plan=gold --customer-email ada@example.com
  latchkey licenses list --mode test   # test licenses only (an sk_test_ key sees no others)`,
		prepare: func() error {
			m, err := metadataFlag(metaFilter, false)
			filter.Metadata = m
			return err
		},
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.License, error] {
			if project == 0 {
				return cl.Licenses.ListAll(cmd.Context(), &filter)
			}
			return cl.Licenses.List(cmd.Context(), project, &filter)
		},
		header: []string{"ID", "PROJECT", "TITLE", "STATUS", "KEY", "EXPIRES", "CUSTOMER", "EXTERNAL ID"},
		row: func(l client.License) []string {
			return []string{strconv.FormatInt(l.ID, 10), strconv.FormatInt(l.ProjectID, 10), l.Title, l.Status, l.UUID,
				timeText(l.ExpiresAt), optText(l.CustomerEmail), optText(l.ExternalID)}
		},
	})
	lf := listCmd.Flags()
	lf.StringVar(&filter.Status, "status", "", "only licenses in this status: active, revoked or suspended")
	lf.StringVar(&filter.Search, "search", "", "only licenses whose title contains this")
	lf.StringVar(&filter.Query, "q", "", "title, customer name or e-mail, or external ID containing this; or a license key")
	lf.StringVar(&filter.ExternalID, "external-id", "", "only the license with this external ID (exact)")
	lf.StringVar(&filter.CustomerEmail, "customer-email", "", "only licenses of this customer e-mail (any case)")
	lf.StringArrayVar(&metaFilter, "metadata", nil, "only licenses with this metadata entry, as key=value (repeatable: all must match)")
	lf.StringVar(&filter.Mode, "mode", "", "only live or only test licenses: live or test")
	_ = listCmd.RegisterFlagCompletionFunc("status", fixedCompletion(client.LicenseActive, client.LicenseRevoked, client.LicenseSuspended))
	_ = listCmd.RegisterFlagCompletionFunc("mode", fixedCompletion(client.ModeLive, client.ModeTest))

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
  latchkey licenses create --project 7 --title 'Order 1042' --customer-email ada@example.com --external-id sub_1042 \
    --metadata plan=gold --metadata seats=5 --expires-in 1y --max-concurrent 2
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
				ValidateAgainst: deref(u.ValidateAgainst), CustomerName: deref(u.CustomerName), CustomerEmail: deref(u.CustomerEmail),
				ExternalID: deref(u.ExternalID), Metadata: u.Metadata, MaxConcurrent: u.MaxConcurrent, HeartbeatTTL: u.HeartbeatTTL,
				MaxNewActivationsPerDay: u.MaxNewActivationsPerDay, ExpiresIn: deref(u.ExpiresIn)}
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
		`  latchkey licenses update 42 --project 7 --max-domains 5 --no-expiry
  latchkey licenses update 42 --project 7 --metadata plan=silver --metadata trial=   # set plan, remove trial`,
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
	var renewFrom, renewBy string
	renewCmd := oneLicense("renew ID --project ID --duration D [--from expiry|now]",
		"Extend a license's expiry by a duration, from its expiry (or now when past) or from now",
		`  latchkey licenses renew 42 --project 7 --duration 1y
  latchkey licenses renew 42 --project 7 --duration 30d --from now`,
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.Licenses.Renew(cmd.Context(), project, id, client.LicenseRenew{Duration: renewBy, From: renewFrom})
		})
	renewCmd.Flags().StringVar(&renewBy, "duration", "", `how long: seconds, or a number with a unit s, m, h, d, w or y ("30d", "1y") (required)`)
	renewCmd.Flags().StringVar(&renewFrom, "from", "", "expiry (default: the current expiry, or now when it is past) or now")
	_ = renewCmd.MarkFlagRequired("duration")
	_ = renewCmd.RegisterFlagCompletionFunc("from", fixedCompletion(client.RenewFromExpiry, client.RenewFromNow))
	deleteCmd := oneLicense("delete ID --project ID", "Delete a license", "  latchkey licenses delete 42 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if err := cl.Licenses.Delete(cmd.Context(), project, id); err != nil {
				return nil, err
			}
			return map[string]any{"id": id, "deleted": true}, nil
		})
	destructive(deleteCmd, env, func(cmd *cobra.Command, args []string) (string, error) {
		id, err := argID(args, "license")
		if err != nil {
			return "", err
		}
		if err := requireProject(cmd, project); err != nil {
			return "", err
		}
		cl, err := c.client(true)
		if err != nil {
			return "", err
		}
		l, err := cl.Licenses.Get(cmd.Context(), project, id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Delete license %d (%s, %s) of project %d? Copies using it stop validating.", id, l.Title, l.UUID, project), nil
	})
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, renewCmd, suspendCmd, revokeCmd, reactivateCmd, deleteCmd)
	cmd.AddCommand(newLicensesBulkCmd(c, &project))
	cmd.AddCommand(newLicenseSeatsCmd(c, &project))
	cmd.AddCommand(newActivationsCmd(c, &project))
	cmd.AddCommand(newLicenseFileCmd(c, &project))
	return cmd
}

type licenseFlags struct {
	title, expires, allowedIPs, allowedCountries, validateAgainst string
	domainID, maxDomains, maxSubdomains, maxUsage                 int64
	test, allowConfigs, noExpiry, unpin                           bool

	customerName, customerEmail, externalID, expiresIn string
	metadata                                           []string
	maxConcurrent, heartbeatTTL, maxNewPerDay          int64
	clearMetadata, defaultHeartbeat                    bool
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
	fs.StringVar(&f.customerName, "customer-name", "", "the customer's name (\"\" clears)")
	fs.StringVar(&f.customerEmail, "customer-email", "", "the customer's e-mail address (\"\" clears)")
	fs.StringVar(&f.externalID, "external-id", "", "the order or subscription ID in your billing system, unique in the project (\"\" clears)")
	metaHelp := "a metadata entry as key=value (repeatable)"
	if update {
		metaHelp = "set a metadata entry as key=value, or remove it as key= (repeatable; other entries stay)"
	}
	fs.StringArrayVar(&f.metadata, "metadata", nil, metaHelp)
	fs.Int64Var(&f.maxConcurrent, "max-concurrent", 0, "seats: copies running at once (0: unlimited)")
	fs.Int64Var(&f.heartbeatTTL, "heartbeat-ttl", 0, "seconds a seat lasts after a heartbeat, 30 to 86400 (default 600)")
	fs.Int64Var(&f.maxNewPerDay, "max-new-activations-per-day", 0, "churn limit: new activations a UTC day once max-domains are used (0: none)")
	fs.StringVar(&f.expiresIn, "expires-in", "", `expire after this long instead of --expires: seconds, or a number with a unit s, m, h, d, w or y ("30d", "1y")`)
	cmd.MarkFlagsMutuallyExclusive("expires", "expires-in")
	if update {
		fs.BoolVar(&f.clearMetadata, "clear-metadata", false, "remove every metadata entry")
		fs.BoolVar(&f.defaultHeartbeat, "default-heartbeat-ttl", false, "go back to the default heartbeat TTL")
		cmd.MarkFlagsMutuallyExclusive("metadata", "clear-metadata")
		cmd.MarkFlagsMutuallyExclusive("heartbeat-ttl", "default-heartbeat-ttl")
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
	for name, v := range map[string]struct {
		dst **string
		val *string
	}{"customer-name": {&u.CustomerName, &f.customerName}, "customer-email": {&u.CustomerEmail, &f.customerEmail},
		"external-id": {&u.ExternalID, &f.externalID}, "expires-in": {&u.ExpiresIn, &f.expiresIn}} {
		if changed(name) {
			*v.dst = v.val
		}
	}
	for name, v := range map[string]struct {
		dst **int64
		val *int64
	}{"max-concurrent": {&u.MaxConcurrent, &f.maxConcurrent}, "heartbeat-ttl": {&u.HeartbeatTTL, &f.heartbeatTTL},
		"max-new-activations-per-day": {&u.MaxNewActivationsPerDay, &f.maxNewPerDay}} {
		if changed(name) {
			*v.dst = v.val
		}
	}
	if changed("metadata") {
		m, err := metadataFlag(f.metadata, true)
		if err != nil {
			return u, err
		}
		u.Metadata = m
	}
	u.ClearExpiry, u.ClearDomain = f.noExpiry, f.unpin
	u.ClearMetadata, u.ClearHeartbeatTTL = f.clearMetadata, f.defaultHeartbeat
	return u, nil
}

// metadataFlag reads repeated --metadata key=value flags. An empty value
// (key=) is allowed where it means "remove the entry" (an update).
func metadataFlag(entries []string, allowEmpty bool) (map[string]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || (v == "" && !allowEmpty) {
			return nil, usagef("--metadata: %q is not key=value", e)
		}
		m[k] = v
	}
	return m, nil
}
