package app

import (
	"fmt"
	"os"
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
use and records no activation. --signed asks for a signed answer and verifies it with the keys of
the JWK Set in --jwks (docs/signed-responses.md); an answer that does not verify fails the command.` + connectionHelp,
		Example: `  latchkey validate --license 019ae9f4-18b2-706b-b728-3f77c6bd9217 --domain shop.example.com
  latchkey validate --license "$KEY" --check-project --proof --output json
  latchkey validate --license "$KEY" --domain shop.example.com --explain
  latchkey validate --license "$KEY" --domain shop.example.com --signed --jwks jwks.json`,
		Args: cobra.NoArgs,
	}
	c := addConnFlags(cmd, env)
	var signed bool
	var jwks string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if in.License == "" {
			return usagef("--license: give the license key (its uuid)")
		}
		var opts []client.Option
		if signed {
			v, err := fileVerifier(jwks)
			if err != nil {
				return err
			}
			opts = append(opts, client.WithSignedResponses(v))
		} else if jwks != "" {
			return usagef("--jwks: only with --signed")
		}
		cl, err := c.client(false, opts...)
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
	fs.BoolVar(&signed, "signed", false, "ask for a signed answer and verify it (needs --jwks)")
	fs.StringVar(&jwks, "jwks", "", "the JWK Set file to verify a signed answer with (saved from /.well-known/jwks.json)")
	return cmd
}

// fileVerifier verifies signed answers with the keys of a JWK Set file.
// The keys come from a file the user trusts, not from the server being
// checked: a fake server would serve its own keys.
func fileVerifier(path string) (*client.Verifier, error) {
	if path == "" {
		return nil, usagef("--jwks: give the JWK Set file to verify the signature with (save it from /.well-known/jwks.json)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--jwks: %w", err)
	}
	ks, err := client.ParseKeySet(data)
	if err != nil {
		return nil, usagef("--jwks: %w", err)
	}
	return &client.Verifier{Keys: ks}, nil
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
