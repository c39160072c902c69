package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// newResetPasswordCmd is the operator's password reset, for instances
// that send no mail (and for locked-out owners).
func newResetPasswordCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var email, passwordFile string
	cmd := &cobra.Command{
		Use:   "reset-password --email E [--password-file F]",
		Short: "Set a user's password and sign them out everywhere",
		Long: `Set the password of the user with --email (at least 8 characters) and end every dashboard
session of theirs, as a reset by emailed link does. The new password is read from
--password-file (its first line), else asked for twice at a prompt without echo, else read
from the first line of standard input. It is never an argument: it would show in the
process list. API keys are not affected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			if email == "" {
				return usagef("--email is required")
			}
			password, err := readNewPassword(env, passwordFile)
			if err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				if err := svc.AdminResetPassword(cmd.Context(), email, password); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "The password of %s was set; their sessions were ended.\n", strings.ToLower(strings.TrimSpace(email)))
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the user's e-mail address (required)")
	f.StringVar(&passwordFile, "password-file", "", "file whose first line is the new password")
	cfg.AddStoreFlags(f)
	return cmd
}

// readNewPassword reads a new password from a file, a prompt (twice) or
// standard input's first line.
func readNewPassword(env Env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr(fmt.Errorf("--password-file: %w", err))
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	if f, ok := env.Stdin.(*os.File); ok && env.Terminal && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(env.Stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(env.Stderr)
			return string(b), err
		}
		p1, err := read("New password: ")
		if err != nil {
			return "", err
		}
		p2, err := read("Repeat the new password: ")
		if err != nil {
			return "", err
		}
		if p1 != p2 {
			return "", usageErr(errors.New("the two passwords differ"))
		}
		return p1, nil
	}
	line := firstLine(env.Stdin)
	if line == "" {
		return "", usageErr(errors.New("no password: give --password-file, type it at the prompt, or pipe it"))
	}
	return strings.TrimRight(line, "\r\n"), nil
}
