package app

import (
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/service"
)

// The longest grace of a secret rotation the API accepts (604800 s).
const maxWebhookGrace = 7 * 24 * time.Hour

func newWebhooksCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Manage webhook endpoints, their deliveries and secrets",
		Long: `Manage the endpoints events are delivered to, see each delivery's attempts, retry one, and send
a test ping (scopes webhooks:read and webhooks:write). "latchkey events" lists the events
themselves; docs/webhooks.md describes the events and how to verify their signature.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	cmd.AddCommand(newEndpointsCmd(c), newDeliveriesCmd(c), newRetryCmd(c), newTestCmd(c))
	return cmd
}

func newEndpointsCmd(c *conn) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "List, show, create, update and delete webhook endpoints; rotate their secrets",
		Long: `Manage webhook endpoints: where events are posted, which event types, for which project. The
endpoint's URL is --endpoint-url, since --url names the Latchkey server.` + connectionHelp,
	}
	listCmd := listCmd(c, listing[client.WebhookEndpoint]{
		use:     "list",
		short:   "List the webhook endpoints the caller may see",
		example: "  latchkey webhooks endpoints list",
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.WebhookEndpoint, error] {
			return cl.WebhookEndpoints.List(cmd.Context(), nil)
		},
		header: []string{"ID", "URL", "EVENTS", "PROJECT", "ENABLED", "ORDERED", "SOURCE", "FAILING_SINCE"},
		row: func(e client.WebhookEndpoint) []string {
			return []string{strconv.FormatInt(e.ID, 10), e.URL, strings.Join(e.Events, ","), optText(e.ProjectID), yesNo(e.Enabled),
				yesNo(e.Ordered), e.Source, timeText(e.FailingSince)}
		},
	})

	one := func(use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) (any, error)) *cobra.Command {
		return c.oneCmd("endpoint", nil, use, short, example, c.printing(run))
	}
	showCmd := one("show ID", "Show a webhook endpoint (never its secret)", "  latchkey webhooks endpoints show 3",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.WebhookEndpoints.Get(cmd.Context(), id)
		})

	var cf endpointFlags
	createCmd := &cobra.Command{
		Use:   "create --endpoint-url URL --events TYPE,… [--project ID] [--description D] [--disabled] [--unordered] [--expiring-days N]",
		Short: "Create a webhook endpoint; its signing secret is shown once",
		Long: `Create an endpoint and print it with its signing secret (whsec_…), which is shown only this once:
give it to the receiver, which verifies each delivery's Latchkey-Signature with it.

--events takes event types (license.revoked), or '*' for all of them (quote it for the shell).
Without --project the endpoint receives every project's events. Endpoints are enabled and
ordered (one delivery at a time, in the order of the events) unless --disabled or --unordered.` + connectionHelp,
		Example: `  latchkey webhooks endpoints create --endpoint-url https://billing.example.com/latchkey \
      --events license.created,license.revoked --project 7 --description 'Billing sync'
  SECRET=$(latchkey webhooks endpoints create --endpoint-url https://crm.example.com/hook --events '*' -o json | jq -r .secret)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := cf.update(cmd, false)
			if err != nil {
				return err
			}
			if u.URL == nil || *u.URL == "" {
				hint := ""
				if cmd.Flags().Changed("url") {
					hint = " (--url is the Latchkey server's)"
				}
				return usagef("--endpoint-url: give the URL events are posted to%s", hint)
			}
			if u.Events == nil {
				return usagef("--events: give the event types, comma-separated (license.created,license.revoked), or '*' for all")
			}
			in := client.WebhookEndpointCreate{URL: *u.URL, Events: u.Events, ProjectID: cf.project, Description: cf.description}
			if cf.disabled {
				in.Enabled = client.Ptr(false)
			}
			if cf.unordered {
				in.Ordered = client.Ptr(false)
			}
			if u.ExpiringDays != nil {
				in.ExpiringDays = *u.ExpiringDays
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			e, err := cl.WebhookEndpoints.Create(cmd.Context(), in)
			if err != nil {
				return err
			}
			c.secretNotice(cmd, "", false)
			return c.printer(cmd).object(e)
		},
	}
	cf.add(createCmd, false)
	_ = createCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))

	var uf endpointFlags
	updateCmd := one("update ID [--endpoint-url URL] [--events TYPE,…] [--project ID|--all-projects] [--enabled|--disabled] …",
		"Change a webhook endpoint's fields (only the flags given)",
		"  latchkey webhooks endpoints update 3 --events '*' --all-projects\n  latchkey webhooks endpoints update 3 --enabled",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			u, err := uf.update(cmd, true)
			if err != nil {
				return nil, err
			}
			return cl.WebhookEndpoints.Update(cmd.Context(), id, u)
		})
	uf.add(updateCmd, true)
	_ = updateCmd.RegisterFlagCompletionFunc("project", projectCompletion(c))

	deleteCmd := one("delete ID", "Delete a webhook endpoint; its pending deliveries are dropped", "  latchkey webhooks endpoints delete 3",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if err := cl.WebhookEndpoints.Delete(cmd.Context(), id); err != nil {
				return nil, err
			}
			return map[string]any{"id": id, "deleted": true}, nil
		})
	destructive(deleteCmd, c.env, plainQuestion("Delete", "webhook endpoint", nil))

	grace := 24 * time.Hour
	rotateCmd := one("rotate-secret ID [--grace 24h]", "Give an endpoint a new signing secret; the old one also signs for --grace",
		"  latchkey webhooks endpoints rotate-secret 3 --grace 1h\n  NEW=$(latchkey webhooks endpoints rotate-secret 3 -o json | jq -r .secret)",
		func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			if grace < 0 || grace > maxWebhookGrace {
				return nil, usagef("--grace: %v is not between 0 and 168h (7 days)", grace)
			}
			e, err := cl.WebhookEndpoints.RotateSecret(cmd.Context(), id, grace)
			if err != nil {
				return nil, err
			}
			before := ""
			if e.SecretRotatingUntil != nil {
				before = fmt.Sprintf("The previous secret also signs until %s. ", timeText(e.SecretRotatingUntil))
			}
			c.secretNotice(cmd, before, true)
			return e, nil
		})
	rotateCmd.Flags().DurationVar(&grace, "grace", grace, "how long the previous secret also signs deliveries (0 to 168h)")

	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, deleteCmd, rotateCmd)
	return cmd
}

// endpointFlags are the fields of endpoints create and update.
type endpointFlags struct {
	url, events, description              string
	project                               int64
	expiringDays                          int
	disabled, enabled, unordered, allProj bool
}

func (f *endpointFlags) add(cmd *cobra.Command, update bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "endpoint-url", "", "where events are posted: an absolute https:// URL")
	fs.StringVar(&f.events, "events", "", "comma-separated event types (license.created,license.revoked), or '*' for all")
	fs.Int64Var(&f.project, "project", 0, "only this project's events (default: every project)")
	fs.StringVar(&f.description, "description", "", "what the endpoint is for")
	fs.BoolVar(&f.disabled, "disabled", false, "deliver nothing until enabled")
	fs.BoolVar(&f.unordered, "unordered", false, "let a failing event's retries be overtaken by later events")
	fs.IntVar(&f.expiringDays, "expiring-days", 7, "days before an expiry that *.expiring_soon is sent (1 to 90)")
	_ = cmd.RegisterFlagCompletionFunc("events", csvCompletion(append([]string{client.AllEvents}, service.EventTypes...)...))
	if update {
		fs.BoolVar(&f.enabled, "enabled", false, "deliver again (after --disabled, or after the server disabled it)")
		fs.BoolVar(&f.allProj, "all-projects", false, "receive every project's events")
		cmd.MarkFlagsMutuallyExclusive("enabled", "disabled")
		cmd.MarkFlagsMutuallyExclusive("project", "all-projects")
		fs.Lookup("description").Usage = "what the endpoint is for (\"\" clears)"
		fs.Lookup("unordered").Usage = "let a failing event's retries be overtaken (--unordered=false: in order again)"
	}
}

// endpointFieldFlags are the flags of update that change a field.
var endpointFieldFlags = []string{"endpoint-url", "events", "project", "all-projects", "description", "enabled", "disabled", "unordered", "expiring-days"}

// update returns the fields whose flags were given, checked as far as the
// command line can: the server checks the rest. For update (isUpdate) at
// least one must be given.
func (f *endpointFlags) update(cmd *cobra.Command, isUpdate bool) (client.WebhookEndpointUpdate, error) {
	var u client.WebhookEndpointUpdate
	changed := cmd.Flags().Changed
	if isUpdate && !slices.ContainsFunc(endpointFieldFlags, changed) {
		return u, fmt.Errorf("nothing to change: give at least one of --%s", strings.Join(endpointFieldFlags, ", --"))
	}
	if changed("endpoint-url") {
		u.URL = &f.url
	}
	if changed("events") {
		u.Events = splitCSV(f.events)
		if len(u.Events) == 0 {
			return u, usagef("--events: give at least one event type, or '*' for all")
		}
	}
	if changed("project") {
		u.ProjectID = &f.project
	}
	u.ClearProject = f.allProj
	if changed("description") {
		u.Description = &f.description
	}
	switch {
	case changed("enabled"):
		u.Enabled = &f.enabled
	case changed("disabled"):
		u.Enabled = client.Ptr(!f.disabled)
	}
	if changed("unordered") {
		u.Ordered = client.Ptr(!f.unordered)
	}
	if changed("expiring-days") {
		if f.expiringDays < 1 || f.expiringDays > 90 {
			return u, usagef("--expiring-days: %d is not between 1 and 90", f.expiringDays)
		}
		u.ExpiringDays = &f.expiringDays
	}
	return u, nil
}

func newDeliveriesCmd(c *conn) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries ENDPOINT [DELIVERY] [--status pending|succeeded|failed]",
		Short: "List an endpoint's deliveries, newest first, or show one with its attempts",
		Long: `With the endpoint's ID, list its deliveries, newest first (--status narrows them); with a
delivery's ID too, show that delivery and every attempt made: when, the receiver's status,
how long it took, and the start of its answer.` + connectionHelp,
		Example: `  latchkey webhooks deliveries 3 --status failed
  latchkey webhooks deliveries 3 18`,
		Args: rangeArgs(1, 2, "the endpoint ID, and optionally a delivery ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := argIDs(args, "endpoint", "delivery")
			if err != nil {
				return err
			}
			if len(ids) == 2 && status != "" {
				return usagef("--status: lists only; give no delivery ID to list by status")
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			p := c.printer(cmd)
			if len(ids) == 2 {
				d, err := cl.WebhookEndpoints.Delivery(cmd.Context(), ids[0], ids[1])
				if err != nil {
					return err
				}
				return printDelivery(p, d)
			}
			ds, err := take(cl.WebhookEndpoints.Deliveries(cmd.Context(), ids[0], &client.WebhookDeliveryFilter{Status: status}), limit)
			if err != nil {
				return err
			}
			return list(p, ds, []string{"ID", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST_STATUS", "NEXT_ATTEMPT", "CREATED"},
				func(d client.WebhookDelivery) []string {
					return []string{strconv.FormatInt(d.ID, 10), d.EventID, d.EventType, d.Status, strconv.Itoa(d.Attempts),
						optText(d.LastStatusCode), timeText(d.NextAttemptAt), timeText(&d.CreatedAt)}
				})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only deliveries in this status: pending, succeeded or failed")
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many (0: all)")
	_ = cmd.RegisterFlagCompletionFunc("status", fixedCompletion(client.WebhookPending, client.WebhookSucceeded, client.WebhookFailed))
	return cmd
}

func newRetryCmd(c *conn) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ENDPOINT DELIVERY",
		Short: "Deliver a delivery again now",
		Long: `Deliver a delivery again now. A failed delivery starts a new series of retries; the answer is the
delivery, queued.` + connectionHelp,
		Example: "  latchkey webhooks retry 3 18",
		Args:    rangeArgs(2, 2, "the endpoint ID and the delivery ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := argIDs(args, "endpoint", "delivery")
			if err != nil {
				return err
			}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			d, err := cl.WebhookEndpoints.Retry(cmd.Context(), ids[0], ids[1])
			if err != nil {
				return err
			}
			return printDelivery(c.printer(cmd), d)
		},
	}
}

func newTestCmd(c *conn) *cobra.Command {
	return c.oneCmd("endpoint", nil, "test ENDPOINT", "Send a ping event to one endpoint",
		"  latchkey webhooks test 3\n  latchkey webhooks deliveries 3 --limit 1",
		c.printing(func(cmd *cobra.Command, cl *client.Client, id int64) (any, error) {
			return cl.WebhookEndpoints.Test(cmd.Context(), id)
		}))
}

// printDelivery prints one delivery: as JSON, or as its fields and then a
// table of its attempts.
func printDelivery(p printer, d *client.WebhookDelivery) error {
	if p.json {
		return p.object(d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := p.object(orderedWithout(b, "attempt_log")); err != nil {
		return err
	}
	fmt.Fprintln(p.w)
	return list(p, d.AttemptLog, []string{"AT", "STATUS", "DURATION", "ERROR", "RESPONSE"}, func(a client.WebhookAttempt) []string {
		return []string{timeText(&a.At), optText(a.StatusCode), (time.Duration(a.DurationMS) * time.Millisecond).String(),
			optText(a.Error), excerpt(a.Response, 60)}
	})
}

// orderedWithout returns the JSON object b without the field name, its
// other fields in their order.
func orderedWithout(b []byte, name string) json.RawMessage {
	var out strings.Builder
	out.WriteByte('{')
	first := true
	_ = eachRawField(b, func(k string, v json.RawMessage) { // b was just marshalled from a struct
		if k == name {
			return
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		out.Write(v)
	})
	out.WriteByte('}')
	return json.RawMessage(out.String())
}

// excerpt collapses s's whitespace and cuts it to n runes, for a cell.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

// rangeArgs is the Args check of commands that take between lo and hi
// IDs.
func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("give %s: %s", what, cmd.UseLine())
		}
		return nil
	}
}

// argIDs reads the numeric IDs of args, each named by whats.
func argIDs(args []string, whats ...string) ([]int64, error) {
	out := make([]int64, 0, len(args))
	for i, a := range args {
		n, err := argID([]string{a}, whats[i])
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
