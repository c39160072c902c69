package app

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

func newMigrateCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Long: `Apply the embedded migrations that the database has not seen yet, in order, each in its
own transaction, and print their names. serve and the admin commands do the same at start,
so running this first is optional; it is there for deployments that migrate in a separate step.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			st, b, applied, err := openStore(cmd.Context(), &cfg, time.Now)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }() // the migrations are committed
			for _, name := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s database is up to date\n", b.Kind)
			return nil
		},
	}
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}

func newAdminCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage users, keys, plans, organizations and signing keys directly in the store",
		Long: `Admin commands work directly on the configured store (--data-dir or --database-url), without
a running server. Use them to create the first user and key, and to give organizations plans.`,
	}
	cmd.AddCommand(newCreateUserCmd(env), newAddMemberCmd(env), newResetPasswordCmd(env), newCreateKeyCmd(env), newAdminPlansCmd(env), newAdminOrgsCmd(env), newAdminSigningCmd(env), newRemoveFactorsCmd(env))
	requireVerb(cmd)
	return cmd
}

// withService opens the store and builds the service for a one-shot
// command.
func withService(ctx context.Context, env Env, cfg *config.Config, fn func(*service.Service, *store.Store) error) error {
	key, _, err := secret.Load(cfg.DataDir, cfg.SecretKey, cfg.SecretKeyFile)
	if err != nil {
		return err
	}
	st, _, _, err := openStore(ctx, cfg, time.Now)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }() // every write below is committed before it returns
	if err := checkSecret(ctx, st, key); err != nil {
		return err
	}
	log := config.NewLogger(env.Stderr, cfg.LogFormat, cfg.LogLevel)
	return fn(service.New(service.Config{Store: st, Secret: key, Logger: log, PasswordCost: cfg.PasswordCost}), st)
}

func newCreateUserCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var in service.CreateUserInput
	var role string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create-user --email E --password P [--org NAME] [--role owner]",
		Short: "Create a user, their organization if needed, and the membership; print the user's ID",
		Long: `Create a user with an e-mail address and a password (at least 8 characters; use
--password-stdin to keep it out of the process list), create the organization named by --org
if it does not exist yet (default "Default"), and make the user a member with --role
(owner, admin, developer or viewer; default owner). Prints the new user's ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if passwordStdin {
				if in.Password != "" {
					return usagef("give either --password or --password-stdin, not both")
				}
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return usagef("--password-stdin: no password on standard input")
				}
				in.Password = strings.TrimRight(line, "\r\n")
			}
			in.Role = core.Role(role)
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				u, _, err := svc.CreateUser(cmd.Context(), nil, in)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), u.ID)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Email, "email", "", "the user's e-mail address (required)")
	f.StringVar(&in.Password, "password", "", "the user's password, at least 8 characters")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&in.Name, "name", "", "the user's display name")
	f.StringVar(&in.OrgName, "org", "Default", "organization to join; created if it does not exist")
	f.StringVar(&role, "role", "owner", "role in the organization: owner, admin, developer or viewer")
	cfg.AddStoreFlags(f)
	return cmd
}

func newCreateKeyCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var email, org, scopes, expires, allowedIPs string
	var in service.KeyInput
	cmd := &cobra.Command{
		Use:   "create-key --email E [--org NAME] [--project ID] [--scopes s1,s2] [--name N] [--env live|test] [--expires RFC3339]",
		Short: "Mint an API key for a user and print only its secret",
		Long: `Mint an API key owned by the user with --email in --org (needed only when the user belongs
to several organizations) and print the secret, once, on standard output. Only its SHA-256
digest is stored. Without --scopes the key gets everything the user's role allows; with
--project it acts only inside that project.

Scopes: ` + strings.Join(core.NewScopeSet(core.AllScopes...).Strings(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if cmd.Flags().Changed("scopes") {
				in.Scopes = []string{}
				for s := range strings.SplitSeq(scopes, ",") {
					if s = strings.TrimSpace(s); s != "" {
						in.Scopes = append(in.Scopes, s)
					}
				}
			}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return usagef("--expires: %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", expires)
				}
				in.ExpiresAt = &t
			}
			if allowedIPs != "" {
				in.AllowedIPs = strings.Split(allowedIPs, ",")
			}
			if in.ProjectID < 0 {
				return usagef("--project: must be a project ID")
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, st *store.Store) error {
				u, m, err := svc.ResolveMembership(cmd.Context(), email, org)
				if err != nil {
					return err
				}
				actor := core.SystemActor(m.OrgID, "admin-cli")
				if in.ProjectID != 0 {
					// Name the project in the error rather than a field.
					if p, err := st.Project(cmd.Context(), in.ProjectID); err != nil || p.OrgID != m.OrgID {
						return fmt.Errorf("no project with ID %d in this organization", in.ProjectID)
					}
				}
				_, secret, err := svc.CreateAPIKey(cmd.Context(), actor, u.ID, in)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "e-mail address of the user who will own the key (required)")
	f.StringVar(&org, "org", "", "organization name (needed when the user belongs to several)")
	f.Int64Var(&in.ProjectID, "project", 0, "bind the key to this project ID (default: a global key)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes (default: all of the user's role)")
	f.StringVar(&in.Name, "name", "CLI key", "a name to recognise the key by")
	f.StringVar(&in.Description, "description", "", "what the key is for")
	f.StringVar(&in.Env, "env", "live", "live or test")
	f.StringVar(&expires, "expires", "", "expiry time, RFC 3339 (default: never)")
	f.StringVar(&allowedIPs, "allowed-ips", "", "comma-separated IPs/CIDRs the key may be used from (default: any)")
	f.IntVar(&in.RateLimit, "rate-limit", 0, "requests per minute for this key (default: the server's)")
	cfg.AddStoreFlags(f)
	return cmd
}
