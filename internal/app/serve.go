package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/geoip"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/version"
)

func newServeCmd(env Env) *cobra.Command {
	cfg := config.Defaults()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API and the dashboard",
		Long: `Run the HTTP API (under /api/v1) and the web dashboard (under /) on one port.

With no --database-url, data lives in an SQLite database in --data-dir, created on first
start, together with a generated instance secret (secret.key, mode 0600). With
--database-url postgres://…, several nodes may share one PostgreSQL database; give them all
the same LATCHKEY_SECRET_KEY.

Every flag can also be set through its environment variable: --addr is LATCHKEY_ADDR,
--data-dir is LATCHKEY_DATA_DIR, and so on. Flags win over the environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := loadConfig(cmd, env, &cfg); err != nil {
				return err
			}
			setMemoryLimit(cfg.MemoryLimitBytes, env.Getenv)
			srv, err := Start(cmd.Context(), cfg, env)
			if err != nil {
				return err
			}
			<-cmd.Context().Done()
			return srv.Shutdown()
		},
	}
	cfg.AddStoreFlags(cmd.Flags())
	cfg.AddServeFlags(cmd.Flags())
	return cmd
}

// setMemoryLimit sets the runtime's soft memory limit, unless GOMEMLIMIT
// already did. Without a limit the heap grows to twice the live data
// between collections; with one, the collector runs more often as the
// limit nears, which keeps a large cache from doubling the process's size.
// It is a process setting, so serve applies it, not Start (tests run many
// servers in one process).
func setMemoryLimit(n int64, getenv func(string) string) {
	if n <= 0 || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(n)
}

// Server is a running latchkey server.
type Server struct {
	// Addr is the address it listens on.
	Addr string

	cfg    config.Config
	log    *slog.Logger
	http   *http.Server
	store  *store.Store
	stack  *Stack
	debug  *http.Server
	geo    *geoip.Resolver
	served chan error
}

// Start opens the store, wires everything and starts serving. The server
// runs until Shutdown.
func Start(ctx context.Context, cfg config.Config, env Env) (_ *Server, err error) {
	log := config.NewLogger(env.Stderr, cfg.LogFormat, cfg.LogLevel)
	key, source, err := secret.Load(cfg.DataDir, cfg.SecretKey, cfg.SecretKeyFile)
	if err != nil {
		return nil, err
	}
	st, backend, applied, err := openStore(ctx, &cfg, time.Now)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.Close() // the start-up error is the one to report
		}
	}()
	if err := checkSecret(ctx, st, key); err != nil {
		return nil, err
	}
	geo, err := geoip.Open(cfg.GeoIPDB)
	if err != nil {
		return nil, fmt.Errorf("--geoip-db: %w", err)
	}
	if geo.HasDatabase() {
		log.Info("country database", "type", geo.DatabaseType(), "built", geo.BuildTime().Format(time.DateOnly))
	}
	stack := NewStack(StackConfig{Config: cfg, Store: st, Secret: key, Logger: log, DatabaseURL: dbURL(backend), Geo: geo})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		Addr:  ln.Addr().String(),
		cfg:   cfg,
		log:   log,
		store: st,
		http: &http.Server{
			Handler:           stack.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		served: make(chan error, 1),
		stack:  stack,
		geo:    geo,
	}
	stack.Start()
	go func() { s.served <- s.http.Serve(ln) }()
	if cfg.DebugAddr != "" {
		// Profiles on their own listener, never on the public one.
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		dbg.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		dbg.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			_ = s.http.Close()
			stack.Stop()
			return nil, fmt.Errorf("--debug-addr: %w", err)
		}
		s.debug = &http.Server{Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.debug.Serve(dln) }()
		log.Info("profiling", "addr", dln.Addr().String())
	}
	log.Info("listening", "addr", s.Addr, "store", backend.Kind, "migrations_applied", len(applied),
		"secret", string(source), "version", version.String())
	return s, nil
}

// Shutdown stops accepting connections, lets in-flight requests finish for
// at most the configured timeout, stops background work and closes the
// store.
func (s *Server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if s.debug != nil {
		_ = s.debug.Close()
	}
	s.stack.Stop()
	return errors.Join(err, s.geo.Close(), s.store.Close())
}

// dbURL returns the PostgreSQL URL the change listener connects to.
func dbURL(b config.Backend) string {
	if b.Kind == "postgres" {
		return b.Target
	}
	return ""
}
