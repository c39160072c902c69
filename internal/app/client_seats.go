package app

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// newLicenseSeatsCmd is "latchkey licenses seats": a license's live
// concurrent seats, under the licenses noun (whose --project it shares).
func newLicenseSeatsCmd(c *conn, project *int64) *cobra.Command {
	var license int64
	cmd := &cobra.Command{
		Use:   "seats",
		Short: "List and free a license's concurrent seats",
		Long: `A license with max_concurrent is held by running copies, one seat each, kept by heartbeats
(docs/seats.md). List the live seats, or free one a dead machine still holds.`,
	}
	cmd.PersistentFlags().Int64Var(&license, "license", 0, "the license's ID (required)")
	requireLicense := func() error {
		if license <= 0 {
			return usagef("--license: give the license's ID (\"latchkey licenses list\" shows them)")
		}
		return nil
	}
	listCmd := &cobra.Command{
		Use:     "list --project ID --license ID",
		Short:   "List a license's live seats, oldest first",
		Example: "  latchkey licenses seats list --project 7 --license 42",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, *project); err != nil {
				return err
			}
			if err := requireLicense(); err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			seats, err := cl.Licenses.Seats(cmd.Context(), *project, license)
			if err != nil {
				return err
			}
			return list(c.printer(cmd), seats, []string{"ID", "INSTANCE", "IP", "SINCE", "LAST HEARTBEAT", "EXPIRES"},
				func(s client.LicenseSeat) []string {
					return []string{strconv.FormatInt(s.ID, 10), s.Instance, s.IP, timeText(&s.CreatedAt), timeText(&s.LastHeartbeatAt),
						timeText(&s.ExpiresAt)}
				})
		},
	}
	deleteCmd := c.oneCmd("seat", project, "delete SEAT --project ID --license ID", "Free a seat: its copy claims one again at its next heartbeat, if one is free",
		"  latchkey licenses seats delete 3 --project 7 --license 42",
		c.printing(func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if err := requireLicense(); err != nil {
				return nil, err
			}
			return cl.Licenses.DeleteSeat(cmd.Context(), *project, license, id)
		}))
	destructive(deleteCmd, c.env, plainQuestion("Free", "seat", project))
	cmd.AddCommand(listCmd, deleteCmd)
	return cmd
}

// newHeartbeatCmd is "latchkey heartbeat": a running copy's seat check-in,
// as validate is its validation.
func newHeartbeatCmd(env Env) *cobra.Command {
	var in client.HeartbeatRequest
	var release bool
	cmd := &cobra.Command{
		Use:   "heartbeat --license KEY --instance ID [--domain HOST] [--release]",
		Short: "Claim, renew or release a license's concurrent seat as a running copy does",
		Long: `Send a running copy's heartbeat (POST /api/v1/licenses/heartbeat) with the license key alone: it
validates the license without counting a daily use and, when the license has max_concurrent, claims
or renews the instance's seat. --release gives the seat back (DELETE). Prints the answer; exits with
status 0 when the copy may run (VALID or UNPAID, with its seat) and 1 otherwise (SEATS_EXHAUSTED…).` + connectionHelp,
		Example: `  latchkey heartbeat --license "$KEY" --instance "$(hostname)" --domain build-01
  latchkey heartbeat --license "$KEY" --instance "$(hostname)" --release`,
		Args: cobra.NoArgs,
	}
	c := addConnFlags(cmd, env)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if in.License == "" {
			return usagef("--license: give the license key (its uuid)")
		}
		if in.Instance == "" {
			return usagef("--instance: give this copy's machine or process ID")
		}
		cl, err := c.client(false)
		if err != nil {
			return err
		}
		call := cl.Validate.Heartbeat
		if release {
			call = cl.Validate.Release
		}
		hb, err := call(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := c.printer(cmd).object(hb); err != nil {
			return err
		}
		if !release && !hb.Holds() {
			return errInvalidLicense{code: hb.Code, message: hb.Message}
		}
		return nil
	}
	fs := cmd.Flags()
	fs.StringVar(&in.License, "license", "", "the license key (required)")
	fs.StringVar(&in.Instance, "instance", "", "this copy's machine or process ID (required)")
	fs.StringVar(&in.Domain, "domain", "", "the runtime identifier: the host the copy runs on, or a fingerprint")
	fs.BoolVar(&release, "release", false, "give the seat back")
	return cmd
}
