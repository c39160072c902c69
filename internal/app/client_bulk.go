package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// printBulk writes a bulk action's result: JSON as the API answers, or a
// summary line and the sample as a table.
func printBulk[T any](p printer, dry bool, count int64, noun string, sample []T, header []string, row func(T) []string) error {
	if p.json {
		return p.object(map[string]any{"dry_run": dry, "count": count, "sample": sample})
	}
	verb := "changed"
	if dry {
		verb = "would change (dry run)"
	}
	fmt.Fprintf(p.w, "%d %s %s\n", count, noun, verb)
	if len(sample) == 0 {
		return nil
	}
	return list(p, sample, header, row)
}

// parseMetadataFlags reads repeated key=value flags; with patch, "key="
// removes the key.
func parseMetadataFlags(name string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--%s: %q is not key=value", name, v)
		}
		out[k] = val
	}
	return out, nil
}

// bulkVerbs word each bulk action for the confirmation question.
var bulkVerbs = map[string]string{
	client.BulkSuspend: "Suspend", client.BulkReactivate: "Reactivate", client.BulkRevoke: "Revoke",
	client.BulkExtend: "Extend", client.BulkSetMetadata: "Change the metadata of",
}

func newLicensesBulkCmd(c *conn, project *int64) *cobra.Command {
	var f client.BulkLicenseFilter
	var meta, set []string
	var ids []int64
	var dry bool
	var yes *bool
	var duration, from string
	cmd := &cobra.Command{
		Use:   "bulk suspend|reactivate|revoke|extend|set_metadata --project ID [filter flags] [--dry-run]",
		Short: "Run an action on every license a filter selects (at most 10,000)",
		Long: `Run an action on the project's licenses the filter selects and the action applies to: suspend and
revoke change active licenses, reactivate revoked or suspended ones that have not expired, extend
licenses that expire (--from now: every one), set_metadata every match. --dry-run counts them and
shows the first 20, changing nothing. See docs/bulk.md.`,
		Example: `  latchkey licenses bulk suspend --project 1 --metadata plan=trial --dry-run
  latchkey licenses bulk extend --project 1 --status active --duration 30d
  latchkey licenses bulk set_metadata --project 1 --ids 4,5,6 --set plan=gold --set trial=`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{client.BulkSuspend, client.BulkReactivate, client.BulkRevoke, client.BulkExtend, client.BulkSetMetadata},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, *project); err != nil {
				return err
			}
			var err error
			if f.Metadata, err = parseMetadataFlags("metadata", meta); err != nil {
				return err
			}
			if cmd.Flags().Changed("ids") {
				f.IDs = ids
				if f.IDs == nil {
					f.IDs = []int64{}
				}
			}
			in := client.BulkLicenses{Filter: f, Action: args[0], DryRun: dry, Duration: duration, From: from}
			if len(set) > 0 {
				m, err := parseMetadataFlags("set", set)
				if err != nil {
					return err
				}
				in.Metadata = map[string]*string{}
				for k, v := range m {
					if v == "" {
						in.Metadata[k] = nil
					} else {
						in.Metadata[k] = &v
					}
				}
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			if !dry {
				if err := confirm(cmd, c.env, *yes, func() (string, error) {
					probe := in
					probe.DryRun = true
					res, err := cl.Licenses.Bulk(cmd.Context(), *project, probe)
					if err != nil {
						return "", err
					}
					return fmt.Sprintf("%s %d licenses of project %d?", bulkVerbs[args[0]], res.Count, *project), nil
				}); err != nil {
					return err
				}
			}
			res, err := cl.Licenses.Bulk(cmd.Context(), *project, in)
			if err != nil {
				return err
			}
			return printBulk(c.printer(cmd), res.DryRun, res.Count, "licenses", res.Sample, []string{"ID", "TITLE", "STATUS", "EXPIRES"},
				func(l client.License) []string {
					return []string{strconv.FormatInt(l.ID, 10), l.Title, l.Status, timeText(l.ExpiresAt)}
				})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Status, "status", "", "only licenses in this status: active, revoked or suspended")
	fl.StringVar(&f.Search, "search", "", "only licenses whose title contains this")
	fl.StringVar(&f.Q, "q", "", "only licenses whose title, customer or external ID contains this, or whose key this is")
	fl.StringVar(&f.ExternalID, "external-id", "", "only the license with this external ID")
	fl.StringVar(&f.CustomerEmail, "customer-email", "", "only licenses of this customer email")
	fl.StringArrayVar(&meta, "metadata", nil, "only licenses with this metadata entry, key=value (repeatable)")
	fl.Int64SliceVar(&ids, "ids", nil, "only these license IDs, comma-separated")
	fl.StringVar(&f.Mode, "mode", "", "only live or only test licenses: live or test")
	fl.BoolVar(&dry, "dry-run", false, "count and show the first 20, changing nothing")
	fl.StringVar(&duration, "duration", "", "extend: by how long (30d, 12h, 2w, 1y or seconds)")
	fl.StringVar(&from, "from", "", "extend: from the expiry (default) or now")
	fl.StringArrayVar(&set, "set", nil, "set_metadata: key=value to set, key= to remove (repeatable)")
	yes = addYesFlag(cmd)
	_ = cmd.RegisterFlagCompletionFunc("status", fixedCompletion(client.LicenseActive, client.LicenseRevoked, client.LicenseSuspended))
	_ = cmd.RegisterFlagCompletionFunc("from", fixedCompletion("expiry", "now"))
	return cmd
}

func newKeysBulkCmd(c *conn) *cobra.Command {
	var f client.BulkAPIKeyFilter
	var lastUsed string
	var dry bool
	var yes *bool
	cmd := &cobra.Command{
		Use:   "bulk revoke [filter flags] [--dry-run]",
		Short: "Revoke every API key a filter selects (never the calling key)",
		Long: `Revoke the unrevoked API keys the filter selects among those you may see. The calling key is never
revoked this way; a selection with a key holding rights beyond yours is refused whole. --dry-run
counts them and shows the first 20. See docs/bulk.md.`,
		Example: `  latchkey keys bulk revoke --owner-email dev@example.com --dry-run
  latchkey keys bulk revoke --name-prefix ci- --last-used-before 2026-01-01`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"revoke"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "revoke" {
				return usagef("%q: API keys can only be revoked in bulk", args[0])
			}
			if lastUsed != "" {
				t, err := parseTimeFlag("last-used-before", lastUsed)
				if err != nil {
					return err
				}
				f.LastUsedBefore = &t
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			if !dry {
				if err := confirm(cmd, c.env, *yes, func() (string, error) {
					res, err := cl.APIKeys.Bulk(cmd.Context(), client.BulkAPIKeys{Filter: f, DryRun: true})
					if err != nil {
						return "", err
					}
					return fmt.Sprintf("Revoke %d API keys? Programs using them are refused at once.", res.Count), nil
				}); err != nil {
					return err
				}
			}
			res, err := cl.APIKeys.Bulk(cmd.Context(), client.BulkAPIKeys{Filter: f, DryRun: dry})
			if err != nil {
				return err
			}
			return printBulk(c.printer(cmd), res.DryRun, res.Count, "API keys", res.Sample, []string{"ID", "NAME", "KEY", "STATUS", "LAST_USED"},
				func(k client.APIKey) []string {
					return []string{strconv.FormatInt(k.ID, 10), k.Name, k.Display, k.Status, timeText(k.LastUsedAt)}
				})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&f.OwnerID, "owner-id", 0, "only keys of this user ID")
	fl.StringVar(&f.OwnerEmail, "owner-email", "", "only keys of this user")
	fl.Int64Var(&f.ProjectID, "project", 0, "only keys bound to this project")
	fl.StringVar(&f.NamePrefix, "name-prefix", "", "only keys whose name starts with this (any case)")
	fl.StringVar(&lastUsed, "last-used-before", "", "only keys not used since this date (never-used keys too)")
	fl.StringVar(&f.Env, "env", "", "only live or test keys")
	fl.BoolVar(&dry, "dry-run", false, "count and show the first 20, revoking nothing")
	yes = addYesFlag(cmd)
	_ = cmd.RegisterFlagCompletionFunc("env", fixedCompletion("live", "test"))
	return cmd
}
