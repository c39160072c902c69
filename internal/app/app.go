// Package app is the latchkey command: it parses the command line, opens
// the store, wires the services and runs the server or a one-shot command.
// Everything outside the process (arguments, environment, standard streams)
// comes in as parameters, so tests run the real command in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/version"
)

// Env is the outside world of one run.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Terminal says that Stdin is a terminal someone types at: destructive
	// verbs ask before they act, and login prompts for the API key.
	// Otherwise they need --yes, and login reads the key from Stdin.
	Terminal bool

	// global holds the root's flags (--profile), once newRoot made them.
	global *globalFlags
}

// globalFlags are the flags of every command.
type globalFlags struct {
	profile string
}

// Run runs the latchkey command with args (without the program name). A
// failure is an *ExitError carrying the exit code (ExitCode).
func Run(ctx context.Context, args []string, env Env) error {
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	root := newRoot(env)
	var ran bool
	markRuns(root, &ran)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	return exitError(err, ran, jsonOutput(cmd, args))
}

// requireVerb makes a noun without a verb show its help, and an unknown
// verb an error with suggestions: cobra checks subcommand names only at
// the root, and words its suggestions on several lines.
func requireVerb(cmd *cobra.Command) {
	if !cmd.HasSubCommands() || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return unknownCommand(cmd, args[0])
		}
		return cmd.Help()
	}
}

func newRoot(env Env) *cobra.Command {
	env.global = &globalFlags{}
	root := &cobra.Command{
		Use:   "latchkey",
		Short: "Self-hosted licensing and API-key server",
		Long: `Latchkey issues license keys that your customers' copies validate at runtime, and API keys
that your backends use to manage projects, domains, licenses and injectables. It speaks the
DevPayr REST protocol, so DevPayr's SDKs work against it unchanged.

Settings come from flags, then LATCHKEY_* environment variables (--data-dir is
LATCHKEY_DATA_DIR); see "latchkey help serve".`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version.String(),
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("latchkey {{.Version}}\n")
	root.PersistentFlags().StringVar(&env.global.profile, "profile", "",
		"the profile of the config file to use (default $LATCHKEY_PROFILE, else \"default\"); see \"latchkey login\"")
	setHelp(root)
	root.AddCommand(
		newServeCmd(env),
		newMigrateCmd(env),
		newVersionCmd(),
		newAdminCmd(env),
	)
	root.AddCommand(newClientCmds(env)...)
	requireVerb(root)
	root.SetHelpCommand(newHelpCmd(root))
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "latchkey %s\n", version.String())
			return nil
		},
	}
}

// ErrorLine renders err as the one line the command prints on failure:
// validation problems are listed field by field, and joined errors are
// separated by "; ".
func ErrorLine(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) && len(ce.Fields) > 0 {
		fields := make([]string, 0, len(ce.Fields))
		for f := range ce.Fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		parts := make([]string, 0, len(fields))
		for _, f := range fields {
			parts = append(parts, strings.Join(ce.Fields[f], " "))
		}
		return strings.Join(parts, " ")
	}
	if errors.As(err, &ce) {
		return ce.Message
	}
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
