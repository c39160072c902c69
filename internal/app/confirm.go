package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Destructive verbs (deletes, revocations, bulk actions) ask before they
// act when someone is at a terminal, and need --yes otherwise: a script
// states what it means, and a person gets a last look at what goes.

// addYesFlag adds --yes (-y) to cmd.
func addYesFlag(cmd *cobra.Command) *bool {
	var yes bool
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when standard input is not a terminal)")
	return &yes
}

// confirm returns nil when the action may go ahead: --yes was given, or
// the person at the terminal answered y to question (which is only asked
// for then, since it may ask the server for what it names).
func confirm(cmd *cobra.Command, env Env, yes bool, question func() (string, error)) error {
	if yes {
		return nil
	}
	if !env.Terminal {
		return usagef("%s changes what cannot be restored: pass --yes to confirm (standard input is not a terminal, so there is no one to ask)", cmd.CommandPath())
	}
	q, err := question()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%s [y/N] ", q)
	switch strings.ToLower(strings.TrimSpace(firstLine(env.Stdin))) {
	case "y", "yes":
		return nil
	}
	return &coded{exit: ExitFailed, code: "NOT_CONFIRMED", err: errors.New("not confirmed: nothing was changed")}
}

// destructive makes cmd, a verb that destroys, confirm first (--yes or the
// answer to question, asked with the verb's arguments).
func destructive(cmd *cobra.Command, env Env, question func(cmd *cobra.Command, args []string) (string, error)) *cobra.Command {
	yes := addYesFlag(cmd)
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := confirm(cmd, env, *yes, func() (string, error) { return question(cmd, args) }); err != nil {
			return err
		}
		return run(cmd, args)
	}
	return cmd
}

// plainQuestion asks "Delete domain 3 of project 7?" from the ID argument
// and, when project is not nil, the --project flag.
func plainQuestion(verb, what string, project *int64) func(cmd *cobra.Command, args []string) (string, error) {
	return func(cmd *cobra.Command, args []string) (string, error) {
		id, err := argID(args, what)
		if err != nil {
			return "", err
		}
		q := fmt.Sprintf("%s %s %d", verb, what, id)
		if project != nil {
			if err := requireProject(cmd, *project); err != nil {
				return "", err
			}
			q += fmt.Sprintf(" of project %d", *project)
		}
		return q + "?", nil
	}
}
