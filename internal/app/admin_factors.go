package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// newRemoveFactorsCmd is the escape hatch for a lost device.
func newRemoveFactorsCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var email string
	cmd := &cobra.Command{
		Use:   "remove-factors --email E",
		Short: "Remove a user's second factors (a lost authenticator or passkey)",
		Long: `Remove the authenticator app, the passkeys and the recovery codes of the user with --email,
who then signs in with the password alone and can enrol again (an organization that requires a
second factor sends them to do so first). Check who is asking before you run it: it is the way
around the second factor. The removal is audited in each of the user's organizations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				u, err := svc.RemoveUserFactors(cmd.Context(), email, "admin-cli")
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed the second factors of %s.\n", u.Email)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the e-mail address of the user (required)")
	cfg.AddStoreFlags(f)
	return cmd
}
