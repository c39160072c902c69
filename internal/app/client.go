package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/version"
)

// The client commands manage a running server over its public HTTP API,
// through the Go SDK (package client), exactly as any other program would:
// one noun per resource, one verb per action.

// defaultURL is where the client commands look for a server by default:
// serve's default address.
const defaultURL = "http://127.0.0.1:8080"

// newClientCmds returns the client commands.
func newClientCmds(env Env) []*cobra.Command {
	cmds := []*cobra.Command{
		newProjectsCmd(env),
		newDomainsCmd(env),
		newLicensesCmd(env),
		newInjectablesCmd(env),
		newKeysCmd(env),
		newOrgCmd(env),
		newAuditCmd(env),
		newEventsCmd(env),
		newWebhooksCmd(env),
		newPaymentsCmd(env),
		newValidateCmd(env),
		newHeartbeatCmd(env),
		newAPICmd(env),
		newLoginCmd(env),
		newLogoutCmd(env),
	}
	for _, c := range cmds {
		finish(c)
	}
	return cmds
}

// finish makes a noun without a verb show its help, and an unknown verb
// an error (cobra checks subcommand names only at the root), and turns
// every failure into the one line main prints.
func finish(cmd *cobra.Command) {
	requireVerb(cmd)
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error { return cliError(run(cmd, args)) }
	}
	for _, sub := range cmd.Commands() {
		finish(sub)
	}
}

// cliError words an SDK error for the command line: the server's message
// as it is, a transport failure as what could not be reached. The error
// stays in the chain, for its exit code.
func cliError(err error) error {
	var apiErr *client.Error
	var urlErr *url.Error
	switch {
	case err == nil, errors.As(err, &apiErr):
		return err
	case errors.As(err, &urlErr):
		return reworded{fmt.Sprintf("cannot reach %s: %v", urlErr.URL, urlErr.Err), err}
	}
	if msg, ok := strings.CutPrefix(err.Error(), "latchkey: "); ok {
		return reworded{msg, err}
	}
	return err
}

// reworded is an error with another message and the same chain.
type reworded struct {
	msg string
	err error
}

func (e reworded) Error() string { return e.msg }
func (e reworded) Unwrap() error { return e.err }

const connectionHelp = `
The server is --url (or LATCHKEY_URL; default ` + defaultURL + `) and the API key --api-key
(or LATCHKEY_API_KEY, or the file named by LATCHKEY_API_KEY_FILE; prefer the environment, since
flags show in the process list). Output is a table for people, or JSON with --output json for
scripts. --profile (or LATCHKEY_PROFILE) picks a profile saved by "latchkey login". On failure the
command prints one line to standard error (a JSON object with --output json) and exits with
status 1 (refused), 2 (usage), 3 (authentication or permission), 4 (not found) or 5 (server or
network); see docs/cli.md.`

// conn holds the flags every client command shares.
type conn struct {
	env    Env
	url    string
	apiKey string
	output string
}

// addConnFlags adds --url, --api-key and --output to cmd and its
// subcommands.
func addConnFlags(cmd *cobra.Command, env Env) *conn {
	c := &conn{env: env}
	pf := cmd.PersistentFlags()
	pf.StringVar(&c.url, "url", "", "server URL (default $LATCHKEY_URL, else "+defaultURL+")")
	pf.StringVar(&c.apiKey, "api-key", "", "API key (default $LATCHKEY_API_KEY or the file $LATCHKEY_API_KEY_FILE)")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion("table", "json"))
	return c
}

// client returns an SDK client for the flags and environment. needKey
// says whether the command needs an API key (validation does not).
func (c *conn) client(needKey bool, opts ...client.Option) (*client.Client, error) {
	url, key, err := c.resolve(needKey)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(url, key, append([]client.Option{client.WithUserAgent(userAgent())}, opts...)...)
	if err != nil {
		return nil, usageErr(err)
	}
	return cl, nil
}

func userAgent() string { return "latchkey-cli/" + version.String() }

// resolve returns the server URL and the API key: flags, then the
// environment, then the profile (--profile, LATCHKEY_PROFILE, else
// "default"), then the default URL. A profile's key is used only with its
// own URL, so that LATCHKEY_URL or --url pointing elsewhere never receives
// it.
func (c *conn) resolve(needKey bool) (url, key string, err error) {
	if c.output != "table" && c.output != "json" {
		return "", "", usagef("--output: %q is not table or json", c.output)
	}
	p, err := c.env.profile()
	if err != nil {
		return "", "", err
	}
	url = firstOf(c.url, c.env.Getenv("LATCHKEY_URL"), p.URL, defaultURL)
	key = firstOf(c.apiKey, c.env.Getenv("LATCHKEY_API_KEY"))
	if key == "" {
		if file := c.env.Getenv("LATCHKEY_API_KEY_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", "", authErr(fmt.Errorf("LATCHKEY_API_KEY_FILE: %w", err))
			}
			key = strings.TrimSpace(string(b))
		}
	}
	if key == "" && p.APIKey != "" && sameURL(url, p.URL) {
		key = p.APIKey
	}
	if needKey && key == "" {
		return "", "", authErr(errors.New("no API key: run \"latchkey login\", or set LATCHKEY_API_KEY (or pass --api-key); \"latchkey admin create-key\" mints the first one"))
	}
	return url, key, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// printer writes a command's result as a table or as JSON.
type printer struct {
	w    io.Writer
	json bool
}

func (c *conn) printer(cmd *cobra.Command) printer {
	return printer{w: cmd.OutOrStdout(), json: c.output == "json"}
}

// object prints one object: JSON, or a two-column table of its fields in
// their JSON order.
func (p printer) object(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if p.json {
		return p.raw(b)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	if err := eachField(b, func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }); err != nil {
		return err
	}
	return tw.Flush()
}

// list prints items: a JSON array, or a table with header and one row per
// item.
func list[T any](p printer, items []T, header []string, row func(T) []string) error {
	if p.json {
		if items == nil {
			items = []T{}
		}
		b, err := json.Marshal(items)
		if err != nil {
			return err
		}
		return p.raw(b)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(row(it), "\t"))
	}
	return tw.Flush()
}

// raw writes JSON indented, with a final newline.
func (p printer) raw(b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := p.w.Write(buf.Bytes())
	return err
}

// eachField calls fn with each top-level field of a JSON object, in order,
// its value as text: strings bare, null as "-", anything else as JSON.
func eachField(b []byte, fn func(k, v string)) error {
	return eachRawField(b, func(k string, v json.RawMessage) { fn(k, cell(v)) })
}

// eachRawField calls fn with each top-level field of a JSON object, in
// order, its value as it is.
func eachRawField(b []byte, fn func(k string, v json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		fn(t.(string), v)
	}
	return nil
}

func cell(v json.RawMessage) string {
	var s string
	switch {
	case string(v) == "null":
		return "-"
	case json.Unmarshal(v, &s) == nil:
		return s
	}
	return string(v)
}

// take runs a listing until limit items (0: all) or the end.
func take[T any](seq iter.Seq2[T, error], limit int) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// oneCmd builds a verb that acts on one resource named by its ID argument.
// With project not nil, --project must be given too (it is read when the
// command runs, after the flags are parsed).
func (c *conn) oneCmd(what string, project *int64, use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Example: example, Args: idArg(what),
		RunE: func(cmd *cobra.Command, args []string) error {
			if project != nil {
				if err := requireProject(cmd, *project); err != nil {
					return err
				}
			}
			id, err := argID(args, what)
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			return run(cmd, cl, id)
		},
	}
}

// listing is what a list verb needs to know: its usage, and how to fetch
// and print the items.
type listing[T any] struct {
	use, short, example string
	// project, when not nil, is the noun's --project flag: it must be
	// given (it is read when the command runs, after the flags are parsed).
	project *int64
	// prepare, when set, reads the verb's own flags before anything is
	// sent.
	prepare func() error
	fetch   func(cmd *cobra.Command, cl *client.Client) iter.Seq2[T, error]
	header  []string
	row     func(T) []string
	// limit is --limit's default; 0 lists everything.
	limit int
}

// listCmd builds a verb that lists resources, with --limit, as oneCmd
// builds the verbs that act on one.
func listCmd[T any](c *conn, l listing[T]) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use: l.use, Short: l.short, Example: l.example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if l.project != nil {
				if err := requireProject(cmd, *l.project); err != nil {
					return err
				}
			}
			if l.prepare != nil {
				if err := l.prepare(); err != nil {
					return err
				}
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			items, err := take(l.fetch(cmd, cl), limit)
			if err != nil {
				return err
			}
			return list(c.printer(cmd), items, l.header, l.row)
		},
	}
	help := "show at most this many (default: all)"
	if l.limit != 0 {
		help = "show at most this many (0: all)"
	}
	cmd.Flags().IntVar(&limit, "limit", l.limit, help)
	return cmd
}

// printing turns a run that returns a value into one that prints it.
func (c *conn) printing(run func(cmd *cobra.Command, cl *client.Client, id int64) (any, error)) func(cmd *cobra.Command, cl *client.Client, id int64) error {
	return func(cmd *cobra.Command, cl *client.Client, id int64) error {
		v, err := run(cmd, cl, id)
		if err != nil {
			return err
		}
		return c.printer(cmd).object(v)
	}
}

func argID(args []string, what string) (int64, error) {
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("%s ID: %q is not a number", what, args[0])
	}
	return n, nil
}

// parseTimeFlag reads a date flag: RFC 3339 or YYYY-MM-DD (UTC).
func parseTimeFlag(name, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--%s: %q is not a date (2027-01-31) or an RFC 3339 time (2027-01-31T12:00:00Z)", name, s)
}

// optText formats an optional value for a table cell.
func optText[T any](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// splitList splits a comma-separated flag value.
func splitCSV(s string) []string {
	out := []string{}
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// fixedCompletion completes a flag with fixed values.
func fixedCompletion(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp
	}
}

// csvCompletion completes the last item of a comma-separated flag value
// with fixed values.
func csvCompletion(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done := toComplete[:strings.LastIndex(toComplete, ",")+1]
		out := make([]string, 0, len(vals))
		for _, v := range vals {
			out = append(out, done+v)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// projectCompletion completes project IDs from the server, with names as
// descriptions; it stays silent when the server cannot be reached.
func projectCompletion(c *conn) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		cl, err := c.client(true)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ps, _ := take(cl.Projects.List(cmd.Context(), nil), 200)
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, strconv.FormatInt(p.ID, 10)+"\t"+p.Name)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// idArg is the Args check of commands that take one ID.
func idArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("give the %s ID: %s", what, cmd.UseLine())
		}
		return nil
	}
}

// requireProject reads --project, which the nested nouns need.
func requireProject(cmd *cobra.Command, project int64) error {
	if project <= 0 {
		return usagef("--project: give the project ID (\"latchkey projects list\" shows them)")
	}
	return nil
}

// addProjectFlag adds the required --project flag to a noun command.
func addProjectFlag(cmd *cobra.Command, c *conn, project *int64) {
	cmd.PersistentFlags().Int64Var(project, "project", 0, "the project's ID (required)")
	_ = cmd.RegisterFlagCompletionFunc("project", projectCompletion(c))
}

// secretNotice tells a person reading the table below it that the secret
// in it is shown this once; before, when set, comes first (what happens to
// the old secret). JSON output stays clean for scripts.
func (c *conn) secretNotice(cmd *cobra.Command, before string, rotated bool) {
	if c.output == "json" {
		return
	}
	what := "secret"
	if rotated {
		what = "new secret"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%sCopy the %s now: it is not shown again.\n", before, what)
}
