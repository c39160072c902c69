// Package service holds Latchkey's use cases: every change the API, the
// dashboard or an admin command makes goes through here, so that
// authorization, validation, auditing and cache invalidation happen once.
package service

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
)

// Config holds a Service's dependencies.
type Config struct {
	Store  core.Store
	Secret *secret.Key
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PasswordCost is the bcrypt cost; 0 means bcrypt.DefaultCost. Tests
	// lower it.
	PasswordCost int
	// Caches is the node's set of caches: the service registers its own
	// there and hands it every change. Nil means a set of its own.
	Caches *cache.Set
	// CacheTTL bounds how long a cached record is served should a change
	// notification be lost; 0 means 15 minutes.
	CacheTTL time.Duration
	// MaxKeyRateLimit is the highest rate_limit_per_minute a key may be
	// given (--max-key-rate-limit); 0 means MaxKeyRateLimit.
	MaxKeyRateLimit int
	// AllowInsecureWebhooks lets endpoints use http and loopback or
	// private addresses (--allow-insecure-webhooks).
	AllowInsecureWebhooks bool
	// Mailer sends invitations and password resets; nil when no SMTP
	// server is configured (the dashboard then shows invitation links).
	Mailer Mailer
	// PublicURL is where links in mails point (--public-url).
	PublicURL string
}

// LicenseBoxPurpose names the key that encrypts license keys at rest; the
// benchmark's seeder writes licenses with it.
const LicenseBoxPurpose = "license-key"

// Service implements the use cases.
type Service struct {
	store        core.Store
	log          *slog.Logger
	now          func() time.Time
	passwordCost int
	licenseBox   *secret.Box
	webhookBox   *secret.Box
	signingBox   *secret.Box
	totpBox      *secret.Box
	// initialSigning is the key derived from the instance secret: the
	// first signing key, recorded when there is none.
	initialSigning ed25519.PrivateKey
	signingKeys    keyringCache
	dummyHash      []byte
	listeners      []func(core.Change)
	caches         *cache.Set
	cacheTTL       time.Duration
	projects       projectCache
	licenses       licenseCache
	endpoints      endpointCache

	// deliveriesDue is set when a write created deliveries; after its
	// commit, wake tells this node's delivery workers (webhook.go).
	deliveriesDue atomic.Bool
	wake          chan struct{}
	// allowInsecureWebhooks lifts the https and address rules of
	// endpoint URLs (--allow-insecure-webhooks).
	allowInsecureWebhooks bool
	// barrier, when set (several nodes on PostgreSQL), waits until every
	// other node has applied this node's published changes.
	barrier func(ctx context.Context)

	// maxKeyRateLimit is the ceiling of a key's rate limit.
	maxKeyRateLimit int

	mailer    Mailer
	publicURL string
	// mailing counts the mails sent in the background, for Wait.
	mailing sync.WaitGroup
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		store:          cfg.Store,
		log:            cfg.Logger,
		now:            cfg.Now,
		passwordCost:   cfg.PasswordCost,
		licenseBox:     cfg.Secret.Box(LicenseBoxPurpose),
		webhookBox:     cfg.Secret.Box("webhook-secret"),
		signingBox:     cfg.Secret.Box(signingBoxPurpose),
		totpBox:        cfg.Secret.Box(totpBoxPurpose),
		initialSigning: cfg.Secret.SigningKey(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.caches, s.cacheTTL = cfg.Caches, cfg.CacheTTL
	if s.caches == nil {
		s.caches = &cache.Set{}
	}
	if s.cacheTTL == 0 {
		s.cacheTTL = 15 * time.Minute
	}
	s.OnChange(s.caches.Invalidate)
	s.projects = newProjectCache(s.caches, s.cacheTTL, s.now)
	s.licenses = newLicenseCache(s.caches, s.cacheTTL, s.now)
	s.endpoints = newEndpointCache(s.caches, s.cacheTTL, s.now)
	s.signingKeys = newKeyringCache(s.caches, s.now)
	s.wake = make(chan struct{}, 1)
	s.allowInsecureWebhooks = cfg.AllowInsecureWebhooks
	s.mailer, s.publicURL = cfg.Mailer, strings.TrimRight(cfg.PublicURL, "/")
	s.maxKeyRateLimit = cfg.MaxKeyRateLimit
	if s.maxKeyRateLimit <= 0 {
		s.maxKeyRateLimit = MaxKeyRateLimit
	}
	if s.passwordCost == 0 {
		s.passwordCost = bcrypt.DefaultCost
	}
	// Compared against when a sign-in names no known user, so that the
	// answer takes as long as for a wrong password.
	s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("latchkey-dummy-password"), s.passwordCost)
	return s
}

// Caches returns the node's set of caches.
func (s *Service) Caches() *cache.Set { return s.caches }

// Store returns the store, for read paths that need no rules.
func (s *Service) Store() core.Store { return s.store }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.now() }

// audit appends an event in the transaction of st.
func audit(ctx context.Context, st core.Store, e *core.AuditEvent) error {
	return st.AppendAudit(ctx, e)
}
