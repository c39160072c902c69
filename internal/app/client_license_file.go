package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// newLicenseFileCmd is "licenses file": check out an offline license file
// (docs/license-files.md). The file goes to stdout, or to --out; -o json
// prints the server's JSON instead (file, expires_at, kid, encrypted).
func newLicenseFileCmd(c *conn, project *int64) *cobra.Command {
	var identifier, ttl, out string
	cmd := c.oneCmd("license", project, "file ID --project ID [--identifier DOMAIN] [--ttl 30d] [--out FILE]",
		"Check out a signed offline license file (licenses:write); recorded as license.checked_out",
		`  latchkey licenses file 42 --project 7 --identifier shop.example.com --ttl 90d --out acme.lic
  latchkey licenses file 42 --project 7 > acme.lic
  latchkey licenses file 42 --project 7 -o json | jq -r .expires_at`,
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			opts := &client.LicenseFileOptions{Identifier: identifier}
			if ttl != "" {
				d, err := parseFileTTL(ttl)
				if err != nil {
					return err
				}
				opts.TTL = d
			}
			dl, err := cl.Licenses.File(cmd.Context(), *project, id, opts)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printer(cmd).object(map[string]any{"file": string(dl.File), "expires_at": dl.ExpiresAt,
					"kid": dl.KeyID, "encrypted": dl.Encrypted})
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(dl.File)
				return err
			}
			if err := os.WriteFile(out, dl.File, 0o644); err != nil {
				return err
			}
			enc := ""
			if dl.Encrypted {
				enc = ", encrypted to the license key"
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "Wrote %s (expires %s%s).\n", out, dl.ExpiresAt.UTC().Format(time.RFC3339), enc)
			return err
		})
	f := cmd.Flags()
	f.StringVar(&identifier, "identifier", "", "the domain (runtime identifier) the file is for; default: any")
	f.StringVar(&ttl, "ttl", "", `how long the file may be trusted: seconds, or a number with a unit s, m, h, d, w or y ("90d"); 1 minute to 365 days, default 30 days, never past the license's expiry`)
	f.StringVar(&out, "out", "", "write the file here instead of to stdout")
	return cmd
}

// fileTTLUnits are the units --ttl takes, as --duration of renew.
var fileTTLUnits = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}

// parseFileTTL reads "3600" or "90d"; the server checks the bounds.
func parseFileTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	unit := time.Second
	if s != "" {
		if u, ok := fileTTLUnits[s[len(s)-1]]; ok {
			unit, s = u, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	// Bounded before the multiplication: a huge count must not wrap.
	if err != nil || n <= 0 || n > int64(400*24*time.Hour/unit) {
		return 0, usagef("--ttl: %q is not a duration between 1m and 365d (seconds, or a number with s, m, h, d, w or y)", s)
	}
	return time.Duration(n) * unit, nil
}
