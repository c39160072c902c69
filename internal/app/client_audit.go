package app

import (
	"iter"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

func newAuditCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log",
		Long:  "Read the audit log: who changed what, when, from where (scope audit:read)." + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var f client.AuditFilter
	var since, until string
	listCmd := listCmd(c, listing[client.AuditEvent]{
		use:   "list [--action license.] [--project ID] [--since DATE] …",
		short: "List audit events, newest first",
		example: `  latchkey audit list --project 7 --action license.
  latchkey audit list --actor-type api_key --since 2026-11-01 --output json`,
		prepare: func() error {
			for name, v := range map[string]struct {
				s   string
				dst *time.Time
			}{"since": {since, &f.Since}, "until": {until, &f.Until}} {
				if v.s != "" {
					t, err := parseTimeFlag(name, v.s)
					if err != nil {
						return err
					}
					*v.dst = t
				}
			}
			return nil
		},
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.AuditEvent, error] {
			return cl.Audit.List(cmd.Context(), &f)
		},
		header: []string{"TIME", "ACTION", "ACTOR", "TARGET", "PROJECT", "IP"},
		row: func(e client.AuditEvent) []string {
			return []string{timeText(&e.CreatedAt), e.Action, e.Actor, e.TargetType + " " + strconv.FormatInt(e.TargetID, 10),
				optText(e.ProjectID), e.IP}
		},
		limit: 100,
	})
	fs := listCmd.Flags()
	fs.StringVar(&f.Action, "action", "", "an action (license.revoke), or a prefix ending in . (license.)")
	fs.StringVar(&f.ActorType, "actor-type", "", "user, api_key, system or license (a license key holder: runtime license file checkouts)")
	fs.Int64Var(&f.ActorID, "actor-id", 0, "the acting user's or key's ID")
	fs.StringVar(&f.TargetType, "target-type", "", "project, domain, license, injectable, api_key, user")
	fs.Int64Var(&f.TargetID, "target-id", 0, "the target's ID")
	fs.Int64Var(&f.ProjectID, "project", 0, "only events of this project")
	fs.StringVar(&since, "since", "", "only events at or after this date or RFC 3339 time")
	fs.StringVar(&until, "until", "", "only events before this date or RFC 3339 time")
	_ = listCmd.RegisterFlagCompletionFunc("actor-type", fixedCompletion("user", "api_key", "system", "license"))
	_ = listCmd.RegisterFlagCompletionFunc("target-type", fixedCompletion("project", "domain", "license", "injectable", "api_key", "user"))
	_ = listCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))
	cmd.AddCommand(listCmd)
	return cmd
}

func newPaymentsCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "payments",
		Short: "Check payment status",
		Long: `Check whether a project, or one of its domains, has paid (scope payments:read). Set has_paid with
"latchkey projects update ID --has-paid" or "latchkey domains update".` + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var project int64
	var q client.PaymentQuery
	statusCmd := &cobra.Command{
		Use:     "status --project ID [--domain HOST | --check-project]",
		Short:   "Show whether a project or one of its domains has paid",
		Example: "  latchkey payments status --project 7 --domain shop.example.com",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, project); err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			ps, err := cl.Payments.Status(cmd.Context(), project, q)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(ps)
		},
	}
	fs := statusCmd.Flags()
	fs.Int64Var(&project, "project", 0, "the project's ID (required)")
	fs.StringVar(&q.Domain, "domain", "", "ask about this domain of the project")
	fs.BoolVar(&q.CheckProject, "check-project", false, "ask about the project itself")
	_ = statusCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))
	cmd.AddCommand(statusCmd)
	return cmd
}
