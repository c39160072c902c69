package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/core"
)

// The exit codes of every latchkey command (docs/cli.md), so that a script
// can tell a refused license from a typo, a wrong key, a missing object and
// an unreachable server.
const (
	ExitOK       = 0
	ExitFailed   = 1 // a refused validation, a failed check, a refused request
	ExitUsage    = 2 // an unknown command or flag, a bad flag value, a missing argument
	ExitAuth     = 3 // no credentials, or the server answered 401 or 403
	ExitNotFound = 4 // the server answered 404
	ExitServer   = 5 // the server answered 5xx or 429, or could not be reached
)

// ExitError is a failed run: the error and the exit code it maps to. Run
// returns one for every failure; exitCodeOf is the one place that decides
// the code.
type ExitError struct {
	Code int
	Err  error
	// json: the command ran with --output json, so the error is printed
	// as JSON.
	json bool
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the exit code of what Run returned: 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitCodeOf(err)
}

// coded is an error the command itself classified: a usage problem, a
// missing credential. code is the machine-readable name printed under
// --output json.
type coded struct {
	exit int
	code string
	err  error
}

func (e *coded) Error() string { return e.err.Error() }
func (e *coded) Unwrap() error { return e.err }

// usageErr marks err as a usage error (exit 2).
func usageErr(err error) error { return &coded{exit: ExitUsage, code: "USAGE", err: err} }

// usagef is a usage error (exit 2) worded as fmt.Errorf words it.
func usagef(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

// authErr marks err as a missing or refused credential (exit 3).
func authErr(err error) error { return &coded{exit: ExitAuth, code: "NO_CREDENTIALS", err: err} }

// exitCodeOf classifies an error returned by a command's run.
func exitCodeOf(err error) int {
	var c *coded
	var apiErr *client.Error
	var ce *core.Error
	var ue *url.Error
	var ne net.Error
	var invalid errInvalidLicense
	switch {
	case errors.As(err, &c):
		return c.exit
	case errors.As(err, &invalid):
		return ExitFailed
	case errors.As(err, &apiErr):
		return codeExit(apiErr.StatusCode, string(apiErr.Code))
	case errors.As(err, &ce):
		return codeExit(core.HTTPStatus(ce.Code), ce.Reason)
	case errors.As(err, &ue), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return ExitServer
	}
	return ExitFailed
}

// statusExit maps an HTTP status to an exit code. 429 counts with the
// server errors: like them, it says to try again later.
func statusExit(status int) int {
	switch {
	case status < 400:
		return ExitOK
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ExitAuth
	case status == http.StatusNotFound:
		return ExitNotFound
	case status == http.StatusTooManyRequests, status >= 500:
		return ExitServer
	}
	return ExitFailed
}

// refusals are the codes that DevPayr's protocol sends with 403 but that
// refuse the request for what it asks, not for who asks: every runtime
// validation code (REVOKED, SUSPENDED, DOMAIN_NOT_ALLOWED…) and the API's
// state and limit refusals. They exit 1, as a refused validation does;
// any other 403 is a permission (exit 3).
var refusals = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{"INVALID_STATE": true, "PLAN_LIMIT": true, "POLICY_LIMIT": true,
		"DOMAIN_NOT_IN_PROJECT": true, "LICENSE_NOT_IN_PROJECT": true}
	for _, c := range core.Codes() {
		if c.Runtime && c.Status == http.StatusForbidden {
			m[c.Code] = true
		}
	}
	return m
})

// codeExit maps an answer's status and error code to an exit code.
func codeExit(status int, code string) int {
	if status == http.StatusForbidden && refusals()[code] {
		return ExitFailed
	}
	return statusExit(status)
}

// exitError wraps what a run returned. ran says whether a command's own
// run started: an error before it (an unknown command or flag, a bad flag
// value, wrong arguments) is cobra's, and a usage error.
func exitError(err error, ran, json bool) *ExitError {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee
	}
	code := exitCodeOf(err)
	if !ran {
		code = ExitUsage
	}
	return &ExitError{Code: code, Err: err, json: json}
}

// jsonError is an error as --output json prints it on standard error.
type jsonError struct {
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	Status    int                 `json:"status,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Fields    map[string][]string `json:"fields,omitempty"`
	ExitCode  int                 `json:"exit_code"`
}

// errorCodeNames are the codes of the failures that have no server code.
var errorCodeNames = map[int]string{
	ExitFailed: "FAILED", ExitUsage: "USAGE", ExitAuth: "UNAUTHENTICATED", ExitNotFound: "NOT_FOUND", ExitServer: "UNREACHABLE",
}

func toJSONError(e *ExitError) jsonError {
	out := jsonError{Code: errorCodeNames[e.Code], Message: ErrorLine(e.Err), ExitCode: e.Code}
	var c *coded
	var apiErr *client.Error
	var ce *core.Error
	var invalid errInvalidLicense
	switch {
	case errors.As(e.Err, &apiErr):
		out.Code, out.Status, out.RequestID, out.Fields = string(apiErr.Code), apiErr.StatusCode, apiErr.RequestID, apiErr.Fields
		if apiErr.Message != "" && len(apiErr.Fields) <= 1 {
			out.Message = apiErr.Message
		}
		if out.Code == "" {
			out.Code = errorCodeNames[e.Code]
		}
	case errors.As(e.Err, &ce):
		// An admin command's own failure: no HTTP answer, so no status.
		out.Code, out.Fields = firstOf(ce.Reason, core.DefaultReason(ce.Code)), ce.Fields
	case errors.As(e.Err, &invalid):
		out.Code, out.Message = invalid.code, invalid.message
	case errors.As(e.Err, &c) && e.Code == c.exit:
		out.Code = c.code
	}
	return out
}

// printError prints a failed run on w: one line of text, or under
// --output json one JSON object.
func printError(w io.Writer, e *ExitError) {
	if e.json {
		b, err := json.Marshal(toJSONError(e))
		if err == nil {
			fmt.Fprintf(w, "%s\n", b)
			return
		}
	}
	fmt.Fprintln(w, "latchkey: "+ErrorLine(e.Err))
}

// Main runs the latchkey command, prints a failure on standard error and
// returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	err := Run(ctx, args, env)
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		ee = exitError(err, true, false)
	}
	printError(env.Stderr, ee)
	return ee.Code
}

// markRuns wraps the run of every command of the tree so that *ran tells
// whether one started.
func markRuns(cmd *cobra.Command, ran *bool) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			*ran = true
			return run(cmd, args)
		}
	}
	for _, sub := range cmd.Commands() {
		markRuns(sub, ran)
	}
}

// jsonOutput says whether the run asked for --output json: the parsed
// flag when parsing got that far, else the arguments as they were given.
func jsonOutput(cmd *cobra.Command, args []string) bool {
	if cmd != nil {
		if f := cmd.Flags().Lookup("output"); f != nil && f.Changed {
			return f.Value.String() == "json"
		}
	}
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "-o", "--output":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		case "-ojson", "-o=json", "--output=json":
			return true
		}
	}
	return false
}
