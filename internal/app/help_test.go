package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelpShowsBooleanFlagsPlainly checks that help screens show a boolean
// flag as "-h, --help", not pflag's "--help[=true|false]", aligned with
// the other flags, and that true defaults are still shown.
func TestHelpShowsBooleanFlagsPlainly(t *testing.T) {
	env := Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader("")}
	for _, tc := range []struct {
		args []string
		want []string // lines of the help screen
	}{
		{[]string{"projects", "--help"}, []string{
			"      --api-key string   API key (default $LATCHKEY_API_KEY or the file $LATCHKEY_API_KEY_FILE)",
			"  -h, --help             help for projects",
			"  -o, --output string    output format: table or json (default \"table\")",
		}},
		{[]string{"licenses", "bulk", "--help"}, []string{
			"      --dry-run                 count and show the first 20, changing nothing",
			"  -y, --yes                     do not ask for confirmation (required when standard input is not a terminal)",
		}},
		{[]string{"help", "validate"}, []string{"      --check-project        use the project's payment status rather than the domain's"}},
		{[]string{"--help"}, []string{"  -h, --help             help for latchkey", "  -v, --version          version for latchkey"}},
	} {
		var out bytes.Buffer
		env.Stdout, env.Stderr = &out, &out
		if err := Run(context.Background(), tc.args, env); err != nil {
			t.Fatalf("latchkey %s: %v", strings.Join(tc.args, " "), err)
		}
		lines := strings.Split(out.String(), "\n")
		for _, want := range tc.want {
			found := false
			for _, l := range lines {
				found = found || l == want
			}
			if !found {
				t.Errorf("latchkey %s: no line %q in\n%s", strings.Join(tc.args, " "), want, out.String())
			}
		}
		if strings.Contains(out.String(), "[=true|false]") {
			t.Errorf("latchkey %s shows [=true|false]:\n%s", strings.Join(tc.args, " "), out.String())
		}
	}
}

// TestMistypedCommandSuggests checks the one-line "did you mean" of a
// mistyped command, at the root and under a noun, and its exit code.
func TestMistypedCommandSuggests(t *testing.T) {
	env := Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"projcts"}, `unknown command "projcts" for "latchkey"; did you mean "projects"?`},
		{[]string{"licenes", "list"}, `unknown command "licenes" for "latchkey"; did you mean "licenses"?`},
		{[]string{"projects", "lst"}, `unknown command "lst" for "latchkey projects"; did you mean "list"?`},
		{[]string{"webhooks", "endpoint", "list"}, `unknown command "endpoint" for "latchkey webhooks"; did you mean "endpoints"?`},
		{[]string{"licenses", "frobnicate"}, `unknown command "frobnicate" for "latchkey licenses"; see "latchkey licenses --help"`},
		{[]string{"zzz"}, `unknown command "zzz" for "latchkey"; see "latchkey --help"`},
		{[]string{"help", "projcts"}, `unknown command "projcts" for "latchkey"; did you mean "projects"?`},
		{[]string{"help", "licenses", "bulck"}, `unknown command "bulck" for "latchkey licenses"; did you mean "bulk"?`},
	} {
		err := Run(context.Background(), tc.args, env)
		if got := ErrorLine(err); got != tc.want || ExitCode(err) != ExitUsage {
			t.Errorf("latchkey %s: %q (exit %d), want %q (exit 2)", strings.Join(tc.args, " "), got, ExitCode(err), tc.want)
		}
	}
}
