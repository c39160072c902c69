package app

import (
	"errors"
	"iter"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// newActivationsCmd is "latchkey licenses activations": a license's
// activations, under the licenses noun (its --project flag and
// connection).
func newActivationsCmd(c *conn, project *int64) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "activations",
		Short: "List and remove a license's activations (the domains and machines that used it)",
		Long: `List and remove the activations of a license (--project ID --license ID). Removing one frees
its slot at once: the next validation from that identifier counts as a new activation, under the
license's domain limits and its churn limit (max_new_activations_per_day).`,
	}
	var license int64
	cmd.PersistentFlags().Int64Var(&license, "license", 0, "the license's ID (required)")
	requireLicense := func() error {
		if license <= 0 {
			return errors.New(`--license: give the license ID ("latchkey licenses list --project ID" shows them)`)
		}
		return nil
	}
	list := listCmd(c, listing[client.Activation]{
		use:     "list --project ID --license ID",
		short:   "List a license's activations, oldest first",
		example: "  latchkey licenses activations list --project 7 --license 42",
		project: project,
		prepare: requireLicense,
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.Activation, error] {
			return cl.Activations.List(cmd.Context(), *project, license, &client.ListOptions{PerPage: 100})
		},
		header: []string{"ID", "IDENTIFIER", "BASE DOMAIN", "FIRST SEEN", "LAST SEEN", "IP", "COUNTRY", "USER AGENT"},
		row: func(a client.Activation) []string {
			return []string{strconv.FormatInt(a.ID, 10), a.Identifier, a.BaseDomain, timeText(&a.FirstSeenAt), timeText(&a.LastSeenAt),
				optText(a.LastIP), optText(a.Country), optText(a.UserAgent)}
		},
	})
	del := c.oneCmd("activation", project, "delete ID --project ID --license ID",
		"Remove an activation: its slot is free from the next validation on",
		"  latchkey licenses activations delete 3 --project 7 --license 42",
		c.printing(func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if err := requireLicense(); err != nil {
				return nil, err
			}
			return cl.Activations.Delete(cmd.Context(), *project, license, id)
		}))
	destructive(del, c.env, plainQuestion("Delete", "activation", project))
	cmd.AddCommand(list, del)
	return cmd
}
