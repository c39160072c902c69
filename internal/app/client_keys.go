package app

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/core"
)

func newKeysCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, show, create, update, rotate and revoke API keys",
		Long: `Manage API keys over the API, with an API key (scopes api_keys:read and api_keys:write). A
key never grants more than the key that creates it. "latchkey admin create-key" mints the
first key directly in the store.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)

	listCmd := listCmd(c, listing[client.APIKey]{
		use:     "list",
		short:   "List the API keys the caller may see, newest first",
		example: "  latchkey keys list",
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.APIKey, error] {
			return cl.APIKeys.List(cmd.Context(), nil)
		},
		header: []string{"ID", "NAME", "KEY", "PROJECT", "STATUS", "EXPIRES", "LAST_USED", "SCOPES"},
		row: func(k client.APIKey) []string {
			return []string{strconv.FormatInt(k.ID, 10), k.Name, k.Display, optText(k.ProjectID), k.Status, timeText(k.ExpiresAt),
				timeText(k.LastUsedAt), strings.Join(k.Scopes, ",")}
		},
	})

	oneKey := func(use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) (any, error)) *cobra.Command {
		return c.oneCmd("API key", nil, use, short, example, c.printing(run))
	}
	showCmd := oneKey("show ID", "Show an API key (never its secret)", "  latchkey keys show 3",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.APIKeys.Get(cmd.Context(), id)
		})

	var kf keyFlags
	createCmd := &cobra.Command{
		Use:   "create --name NAME [--project ID] [--scopes s1,s2] [--expires DATE]",
		Short: "Mint an API key; its secret is shown once",
		Long: `Mint an API key and print it with its secret, which is shown only this once (only its
digest is stored). Without --scopes the key gets everything the caller may grant; with
--project it acts only inside that project.

Scopes: ` + strings.Join(core.NewScopeSet(core.AllScopes...).Strings(), ", ") + `.` + connectionHelp,
		Example: `  latchkey keys create --name 'deploy pipeline' --project 7 --scopes licenses:read,licenses:write
  SECRET=$(latchkey keys create --name ci -o json | jq -r .secret)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if kf.name == "" {
				return usagef("--name: give the key a name to recognise it by")
			}
			in := client.APIKeyCreate{Name: kf.name, Description: kf.description, ProjectID: kf.project, Env: kf.env,
				RateLimitPerMinute: kf.rateLimit}
			if kf.scopes != "" {
				in.Scopes = splitCSV(kf.scopes)
			}
			if kf.allowedIPs != "" {
				in.AllowedIPs = splitCSV(kf.allowedIPs)
			}
			if kf.expires != "" {
				t, err := parseTimeFlag("expires", kf.expires)
				if err != nil {
					return err
				}
				in.ExpiresAt = &t
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			k, err := cl.APIKeys.Create(cmd.Context(), in)
			if err != nil {
				return err
			}
			c.secretNotice(cmd, "", false)
			return c.printer(cmd).object(k)
		},
	}
	kf.add(createCmd, false)
	_ = createCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))

	var uf keyFlags
	updateCmd := oneKey("update ID [--name N] [--scopes s1,s2] [--expires DATE|--no-expiry] …", "Change an API key's fields (only the flags given)",
		"  latchkey keys update 3 --scopes licenses:read --no-expiry",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			var u client.APIKeyUpdate
			changed := cmd.Flags().Changed
			if changed("name") {
				u.Name = &uf.name
			}
			if changed("description") {
				u.Description = &uf.description
			}
			if changed("scopes") {
				u.Scopes = splitCSV(uf.scopes)
			}
			if changed("allowed-ips") {
				u.AllowedIPs = splitCSV(uf.allowedIPs)
				u.ClearAllowedIPs = len(u.AllowedIPs) == 0
			}
			if changed("rate-limit") {
				u.RateLimitPerMinute = &uf.rateLimit
			}
			if changed("expires") {
				t, err := parseTimeFlag("expires", uf.expires)
				if err != nil {
					return nil, err
				}
				u.ExpiresAt = &t
			}
			u.ClearExpiry = uf.noExpiry
			return cl.APIKeys.Update(cmd.Context(), id, u)
		})
	uf.add(updateCmd, true)

	var grace time.Duration
	rotateCmd := oneKey("rotate ID [--grace 1h]", "Mint a successor with the same settings; the old key works for --grace",
		"  latchkey keys rotate 3 --grace 24h\n  NEW=$(latchkey keys rotate 3 -o json | jq -r .key.secret)",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if grace < 0 || grace > 24*time.Hour {
				return nil, usagef("--grace: %v is not between 0 and 24h", grace)
			}
			r, err := cl.APIKeys.Rotate(cmd.Context(), id, grace)
			if err != nil {
				return nil, err
			}
			if c.output != "json" {
				c.secretNotice(cmd, fmt.Sprintf("Key %d works until %s. ", r.Previous.ID, timeText(r.Previous.ExpiresAt)), true)
				return r.Key, nil
			}
			return r, nil
		})
	rotateCmd.Flags().DurationVar(&grace, "grace", 0, "how long the old key keeps working (0 to 24h)")

	revokeCmd := oneKey("revoke ID", "Revoke an API key, at once and for good", "  latchkey keys revoke 3",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.APIKeys.Revoke(cmd.Context(), id)
		})

	destructive(revokeCmd, env, func(cmd *cobra.Command, args []string) (string, error) {
		id, err := argID(args, "API key")
		if err != nil {
			return "", err
		}
		cl, err := c.client(true)
		if err != nil {
			return "", err
		}
		k, err := cl.APIKeys.Get(cmd.Context(), id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Revoke API key %d (%s, %s)? Programs using it are refused at once.", id, k.Name, k.Display), nil
	})

	var days int
	usageCmd := &cobra.Command{
		Use:     "usage ID [--days 30]",
		Short:   "Show an API key's requests per UTC day",
		Example: "  latchkey keys usage 3 --days 7",
		Args:    idArg("API key"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := argID(args, "API key")
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			u, err := cl.APIKeys.Usage(cmd.Context(), id, days)
			if err != nil {
				return err
			}
			p := c.printer(cmd)
			if p.json {
				return p.object(u)
			}
			return list(p, u.Days, []string{"DAY", "REQUESTS"}, func(d client.DayCount) []string {
				return []string{d.Day, strconv.FormatInt(d.Count, 10)}
			})
		},
	}
	usageCmd.Flags().IntVar(&days, "days", 30, "how many days back")
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, rotateCmd, revokeCmd, usageCmd)
	cmd.AddCommand(newKeysBulkCmd(c))
	return cmd
}

type keyFlags struct {
	name, description, scopes, env, expires, allowedIPs string
	project                                             int64
	rateLimit                                           int
	noExpiry                                            bool
}

func (f *keyFlags) add(cmd *cobra.Command, update bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "a name to recognise the key by")
	fs.StringVar(&f.description, "description", "", "what the key is for")
	fs.StringVar(&f.scopes, "scopes", "", "comma-separated scopes (default: all the caller may grant)")
	fs.StringVar(&f.expires, "expires", "", "expiry: a date (2027-01-31) or an RFC 3339 time; default never")
	fs.StringVar(&f.allowedIPs, "allowed-ips", "", "comma-separated IPs and CIDR blocks it may be used from (default any)")
	fs.IntVar(&f.rateLimit, "rate-limit", 0, "requests per minute (0: the server's default)")
	_ = cmd.RegisterFlagCompletionFunc("scopes", fixedCompletion(core.NewScopeSet(core.AllScopes...).Strings()...))
	if update {
		fs.BoolVar(&f.noExpiry, "no-expiry", false, "remove the expiry")
		cmd.MarkFlagsMutuallyExclusive("expires", "no-expiry")
		return
	}
	fs.Int64Var(&f.project, "project", 0, "bind the key to this project (default: a global key)")
	fs.StringVar(&f.env, "env", "live", "live or test")
	_ = cmd.RegisterFlagCompletionFunc("env", fixedCompletion("live", "test"))
}
