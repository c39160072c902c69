package app

import (
	"encoding/json"
	"fmt"
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newProjectsCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projects",
		Short: "List, show, create, update and delete projects",
		Long:  "Manage projects (the products you license) on a running server." + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	listCmd := listCmd(c, listing[client.Project]{
		use:     "list",
		short:   "List the projects the API key may see",
		example: "  latchkey projects list\n  latchkey projects list --output json",
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.Project, error] {
			return cl.Projects.List(cmd.Context(), nil)
		},
		header: []string{"ID", "NAME", "SLUG", "PAID", "ACTIVE", "CREATED"},
		row: func(p client.Project) []string {
			return []string{strconv.FormatInt(p.ID, 10), p.Name, p.Slug, yesNo(p.HasPaid), yesNo(p.IsActive), timeText(&p.CreatedAt)}
		},
	})

	showCmd := &cobra.Command{
		Use:               "show ID",
		Short:             "Show a project",
		Example:           "  latchkey projects show 7",
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
			p, err := cl.Projects.Get(cmd.Context(), id)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(p)
		},
	}

	var pf projectFlags
	createCmd := &cobra.Command{
		Use:     "create --name NAME",
		Short:   "Create a project",
		Example: "  latchkey projects create --name 'Pro Plugin' --redirect-url https://acme.test/buy --has-paid",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := pf.update(cmd)
			if err != nil {
				return err
			}
			if in.Name == nil || *in.Name == "" {
				return usagef("--name: give the project a name")
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			p, err := cl.Projects.Create(cmd.Context(), client.ProjectCreate{
				Name: *in.Name, Slug: deref(in.Slug), Description: deref(in.Description), DefaultRedirectURL: deref(in.DefaultRedirectURL),
				LogoURL: deref(in.LogoURL), WebhookURL: deref(in.WebhookURL), WebhookSecret: deref(in.WebhookSecret), Meta: in.Meta,
				HasPaid: in.HasPaid, IsActive: in.IsActive, LicenseFileEncryption: in.LicenseFileEncryption,
			})
			if err != nil {
				return err
			}
			return c.printer(cmd).object(p)
		},
	}
	pf.add(createCmd)

	var uf projectFlags
	updateCmd := &cobra.Command{
		Use:               "update ID [--name NAME] [--has-paid=true|false] …",
		Short:             "Change a project's fields (only the flags given)",
		Example:           "  latchkey projects update 7 --name 'Pro Plugin 2' --has-paid=false",
		Args:              idArg("project"),
		ValidArgsFunction: projectCompletion(c),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := argID(args, "project")
			if err != nil {
				return err
			}
			in, err := uf.update(cmd)
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			p, err := cl.Projects.Update(cmd.Context(), id, in)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(p)
		},
	}
	uf.add(updateCmd)

	deleteCmd := &cobra.Command{
		Use:               "delete ID",
		Short:             "Delete a project, with its domains, licenses and injectables; revoke its project-scoped keys",
		Example:           "  latchkey projects delete 7",
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
			if err := cl.Projects.Delete(cmd.Context(), id); err != nil {
				return err
			}
			return c.printer(cmd).object(map[string]any{"id": id, "deleted": true})
		},
	}
	destructive(deleteCmd, env, func(cmd *cobra.Command, args []string) (string, error) {
		id, err := argID(args, "project")
		if err != nil {
			return "", err
		}
		cl, err := c.client(true)
		if err != nil {
			return "", err
		}
		p, err := cl.Projects.Get(cmd.Context(), id)
		if err != nil {
			return "", err
		}
		// Counted to a bound: the question only needs the order of magnitude.
		const most = 1000
		ls, err := take(cl.Licenses.List(cmd.Context(), id, nil), most)
		if err != nil {
			return "", err
		}
		n := strconv.Itoa(len(ls))
		if len(ls) >= most {
			n = "at least " + n
		}
		return fmt.Sprintf("Delete project %d (%s) and its %s licenses, domains and injectables?", id, p.Name, n), nil
	})
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, deleteCmd, newProjectDefaultsCmd(c))
	return cmd
}

// projectFlags are the fields of create and update.
type projectFlags struct {
	name, slug, description, redirectURL, logoURL, webhookURL, webhookSecret, meta string
	hasPaid, active, encryptFiles                                                  bool
}

func (f *projectFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "the project's name (required to create)")
	fs.StringVar(&f.slug, "slug", "", "letters, digits, - and _; unique in the organization (default: from the name)")
	fs.StringVar(&f.description, "description", "", "what it is (\"\" clears)")
	fs.StringVar(&f.redirectURL, "redirect-url", "", "where unlicensed copies send people (default_redirect_url)")
	fs.StringVar(&f.logoURL, "logo-url", "", "the project's logo")
	fs.StringVar(&f.webhookURL, "webhook-url", "", "where events are posted")
	fs.StringVar(&f.webhookSecret, "webhook-secret", "", "the webhook's signing secret (stored encrypted, never shown)")
	fs.StringVar(&f.meta, "meta", "", "a JSON object of your own")
	fs.BoolVar(&f.hasPaid, "has-paid", false, "the project is paid for (needs payments:write)")
	fs.BoolVar(&f.active, "active", true, "the project is active")
	fs.BoolVar(&f.encryptFiles, "license-file-encryption", false,
		"encrypt the project's offline license files to each license's key (docs/license-files.md)")
}

// update returns the fields whose flags were given.
func (f *projectFlags) update(cmd *cobra.Command) (client.ProjectUpdate, error) {
	var in client.ProjectUpdate
	changed := cmd.Flags().Changed
	for name, dst := range map[string]**string{"name": &in.Name, "slug": &in.Slug, "description": &in.Description,
		"redirect-url": &in.DefaultRedirectURL, "logo-url": &in.LogoURL, "webhook-url": &in.WebhookURL, "webhook-secret": &in.WebhookSecret} {
		if changed(name) {
			v := cmd.Flags().Lookup(name).Value.String()
			*dst = &v
		}
	}
	if changed("meta") {
		if !json.Valid([]byte(f.meta)) {
			return in, usagef("--meta: %q is not JSON", f.meta)
		}
		in.Meta = json.RawMessage(f.meta)
	}
	if changed("has-paid") {
		in.HasPaid = &f.hasPaid
	}
	if changed("active") {
		in.IsActive = &f.active
	}
	if changed("license-file-encryption") {
		in.LicenseFileEncryption = &f.encryptFiles
	}
	return in, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
