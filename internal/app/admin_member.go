package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

func newAddMemberCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var email, org, role string
	cmd := &cobra.Command{
		Use:   "add-member --email E --org NAME [--role owner]",
		Short: "Add an existing user to another organization",
		Long: `Make the existing user with --email a member of the organization --org (created if it
does not exist yet) with --role (owner, admin, developer or viewer; default owner). Use it to
give one account a second organization; create-user refuses an email that is taken. Prints
the organization's ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				_, o, err := svc.JoinOrganization(cmd.Context(), nil, email, org, core.Role(role))
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), o.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the e-mail address of an existing user (required)")
	f.StringVar(&org, "org", "", "the organization to join; created if it does not exist (required)")
	f.StringVar(&role, "role", "owner", "role in the organization: owner, admin, developer or viewer")
	cfg.AddStoreFlags(f)
	return cmd
}
