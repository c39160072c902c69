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
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/geoip"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/telemetry"
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
			return srv.Wait(cmd.Context())
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

	cfg   config.Config
	log   *slog.Logger
	http  *http.Server
	store *store.Store
	stack *Stack
	debug *http.Server
	geo   *geoip.Resolver
	ln    net.Listener
	// tracing is nil unless OTEL_EXPORTER_OTLP_*ENDPOINT is set.
	tracing *telemetry.Tracing
	// stopLogs writes the last buffered log lines and stops the flusher.
	stopLogs func()
	// served is closed when http.Serve has returned, with serveErr.
	served   chan struct{}
	serveErr error
}

// Start opens the store, wires everything and starts serving. The server
// runs until Shutdown.
func Start(ctx context.Context, cfg config.Config, env Env) (_ *Server, err error) {
	// Every line logged with a request's context carries its request_id
	// and, when traced, its trace_id and span_id.
	// The access log's lines wait in a buffer for at most
	// telemetry.LogFlushInterval: a system call per request was a tenth of
	// a validation's CPU (docs/benchmarks.md). Every other line is written
	// at once.
	logs := telemetry.NewLogBuffer(env.Stderr)
	stopLogs := runLogBuffer(logs)
	defer func() {
		if err != nil {
			stopLogs()
		}
	}()
	log := slog.New(telemetry.NewBufferedLogHandler(config.NewLogger(logs, cfg.LogFormat, cfg.LogLevel).Handler(), logs))
	key, source, err := secret.Load(cfg.DataDir, cfg.SecretKey, cfg.SecretKeyFile)
	if err != nil {
		return nil, err
	}
	tracing, err := telemetry.Setup(ctx, env.Getenv, version.String())
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && tracing != nil {
			_ = tracing.Shutdown(context.WithoutCancel(ctx)) // nothing was traced yet
		}
	}()
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
	sc := StackConfig{Config: cfg, Store: st, Secret: key, Logger: log, DatabaseURL: dbURL(backend), Geo: geo}
	if tracing != nil {
		sc.Tracer = tracing.Provider()
		log.Info("tracing", "endpoint", tracing.Endpoint)
	}
	stack := NewStack(sc)
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
		served:   make(chan struct{}),
		stack:    stack,
		tracing:  tracing,
		stopLogs: stopLogs,
		geo:      geo,
		ln:       ln,
	}
	stack.Start()
	go func() {
		s.serveErr = s.http.Serve(ln)
		close(s.served)
	}()
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
			<-s.served
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = stack.Stop(sctx)
			return nil, fmt.Errorf("--debug-addr: %w", err)
		}
		s.debug = &http.Server{Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.debug.Serve(dln) }()
		log.Info("profiling", "addr", dln.Addr().String())
	}
	log.Info("listening", "addr", s.Addr, "store", backend.Kind, "migrations_applied", len(applied),
		"secret", string(source), "version", version.String())
	// Where to go next, for a person who just started it: the dashboard,
	// and on an instance without users the page that creates the first.
	base := browseURL(cfg.PublicURL, s.Addr)
	log.Info("dashboard", "url", base+"/")
	if first, ferr := stack.Service.NeedsFirstRun(ctx); ferr == nil && first {
		log.Info("no users yet: create the organization and its first owner on the setup page, or with latchkey admin create-user",
			"url", base+"/setup")
	}
	return s, nil
}

// Wait serves until ctx ends or serving fails on its own (the listener
// broke), then shuts down. It returns the serving failure, if any, with
// the shutdown's.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.served:
		s.log.Error("serving stopped", "err", s.serveErr)
	}
	return s.Shutdown()
}

// Shutdown stops accepting connections, lets in-flight requests finish,
// stops background work after a last usage flush and closes the store,
// all within the configured timeout: a database that stopped answering
// cannot hold the process past it (what was not flushed by then is lost,
// and the error says so).
func (s *Server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	err := s.http.Shutdown(ctx)
	<-s.served
	if s.serveErr != nil && !errors.Is(s.serveErr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serve: %w", s.serveErr))
	}
	if s.debug != nil {
		_ = s.debug.Close()
	}
	err = errors.Join(err, s.stack.Stop(ctx))
	if s.tracing != nil {
		// Export the spans still batched: the last requests' traces.
		err = errors.Join(err, s.tracing.Shutdown(ctx))
	}
	// Closing waits for the statements still running; it too must not
	// outlast the deadline.
	closed := make(chan error, 1)
	go func() { closed <- errors.Join(s.geo.Close(), s.store.Close()) }()
	select {
	case cerr := <-closed:
		err = errors.Join(err, cerr)
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("close the store: %w", context.Cause(ctx)))
	}
	s.stopLogs()
	return err
}

// runLogBuffer writes buf's lines every telemetry.LogFlushInterval until
// the returned stop, which writes the last ones and returns once they are
// written.
func runLogBuffer(buf *telemetry.LogBuffer) (stop func()) {
	t := time.NewTicker(telemetry.LogFlushInterval)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf.Run(t.C, quit)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Stop()
			close(quit)
			<-done
		})
	}
}

// dbURL returns the PostgreSQL URL the change listener connects to.
func dbURL(b config.Backend) string {
	if b.Kind == "postgres" {
		return b.Target
	}
	return ""
}

// browseURL is the URL a person opens to reach this server: --public-url
// when set, else the listening address, with a wildcard host replaced by
// loopback (a browser cannot open 0.0.0.0).
func browseURL(publicURL, addr string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
