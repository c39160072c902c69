package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// The operator's signing-key commands (issue 16; docs/offline.md,
// "Rotation and retirement"). They write to the database every node reads
// its keyring from: on PostgreSQL the change reaches every node at once,
// on SQLite a running server picks it up within the keyring's 30 s.

// kidPattern is what a key ID looks like: KeyID, 8 bytes of hex.
var kidPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// signingKeyJSON is a signing key as -o json prints it (never its private
// part).
type signingKeyJSON struct {
	KID       string     `json:"kid"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"`
}

func toSigningKeyJSON(k *core.SigningKey) signingKeyJSON {
	out := signingKeyJSON{KID: k.KID, Status: k.Status, CreatedAt: k.CreatedAt.UTC()}
	if k.RetiredAt != nil {
		t := k.RetiredAt.UTC()
		out.RetiredAt = &t
	}
	return out
}

func newAdminSigningCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signing-keys",
		Short: "List, rotate and retire the keys that sign proofs, license files and responses",
		Long: `The instance signs offline proofs, license files and signed responses with its active Ed25519
key, and publishes every key that verifies at /.well-known/jwks.json. Rotating makes a new
active key; the previous one keeps verifying what it signed. Retiring a key rotated out takes
it out of the JWK Set: what it signed stops verifying as verifiers refetch the set, which the
server lets them cache for 5 minutes (max-age=300).

Rotate regularly and when a key may have leaked; retire the old key once the proofs and
license files it signed have expired (or at once, after a leak).`,
	}
	cmd.AddCommand(newSigningListCmd(env), newSigningRotateCmd(env), newSigningRetireCmd(env))
	requireVerb(cmd)
	return cmd
}

func newSigningListCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys: the active one, those that still verify, and those retired",
		Long: `List every signing key, the active one first, with its status: active (signs and verifies),
verifying (rotated out, still in the JWK Set) or retired (gone from the JWK Set). The first key
is the one derived from the instance secret, recorded on first use.`,
		Example: `  latchkey admin signing-keys list
  latchkey admin signing-keys list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				keys, err := svc.SigningKeys(cmd.Context(), operator())
				if err != nil {
					return err
				}
				items := make([]signingKeyJSON, len(keys))
				for i := range keys {
					items[i] = toSigningKeyJSON(&keys[i])
				}
				pr := printer{w: cmd.OutOrStdout(), json: output == "json"}
				return list(pr, items, []string{"KID", "STATUS", "CREATED", "RETIRED"}, func(k signingKeyJSON) []string {
					retired := "-"
					if k.RetiredAt != nil {
						retired = k.RetiredAt.Format(time.RFC3339)
					}
					return []string{k.KID, k.Status, k.CreatedAt.Format(time.RFC3339), retired}
				})
			})
		},
	}
	adminOutput(cmd.Flags(), &output)
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}

func newSigningRotateCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	var output string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new active signing key and print its kid",
		Long: `Generate a new Ed25519 signing key (sealed under the instance secret) and make it the active
one. The previous active key keeps verifying, in the JWK Set, until "retire" takes it out.
Verifiers that refetch the JWK Set on an unknown kid (client.RemoteKeySet, jose's
createRemoteJWKSet) follow at once; copies that ship a JWK Set need the new one.`,
		Example: `  latchkey admin signing-keys rotate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				k, err := svc.RotateSigningKey(cmd.Context(), operator())
				if err != nil {
					return signingError(err, "")
				}
				if output == "json" {
					b, err := json.Marshal(toSigningKeyJSON(k))
					if err != nil {
						return err
					}
					return printer{w: cmd.OutOrStdout(), json: true}.raw(b)
				}
				fmt.Fprintln(cmd.OutOrStdout(), k.KID)
				return nil
			})
		},
	}
	adminOutput(cmd.Flags(), &output)
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}

func newSigningRetireCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	cmd := &cobra.Command{
		Use:   "retire KID",
		Short: "Retire a signing key rotated out: it leaves the JWK Set and stops verifying",
		Long: `Retire a key that "rotate" made inactive: it leaves the JWK Set and its private part is wiped,
so proofs, license files and responses it signed stop verifying once verifiers refetch the set.
The active key cannot be retired: rotate first. Retiring a retired key does nothing.`,
		Example: `  latchkey admin signing-keys retire 3f2a9c0d41b7e865`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kid := strings.TrimSpace(args[0])
			if !kidPattern.MatchString(kid) {
				return fmt.Errorf("KID: %q is not a key ID (16 lower-case hex digits; see latchkey admin signing-keys list)", args[0])
			}
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			return withService(cmd.Context(), env, &cfg, func(svc *service.Service, _ *store.Store) error {
				if err := svc.RetireSigningKey(cmd.Context(), operator(), kid); err != nil {
					return signingError(err, kid)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "retired signing key %s\n", kid)
				return nil
			})
		},
	}
	cfg.AddStoreFlags(cmd.Flags())
	return cmd
}

// signingError says what the service refused in its own words, and names
// a kid that is not there.
func signingError(err error, kid string) error {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code {
	case core.ENotFound:
		return fmt.Errorf("no signing key %q (see latchkey admin signing-keys list)", kid)
	case core.EConflict:
		return errors.New(ce.Message)
	}
	return err
}
