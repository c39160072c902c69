package app

import (
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Help screens. Since pflag 1.0.8 (pflag#410) FlagUsages renders every
// boolean flag as "--help[=true|false]"; cobra's default template prints
// that on every screen. The template below is cobra's own, with the flag
// lists rendered by flagUsages, which shows a boolean as "-h, --help" again.

var registerHelpFuncs sync.Once

// setHelp installs the usage template on root (its commands inherit it)
// and turns on suggestions for mistyped commands.
func setHelp(root *cobra.Command) {
	registerHelpFuncs.Do(func() { cobra.AddTemplateFunc("flagUsages", flagUsages) })
	root.SetUsageTemplate(usageTemplate)
}

// plainBool is a boolean flag's value without its IsBoolFlag method, which
// is what makes pflag add "[=true|false]". The flag still takes no value
// (its NoOptDefVal stays "true"); only the help text changes.
type plainBool struct{ pflag.Value }

// flagUsages renders fs as pflag does, booleans as "--name".
func flagUsages(fs *pflag.FlagSet) string {
	plain := pflag.NewFlagSet("", pflag.ContinueOnError)
	plain.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		g := *f
		if f.Value.Type() == "bool" {
			g.Value = plainBool{f.Value}
		}
		plain.AddFlag(&g)
	})
	return strings.TrimRight(plain.FlagUsages(), " \n")
}

// unknownCommand is the error for a mistyped command under cmd, with the
// commands it is close to: `unknown command "projcts" for "latchkey"; did
// you mean "projects"?`, on one line as every error is.
func unknownCommand(cmd *cobra.Command, arg string) error {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", arg, cmd.CommandPath())
	if s := cmd.SuggestionsFor(arg); len(s) > 0 {
		quoted := make([]string, len(s))
		for i, name := range s {
			quoted[i] = fmt.Sprintf("%q", name)
		}
		return usagef("%s; did you mean %s?", msg, strings.Join(quoted, " or "))
	}
	return usagef("%s; see %q", msg, cmd.CommandPath()+" --help")
}

const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{if eq (len .Groups) 0}}

Available Commands:{{range $cmds}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{else}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if not .AllChildCommandsHaveGroup}}

Additional Commands:{{range $cmds}}{{if (and (eq .GroupID "") (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{flagUsages .LocalFlags}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{flagUsages .InheritedFlags}}{{end}}{{if .HasHelpSubCommands}}

Additional help topics:{{range .Commands}}{{if .IsAdditionalHelpTopicCommand}}
  {{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`
