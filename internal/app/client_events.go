package app

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/service"
)

func newEventsCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List and show the events webhooks deliver",
		Long: `Read the events the server records for every change (a license revoked, a key rotated…) and
delivers to webhook endpoints (scope webhooks:read). A project-scoped key sees only its project's
events. "latchkey webhooks" manages the endpoints.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)

	var f client.EventFilter
	listCmd := listCmd(c, listing[client.Event]{
		use:   "list [--type license.revoked|license.*] [--resource-type license --resource-id 42] [--project ID]",
		short: "List events, newest first",
		example: `  latchkey events list --type 'license.*' --project 7
  latchkey events list --resource-type license --resource-id 42 --output json`,
		prepare: func() error {
			if f.ResourceID != 0 && f.ResourceType == "" {
				return usagef("--resource-id: give --resource-type too (license, api_key…)")
			}
			return nil
		},
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.Event, error] {
			return cl.Events.List(cmd.Context(), &f)
		},
		header: []string{"TIME", "ID", "TYPE", "RESOURCE", "PROJECT"},
		row: func(e client.Event) []string {
			return []string{timeText(&e.CreatedAt), e.ID, e.Type, resourceText(e.ResourceType, e.ResourceID), optText(e.ProjectID)}
		},
		limit: 100,
	})
	fs := listCmd.Flags()
	fs.StringVar(&f.Type, "type", "", "an event type (license.revoked), or a family (license.*)")
	fs.StringVar(&f.ResourceType, "resource-type", "", "project, domain, license, activation, injectable, api_key")
	fs.Int64Var(&f.ResourceID, "resource-id", 0, "the resource's ID (with --resource-type)")
	fs.Int64Var(&f.ProjectID, "project", 0, "only events of this project")
	_ = listCmd.RegisterFlagCompletionFunc("type", fixedCompletion(eventTypeFilters()...))
	_ = listCmd.RegisterFlagCompletionFunc("resource-type", fixedCompletion("project", "domain", "license", "activation", "injectable", "api_key"))
	_ = listCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))

	showCmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show an event, with the resource it is about",
		Example: "  latchkey events show evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60",
		Args:    idArg("event"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(args[0], "evt_") {
				return fmt.Errorf("event ID: %q is not an event ID (evt_…; \"latchkey events list\" shows them)", args[0])
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			e, err := cl.Events.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return c.printer(cmd).object(e)
		},
	}
	cmd.AddCommand(listCmd, showCmd)
	return cmd
}

// eventTypeFilters are the values of events list --type: every type, and
// every family of types (license.*).
func eventTypeFilters() []string {
	var out []string
	for _, t := range service.EventTypes {
		family, _, _ := strings.Cut(t, ".")
		if f := family + ".*"; !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return append(out, service.EventTypes...)
}

// resourceText names an event's resource for a table cell: "license 42".
func resourceText(typ string, id int64) string {
	switch {
	case typ == "":
		return "-"
	case id == 0:
		return typ
	}
	return fmt.Sprintf("%s %d", typ, id)
}
