package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// errInvalidLicense ends "latchkey validate" with status 1 when the
// server refused the license; the verdict was printed.
type errInvalidLicense struct{ code, message string }

func (e errInvalidLicense) Error() string {
	return fmt.Sprintf("the license is not valid: %s (%s)", e.message, e.code)
}

func newValidateCmd(env Env) *cobra.Command {
	var in client.ValidateRequest
	cmd := &cobra.Command{
		Use:   "validate --license KEY [--domain HOST]",
		Short: "Validate a license as a customer's copy does",
		Long: `Validate a license as a customer's copy does (POST /api/v1/licenses/validate), with the license
key alone: no API key is needed or sent. Prints the verdict; exits with status 0 when the license
is valid and 1 otherwise, so scripts can test it. --proof adds a signed offline proof. --explain
evaluates every rule instead of stopping at the first failure and prints each check; it counts no
use and records no activation.` + connectionHelp,
		Example: `  latchkey validate --license 019ae9f4-18b2-706b-b728-3f77c6bd9217 --domain shop.example.com
  latchkey validate --license "$KEY" --check-project --proof --output json
  latchkey validate --license "$KEY" --domain shop.example.com --explain`,
		Args: cobra.NoArgs,
	}
	c := addConnFlags(cmd, env)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if in.License == "" {
			return errors.New("--license: give the license key (its uuid)")
		}
		cl, err := c.client(false)
		if err != nil {
			return err
		}
		v, err := cl.Validate.License(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := printValidation(c.printer(cmd), v); err != nil {
			return err
		}
		if !v.Valid {
			return errInvalidLicense{code: v.Code, message: v.Message}
		}
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&in.License, "license", "", "the license key (required)")
	fs.StringVar(&in.Domain, "domain", "", "the runtime identifier: the host the copy runs on, or a fingerprint")
	fs.Int64Var(&in.ProjectID, "project", 0, "refuse a license of another project")
	fs.BoolVar(&in.CheckProject, "check-project", false, "use the project's payment status rather than the domain's")
	fs.BoolVar(&in.IncludeInjectables, "injectables", false, "include the project's injectables in a valid answer")
	fs.BoolVar(&in.Proof, "proof", false, "ask for a signed offline proof")
	fs.DurationVar(&in.ProofTTL, "proof-ttl", 24*time.Hour, "how long the proof may be trusted (1m to 720h)")
	fs.BoolVar(&in.Explain, "explain", false, "evaluate every rule and print each check, counting nothing and recording nothing")
	return cmd
}

// printValidation prints a verdict; in a table, an explanation's checks
// follow it as a table of their own.
func printValidation(p printer, v *client.Validation) error {
	if p.json || v.Checks == nil {
		return p.object(v)
	}
	verdict := *v
	verdict.Checks = nil
	if err := p.object(verdict); err != nil {
		return err
	}
	fmt.Fprintln(p.w)
	return list(p, v.Checks, []string{"RULE", "PASSED", "CODE", "DETAIL"}, func(c client.Check) []string {
		return []string{c.Rule, yesNo(c.Passed), c.Code, c.Detail}
	})
}
