package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// loadConfig applies the environment to the command's flags and validates.
func loadConfig(cmd *cobra.Command, env Env, cfg *config.Config) error {
	if err := config.ApplyEnv(cmd.Flags(), env.Getenv, cfg); err != nil {
		return err
	}
	return cfg.Validate()
}

// openStore opens the configured backend and applies pending migrations.
func openStore(ctx context.Context, cfg *config.Config, now func() time.Time) (*store.Store, config.Backend, []string, error) {
	b, err := cfg.Backend()
	if err != nil {
		return nil, b, nil, err
	}
	var st *store.Store
	switch b.Kind {
	case "postgres":
		st, err = postgres.Open(ctx, b.Target, now, postgres.Options{
			MaxConns: cfg.DBMaxConns, MinConns: cfg.DBMinConns, StatementTimeout: cfg.DBStatementTimeout,
		})
	default:
		st, err = sqlite.Open(ctx, b.Target, now)
	}
	if err != nil {
		return nil, b, nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		_ = st.Close() // the migrate error is the one to report
		return nil, b, nil, err
	}
	return st, b, applied, nil
}

// checkSecret records the secret's fingerprint in a new database and
// refuses a database that was initialised under another secret: license
// keys encrypted under one secret cannot be read under another.
func checkSecret(ctx context.Context, st core.Store, key *secret.Key) error {
	fp := key.Fingerprint()
	stored, err := st.InitSetting(ctx, "secret_fingerprint", fp)
	if err != nil {
		return err
	}
	if stored != fp {
		return fmt.Errorf("this database was initialised with another instance secret: give every node the same LATCHKEY_SECRET_KEY (or the secret.key file of the first node)")
	}
	return nil
}
