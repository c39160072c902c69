package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

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
	"github.com/latchkey/latchkey/internal/telemetry"
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
	// Tracer, when set, traces requests and their store statements
	// (telemetry.Setup); nil: no tracing.
	Tracer trace.TracerProvider
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
	// Limiter counts every rate limit; Redis, with --redis-url, is where
	// it shares them with the other nodes (nil without).
	Limiter *ratelimit.Limiter
	Redis   *ratelimit.Redis
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
	m.WatchBuild(version.String())
	if sc.Tracer != nil {
		sc.Store.SetTracer(telemetry.NewStoreSpans(sc.Tracer, sc.Store.Dialect()))
	}
	svc := service.New(service.Config{Store: sc.Store, Secret: sc.Secret, Logger: log, Now: sc.Now, PasswordCost: cfg.PasswordCost,
		CacheTTL: cfg.CacheTTL, MaxKeyRateLimit: cfg.MaxKeyRateLimit, AllowInsecureWebhooks: cfg.AllowInsecureWebhooks,
		Mailer: newMailer(cfg, log), PublicURL: cfg.PublicURL})
	caches := svc.Caches()
	m.WatchCaches(func() []metrics.CacheStats {
		var out []metrics.CacheStats
		for _, s := range caches.Stats() {
			out = append(out, metrics.CacheStats{Name: s.Name, Hits: s.Hits, Misses: s.Misses, Evictions: s.Evictions, Entries: s.Entries, Bytes: s.Bytes})
		}
		return out
	})
	for name, db := range sc.Store.Pools() {
		m.WatchPool(name, db)
	}
	auth := keys.NewAuthenticator(sc.Store, caches, cfg.CacheTTL, sc.Now)
	usage := keys.NewUsage()
	limiter := ratelimit.New()
	m.WatchRejections(limiter.Rejections)
	var shared *ratelimit.Redis
	if cfg.RedisURL != "" {
		r, err := ratelimit.NewRedis(ratelimit.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.RedisKeyPrefix, Timeout: cfg.RedisTimeout, Logger: log})
		if err != nil {
			// Unreachable after config.Validate, which reads the URL the
			// same way; limiting alone beats not starting.
			log.Error("shared rate limits are off", "err", err)
		} else {
			shared = r
			limiter.UseRedis(r)
			m.WatchRateLimits(func() metrics.RateLimitStats {
				st := r.Stats()
				return metrics.RateLimitStats{RedisUp: st.Up, Shared: st.Shared, Fallback: st.Fallback, Outages: st.Outages, LiveNodes: limiter.LiveNodes()}
			})
		}
	}
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
		// A write that narrows rights answers once every other node has
		// applied it, so that it holds there from the next request.
		listener.DB = sc.Store.DB()
		svc.SetBarrier(listener.Barrier)
	}
	svc.OnChange(func(core.Change) { m.Invalidations.WithLabelValues("local").Inc() })

	var redisState, listenerState func() string
	if shared != nil {
		redisState = upDown(shared.Up)
	}
	if listener != nil {
		listenerState = upDown(listener.Listening)
	}
	var routes []string
	handler := server.Handler(server.Config{
		Logger:         log,
		Metrics:        m,
		Ready:          sc.Store.Ping,
		Redis:          redisState,
		Listener:       listenerState,
		TrustedProxies: proxies,
		AccessLog:      cfg.AccessLog,
		Tracer:         sc.Tracer,
		Register: []func(*http.ServeMux){
			func(mux *http.ServeMux) {
				routes = httpapi.Register(mux, httpapi.Deps{
					Logger: log, Service: svc, Keys: auth, Usage: usage, Limiter: limiter, Metrics: m,
					KeyRateLimit: cfg.KeyRateLimit, MaxKeyRateLimit: cfg.MaxKeyRateLimit, IPRateLimit: cfg.IPRateLimit, MaxBodyBytes: cfg.MaxBodyBytes,
					CursorKey: sc.Secret.Derive("cursor"), CacheTTL: cfg.CacheTTL, Now: sc.Now,
					Validator: validator, Geo: sc.Geo, CountryHeader: cfg.CountryHeader, Issuer: cfg.TokenIssuer(),
					PublicURL: cfg.PublicURL,
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
		Limiter: limiter, Redis: shared, APIRoutes: routes, cfg: sc, sender: webhook.NewSender(cfg.AllowInsecureWebhooks, "Latchkey-Webhooks/"+version.String())}
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
	if s.Redis != nil {
		s.wg.Go(func() { s.runHeartbeat(ctx) })
	}
	s.wg.Go(func() { s.Service.RunDeliveries(ctx, s.DeliveryConfig()) })
	s.wg.Go(func() { s.Service.RunScheduler(ctx, s.ScheduleConfig()) })
}

// Heartbeats: a node records itself every HeartbeatInterval and counts as
// live the nodes seen within LiveWindow, several intervals, so that one
// late beat does not shrink the count.
const (
	HeartbeatInterval = 5 * time.Second
	LiveWindow        = 30 * time.Second
)

// runHeartbeat keeps this node's heartbeat and the limiter's count of live
// nodes current until ctx ends. Only nodes sharing limits in Redis beat:
// the count is the divisor of each limit while Redis is unreachable.
func (s *Stack) runHeartbeat(ctx context.Context) {
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	failing := false
	for {
		err := s.Beat(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			// Logged once per failing streak: the last count stays in use.
			s.cfg.Logger.Warn("node heartbeat failed; the count of live nodes is kept as it was", "err", err)
			failing = true
		case err == nil && failing:
			s.cfg.Logger.Info("node heartbeat recorded again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Beat records this node's heartbeat and updates the limiter's count of
// live nodes (at least this one).
func (s *Stack) Beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, HeartbeatInterval)
	defer cancel()
	if err := s.cfg.Store.Heartbeat(ctx, s.Node); err != nil {
		return err
	}
	n, err := s.cfg.Store.LiveNodes(ctx, LiveWindow)
	if err != nil {
		return err
	}
	s.Limiter.SetLiveNodes(n)
	return nil
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
		if s.Redis != nil {
			_ = s.Redis.Close() // connections only: nothing to report
		}
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		// Mails being sent (password resets) end within --smtp-timeout.
		s.Service.WaitMail()
		if s.Redis != nil {
			// Leave the count of live nodes at once, so that the others'
			// shares grow now rather than after LiveWindow. Best effort:
			// a node that cannot is forgotten when its heartbeat ages.
			forget, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.cfg.Store.ForgetNode(forget, s.Node)
			cancel()
			_ = s.Redis.Close()
		}
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

// upDown reports a dependency the way /readyz shows it.
func upDown(up func() bool) func() string {
	return func() string {
		if up() {
			return "up"
		}
		return "down"
	}
}
