package app

import "github.com/spf13/cobra"

// newOrgParentCmd is `latchkey org`, holding the license defaults. When
// the organization commands (org show, org policy) live elsewhere, their
// parent adds newOrgDefaultsCmd(c) and this file goes.
func newOrgParentCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Show and change the organization's settings",
		Long:  "Manage the organization the API key belongs to." + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	cmd.AddCommand(newOrgDefaultsCmd(c))
	return cmd
}
