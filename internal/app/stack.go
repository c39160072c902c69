package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/geoip"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/version"
	"github.com/latchkey/latchkey/internal/web"
	"github.com/latchkey/latchkey/internal/webhook"
)

// StackConfig is what a Stack is built from.
type StackConfig struct {
	Config config.Config
	Store  *store.Store
	Secret *secret.Key
	Logger *slog.Logger
	// Now is the clock of every component; nil means time.Now.
	Now func() time.Time
	// DatabaseURL, for PostgreSQL, is where the change listener connects.
	DatabaseURL string
	// Geo resolves callers' countries; nil means only a trusted proxy's
	// header can tell.
	Geo *geoip.Resolver
}

// Stack is one node's components, wired: the HTTP handler and the
// background work it needs.
type Stack struct {
	Handler   http.Handler
	Service   *service.Service
	Keys      *keys.Authenticator
	Usage     *keys.Usage
	Validator *service.Validator
	Metrics   *metrics.Metrics
	Listener  *postgres.Listener // nil on SQLite
	// Node is this node's ID in change notifications.
	Node string
	// APIRoutes lists the API route patterns.
	APIRoutes []string

	cfg    StackConfig
	sender *webhook.Sender
	cancel context.CancelFunc // stops the loops
	// abandon cancels the flushes still running: at the shutdown deadline.
	abandon context.CancelFunc
	wg      sync.WaitGroup
}

// NewStack wires a node. Call Start to run its background work and Stop to
// end it.
func NewStack(sc StackConfig) *Stack {
	if sc.Now == nil {
		sc.Now = time.Now
	}
	cfg := sc.Config
	log := sc.Logger
	m := metrics.New()
	svc := service.New(service.Config{Store: sc.Store, Secret: sc.Secret, Logger: log, Now: sc.Now, PasswordCost: cfg.PasswordCost,
		CacheTTL: cfg.CacheTTL, MaxKeyRateLimit: cfg.MaxKeyRateLimit, AllowInsecureWebhooks: cfg.AllowInsecureWebhooks})
	caches := svc.Caches()
	m.WatchCaches(func() []metrics.CacheStats {
		var out []metrics.CacheStats
		for _, s := range caches.Stats() {
			out = append(out, metrics.CacheStats{Name: s.Name, Hits: s.Hits, Misses: s.Misses, Evictions: s.Evictions, Entries: s.Entries, Bytes: s.Bytes})
		}
		return out
	})
	auth := keys.NewAuthenticator(sc.Store, caches, cfg.CacheTTL, sc.Now)
	usage := keys.NewUsage()
	limiter := ratelimit.New()
	validator := svc.NewValidator(service.ValidatorConfig{TTL: cfg.CacheTTL, Limiter: limiter, LicenseLimit: cfg.LicenseRateLimit})
	m.WatchEventDrops(validator.DroppedEvents)
	proxies, _ := cfg.Proxies()

	node := keys.RandomToken(12)
	sc.Store.SetNode(node)
	var listener *postgres.Listener
	if sc.Store.Dialect() == "postgres" && sc.DatabaseURL != "" {
		listener = postgres.NewListener(sc.DatabaseURL, node, log, func(c core.Change) {
			m.Invalidations.WithLabelValues("peer").Inc()
			svc.Invalidate(c)
		})
		// Until the listener listens, and whenever it has lost its
		// connection, other nodes' changes may be missed: serve nothing
		// from memory then.
		caches.Suspend()
		listener.Down, listener.Up = caches.Suspend, caches.Resume
	}
	svc.OnChange(func(core.Change) { m.Invalidations.WithLabelValues("local").Inc() })

	var routes []string
	handler := server.Handler(server.Config{
		Logger:         log,
		Metrics:        m,
		Ready:          sc.Store.Ping,
		TrustedProxies: proxies,
		Register: []func(*http.ServeMux){
			func(mux *http.ServeMux) {
				routes = httpapi.Register(mux, httpapi.Deps{
					Logger: log, Service: svc, Keys: auth, Usage: usage, Limiter: limiter, Metrics: m,
					KeyRateLimit: cfg.KeyRateLimit, MaxKeyRateLimit: cfg.MaxKeyRateLimit, IPRateLimit: cfg.IPRateLimit, MaxBodyBytes: cfg.MaxBodyBytes,
					CursorKey: sc.Secret.Derive("cursor"), CacheTTL: cfg.CacheTTL, Now: sc.Now,
					Validator: validator, Geo: sc.Geo, CountryHeader: cfg.CountryHeader, Issuer: cfg.TokenIssuer(),
				})
			},
			func(mux *http.ServeMux) {
				web.Register(mux, web.Deps{Logger: log, Service: svc, Validator: validator, Usage: usage, Limiter: limiter,
					SecureCookies: cfg.SecureCookies, PublicURL: cfg.PublicURL, Now: sc.Now, Reveal: sc.Secret.Box("dashboard reveal"),
					LicenseFiles: httpapi.LicenseFileIssuer(svc, cfg.TokenIssuer(), sc.Now)})
			},
		},
	})
	return &Stack{Handler: handler, Service: svc, Keys: auth, Usage: usage, Validator: validator, Metrics: m, Listener: listener, Node: node,
		APIRoutes: routes, cfg: sc, sender: webhook.NewSender(cfg.AllowInsecureWebhooks, "Latchkey-Webhooks/"+version.String())}
}

// Start runs the background work: usage flushing and, on PostgreSQL, the
// change listener.
func (s *Stack) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	flush, abandon := context.WithCancel(context.Background())
	s.cancel, s.abandon = cancel, abandon
	log := s.cfg.Logger
	s.wg.Go(func() {
		s.Usage.Run(ctx, flush, s.cfg.Store, s.cfg.Config.UsageFlush, func(err error) {
			log.Error("flush API-key usage", "err", err)
		})
	})
	s.wg.Go(func() {
		s.Validator.Run(ctx, flush, s.cfg.Config.UsageFlush, func(err error) {
			log.Error("flush license usage", "err", err)
		})
	})
	if s.Listener != nil {
		s.wg.Go(func() { s.Listener.Run(ctx) })
	}
	s.wg.Go(func() { s.Validator.RunEvents(ctx) })
	s.wg.Go(func() { s.Service.RunDeliveries(ctx, s.DeliveryConfig()) })
	s.wg.Go(func() { s.Service.RunScheduler(ctx, s.ScheduleConfig()) })
}

// DeliveryConfig is how this node delivers webhooks.
func (s *Stack) DeliveryConfig() service.DeliveryConfig {
	return service.DeliveryConfig{Sender: s.sender, Owner: s.Node, Workers: s.cfg.Config.WebhookWorkers,
		OnAttempt: func(outcome string) { s.Metrics.WebhookAttempts.WithLabelValues(outcome).Inc() }}
}

// ScheduleConfig is how this node runs the time-driven work.
func (s *Stack) ScheduleConfig() service.ScheduleConfig {
	return service.ScheduleConfig{Owner: s.Node, Retention: s.cfg.Config.EventRetention}
}

// Stop ends the background work after a last usage flush, waiting for it
// until ctx ends at the latest. Then the flushes still running are
// cancelled (what they carried is lost: it was counted only in memory) and
// Stop returns ctx's error without waiting for them.
func (s *Stack) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	defer s.abandon()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the last usage flush did not finish: %w", context.Cause(ctx))
	}
}
