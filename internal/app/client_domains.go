package app

import (
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newDomainsCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domains",
		Short: "List, show, create, update and delete a project's domains",
		Long:  "Manage the domains registered to a project (--project ID)." + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var project int64
	addProjectFlag(cmd, c, &project)
	listCmd := listCmd(c, listing[client.Domain]{
		use:     "list --project ID",
		short:   "List a project's domains",
		example: "  latchkey domains list --project 7",
		project: &project,
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.Domain, error] {
			return cl.Domains.List(cmd.Context(), project, nil)
		},
		header: []string{"ID", "DOMAIN", "PRIMARY", "PAID", "ACTIVE", "CREATED"},
		row: func(d client.Domain) []string {
			return []string{strconv.FormatInt(d.ID, 10), d.Domain, yesNo(d.IsPrimary), yesNo(d.HasPaid), yesNo(d.IsActive), timeText(&d.CreatedAt)}
		},
	})

	oneDomain := func(use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) error) *cobra.Command {
		return c.oneCmd("domain", &project, use, short, example, run)
	}
	showCmd := oneDomain("show ID --project ID", "Show a domain", "  latchkey domains show 3 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			d, err := cl.Domains.Get(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		})

	var cf domainFlags
	createCmd := &cobra.Command{
		Use:     "create --project ID --domain HOST [--environment production]",
		Short:   "Register a domain to a project",
		Example: "  latchkey domains create --project 7 --domain shop.example.com --verified --has-paid",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, project); err != nil {
				return err
			}
			u := cf.update(cmd)
			if u.Domain == nil {
				return usagef("--domain: give the host, such as shop.example.com")
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			d, err := cl.Domains.Create(cmd.Context(), project, client.DomainCreate{Domain: *u.Domain, Environment: cf.environment,
				IsPrimary: u.IsPrimary, IsVerified: u.IsVerified, IsLocked: u.IsLocked, HasPaid: u.HasPaid, IsActive: u.IsActive})
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		},
	}
	cf.add(createCmd)

	var uf domainFlags
	updateCmd := oneDomain("update ID --project ID [--domain HOST] [--verified] …", "Change a domain's fields (only the flags given)",
		"  latchkey domains update 3 --project 7 --primary --has-paid=false",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			d, err := cl.Domains.Update(cmd.Context(), project, id, uf.update(cmd))
			if err != nil {
				return err
			}
			return c.printer(cmd).object(d)
		})
	uf.add(updateCmd)

	deleteCmd := oneDomain("delete ID --project ID", "Delete a domain (licenses pinned to it are unpinned)", "  latchkey domains delete 3 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			if err := cl.Domains.Delete(cmd.Context(), project, id); err != nil {
				return err
			}
			return c.printer(cmd).object(map[string]any{"id": id, "deleted": true})
		})
	destructive(deleteCmd, env, plainQuestion("Delete", "domain", &project))
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, deleteCmd)
	return cmd
}

type domainFlags struct {
	domain, environment                          string
	primary, verified, locked, hasPaid, isActive bool
}

func (f *domainFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.domain, "domain", "", "host name (app.example.com), localhost[:port], IPv4[:port] or [IPv6]:port")
	fs.StringVar(&f.environment, "environment", client.EnvProduction, "production, staging or development")
	fs.BoolVar(&f.primary, "primary", false, "make it the project's primary domain")
	fs.BoolVar(&f.verified, "verified", false, "mark it verified (project_domains validation needs it)")
	fs.BoolVar(&f.locked, "locked", false, "lock it")
	fs.BoolVar(&f.hasPaid, "has-paid", false, "the domain is paid for (needs payments:write)")
	fs.BoolVar(&f.isActive, "active", true, "the domain is active")
	_ = cmd.RegisterFlagCompletionFunc("environment", fixedCompletion(client.EnvProduction, client.EnvStaging, client.EnvDevelopment))
}

func (f *domainFlags) update(cmd *cobra.Command) client.DomainUpdate {
	var u client.DomainUpdate
	changed := cmd.Flags().Changed
	if changed("domain") {
		u.Domain = &f.domain
	}
	if changed("environment") {
		u.Environment = &f.environment
	}
	for name, v := range map[string]struct {
		dst **bool
		val *bool
	}{"primary": {&u.IsPrimary, &f.primary}, "verified": {&u.IsVerified, &f.verified}, "locked": {&u.IsLocked, &f.locked},
		"has-paid": {&u.HasPaid, &f.hasPaid}, "active": {&u.IsActive, &f.isActive}} {
		if changed(name) {
			*v.dst = v.val
		}
	}
	return u
}
