// Package config defines Latchkey's settings, reads them from flags and
// LATCHKEY_* environment variables (flags win), and validates them all at
// once so an operator fixes every problem in one pass.
package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
)

// Config holds every setting of the server and the admin commands.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	// DBMaxConns and DBMinConns size each node's PostgreSQL pool;
	// DBStatementTimeout is its server-side statement_timeout (0: none).
	DBMaxConns         int
	DBMinConns         int
	DBStatementTimeout time.Duration
	SecretKey          string // from LATCHKEY_SECRET_KEY only: never a flag, it would show in ps
	SecretKeyFile      string
	LogFormat          string
	LogLevel           string
	TrustedProxies     []string
	GeoIPDB            string
	CountryHeader      string
	ShutdownTimeout    time.Duration
	KeyRateLimit       int
	MaxKeyRateLimit    int
	IPRateLimit        int
	LicenseRateLimit   int
	MaxBodyBytes       int64
	CacheTTL           time.Duration
	UsageFlush         time.Duration
	PasswordCost       int
	SecureCookies      string
	PublicURL          string
	// Issuer is the iss claim of proofs and license files; empty means
	// PublicURL, or "latchkey" when that is empty too.
	Issuer    string
	DebugAddr string
	// AllowInsecureWebhooks lets webhook endpoints use http and reach
	// loopback, private and link-local addresses.
	AllowInsecureWebhooks bool
	EventRetention        time.Duration
	WebhookWorkers        int
	// MemoryLimit is the Go runtime's soft memory limit, as given
	// ("200MiB", "0" for none); MemoryLimitBytes is it parsed by Validate.
	MemoryLimit      string
	MemoryLimitBytes int64
	// RedisURL, when set, makes every rate limit cluster-wide, counted in
	// that Redis (redis:// or rediss://); RedisKeyPrefix starts its keys.
	RedisURL       string
	RedisKeyPrefix string
	// RedisTimeout bounds one rate-limit decision on Redis; past it the
	// node decides alone until Redis answers a probe.
	RedisTimeout time.Duration
	// AccessLog logs a line per request at info (--access-log).
	AccessLog bool
	// SMTPURL (smtp:// with STARTTLS, smtps:// implicit TLS) turns on
	// mailed invitations and password resets; SMTPPassword comes from the
	// URL, LATCHKEY_SMTP_PASSWORD or LATCHKEY_SMTP_PASSWORD_FILE, never a
	// flag. MailFrom is the sender's address; SMTPCAFile, when set, is the
	// PEM bundle the server's certificate is verified with instead of the
	// system's roots.
	SMTPURL      string
	SMTPPassword string
	SMTPCAFile   string
	MailFrom     string
	SMTPTimeout  time.Duration
}

// MaxRateLimit is the largest --max-key-rate-limit accepted: far above any
// real use, and within a 32-bit integer wherever the value travels.
const MaxRateLimit = math.MaxInt32

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Addr:               "127.0.0.1:8080",
		DataDir:            "./data",
		LogFormat:          "text",
		LogLevel:           "info",
		CountryHeader:      "CF-IPCountry",
		ShutdownTimeout:    15 * time.Second,
		KeyRateLimit:       6000,
		MaxKeyRateLimit:    60000,
		IPRateLimit:        600,
		LicenseRateLimit:   6000,
		MaxBodyBytes:       1 << 20,
		CacheTTL:           15 * time.Minute,
		UsageFlush:         2 * time.Second,
		SecureCookies:      "auto",
		MemoryLimit:        "200MiB",
		EventRetention:     30 * 24 * time.Hour,
		WebhookWorkers:     4,
		RedisKeyPrefix:     "latchkey:",
		RedisTimeout:       100 * time.Millisecond,
		DBMaxConns:         32,
		DBMinConns:         2,
		DBStatementTimeout: 30 * time.Second,
		AccessLog:          true,
		SMTPTimeout:        30 * time.Second,
	}
}

// EnvName returns the environment variable that backs a flag:
// --data-dir is LATCHKEY_DATA_DIR.
func EnvName(flag string) string {
	return "LATCHKEY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// AddStoreFlags registers the flags every command that opens the store
// needs.
func (c *Config) AddStoreFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database and the generated instance secret")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://… to use PostgreSQL instead of SQLite (also LATCHKEY_DATABASE_URL_FILE)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns, "PostgreSQL: most connections this node opens (nodes × (this + 1) must stay below the server's max_connections)")
	fs.IntVar(&c.DBMinConns, "db-min-conns", c.DBMinConns, "PostgreSQL: connections kept open while idle")
	fs.DurationVar(&c.DBStatementTimeout, "db-statement-timeout", c.DBStatementTimeout, "PostgreSQL: longest a statement may run before the server cancels it and the request gets 503 (0: no limit; migrations never have one)")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "file holding the instance secret (else LATCHKEY_SECRET_KEY, else <data-dir>/secret.key)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	// The bcrypt cost is lowered only by tests, which create many users.
	fs.IntVar(&c.PasswordCost, "password-cost", c.PasswordCost, "bcrypt cost for new passwords (0: default 10)")
	_ = fs.MarkHidden("password-cost")
}

// AddServeFlags registers the server's own flags.
func (c *Config) AddServeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on (host:port; port 0 picks a free one)")
	fs.StringSliceVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For and country headers are believed")
	fs.StringVar(&c.GeoIPDB, "geoip-db", c.GeoIPDB, "MaxMind-format country database (.mmdb) for allowed_countries")
	fs.StringVar(&c.CountryHeader, "country-header", c.CountryHeader, "header carrying the caller's country when set by a trusted proxy")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may run after SIGTERM")
	fs.IntVar(&c.KeyRateLimit, "rate-limit", c.KeyRateLimit, "default requests per minute per API key (a key may set its own)")
	fs.IntVar(&c.MaxKeyRateLimit, "max-key-rate-limit", c.MaxKeyRateLimit, "the highest requests per minute any API key may have or be given (at least --rate-limit)")
	fs.IntVar(&c.IPRateLimit, "ip-rate-limit", c.IPRateLimit, "requests per minute per client IP without a valid credential")
	fs.IntVar(&c.LicenseRateLimit, "license-rate-limit", c.LicenseRateLimit, "runtime validations per minute per license")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest accepted JSON request body (multipart uploads may be up to 6 MiB)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", c.CacheTTL, "how long authentication and license records stay cached (writes invalidate at once)")
	fs.DurationVar(&c.UsageFlush, "usage-flush", c.UsageFlush, "how often API-key usage counters are written to the store")
	fs.StringVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark dashboard cookies Secure: auto (when served over TLS or behind a trusted proxy that says https), always, never")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the URL people reach this server at, for links in the dashboard")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "the iss claim of offline proofs and license files (default: --public-url, else latchkey)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", c.MemoryLimit, "soft limit of the Go runtime's memory (e.g. 200MiB, 1GiB; 0: none); GOMEMLIMIT, when set, wins")
	fs.BoolVar(&c.AllowInsecureWebhooks, "allow-insecure-webhooks", c.AllowInsecureWebhooks, "let webhook endpoints use http:// and deliver to loopback, private and link-local addresses (development, private networks)")
	fs.DurationVar(&c.EventRetention, "event-retention", c.EventRetention, "how long events and their delivery logs are kept")
	fs.IntVar(&c.WebhookWorkers, "webhook-workers", c.WebhookWorkers, "concurrent webhook delivery attempts per node")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "redis://… or rediss://… to share every rate limit across the nodes (also LATCHKEY_REDIS_URL_FILE); empty: each node limits alone")
	fs.DurationVar(&c.RedisTimeout, "redis-timeout", c.RedisTimeout, "longest wait for Redis on a rate-limit decision; past it the node limits alone (its share) until Redis answers again")
	fs.StringVar(&c.RedisKeyPrefix, "redis-key-prefix", c.RedisKeyPrefix, "prefix of the rate-limit keys in Redis, to share one Redis between instances")
	fs.BoolVar(&c.AccessLog, "access-log", c.AccessLog, "log a line per request at info: method, route, status, duration_ms, bytes, ip, request_id (false: at debug; 5xx are logged at warn either way)")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL, "smtp://user@host:587 (STARTTLS) or smtps://user@host:465 (implicit TLS) to mail invitations and password resets (password: LATCHKEY_SMTP_PASSWORD or LATCHKEY_SMTP_PASSWORD_FILE; also LATCHKEY_SMTP_URL_FILE); empty: the dashboard shows invitation links to copy")
	fs.StringVar(&c.MailFrom, "mail-from", c.MailFrom, "sender address of the mails (\"Latchkey <no-reply@example.com>\"); required with --smtp-url")
	fs.StringVar(&c.SMTPCAFile, "smtp-ca-file", c.SMTPCAFile, "PEM file of the CA certificates the SMTP server's certificate is verified with (default: the system's roots)")
	fs.DurationVar(&c.SMTPTimeout, "smtp-timeout", c.SMTPTimeout, "longest time one mail may take to send (connect, TLS, every command)")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "serve Go's pprof profiles on this separate address (keep it on loopback); empty: off")
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its environment variable, and reads *_FILE variables for secrets.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) string, c *Config) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if err := sv.Replace(splitList(v)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	})
	if fs.Lookup("database-url") != nil && c.DatabaseURL == "" {
		if file := getenv("LATCHKEY_DATABASE_URL_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("LATCHKEY_DATABASE_URL_FILE: %w", err))
			}
			c.DatabaseURL = strings.TrimSpace(string(b))
		}
	}
	if fs.Lookup("redis-url") != nil && c.RedisURL == "" {
		if file := getenv("LATCHKEY_REDIS_URL_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("LATCHKEY_REDIS_URL_FILE: %w", err))
			}
			c.RedisURL = strings.TrimSpace(string(b))
		}
	}
	if fs.Lookup("smtp-url") != nil {
		if c.SMTPURL == "" {
			if file := getenv("LATCHKEY_SMTP_URL_FILE"); file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					errs = append(errs, fmt.Errorf("LATCHKEY_SMTP_URL_FILE: %w", err))
				}
				c.SMTPURL = strings.TrimSpace(string(b))
			}
		}
		// The password is never a flag (it would show in ps).
		c.SMTPPassword = getenv("LATCHKEY_SMTP_PASSWORD")
		if file := getenv("LATCHKEY_SMTP_PASSWORD_FILE"); file != "" && c.SMTPPassword == "" {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("LATCHKEY_SMTP_PASSWORD_FILE: %w", err))
			}
			c.SMTPPassword = strings.TrimRight(string(b), "\r\n")
		}
	}
	c.SecretKey = getenv("LATCHKEY_SECRET_KEY")
	if c.SecretKeyFile == "" {
		c.SecretKeyFile = getenv("LATCHKEY_SECRET_KEY_FILE")
	}
	return errors.Join(errs...)
}

func splitList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Validate reports every problem in c.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s (%s): %s", flag, EnvName(flag), fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if _, err := c.Backend(); err != nil {
			bad("database-url", "%v", err)
		}
	}
	if c.RedisURL != "" {
		if err := checkRedisURL(c.RedisURL); err != nil {
			bad("redis-url", "%v", err)
		}
	}
	if c.RedisKeyPrefix == "" || len(c.RedisKeyPrefix) > 64 || !utf8.ValidString(c.RedisKeyPrefix) || strings.ContainsFunc(c.RedisKeyPrefix, unicode.IsControl) {
		bad("redis-key-prefix", "must be printable text of 1 to 64 bytes")
	}
	if c.RedisTimeout < time.Millisecond || c.RedisTimeout > 10*time.Second {
		bad("redis-timeout", "must be between 1ms and 10s")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format", "must be text or json, not %q", c.LogFormat)
	}
	if _, err := c.SlogLevel(); err != nil {
		bad("log-level", "%v", err)
	}
	if _, err := c.Proxies(); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 10000 {
		bad("db-max-conns", "must be between 1 and 10000")
	}
	if c.DBMinConns < 0 || c.DBMinConns > c.DBMaxConns {
		bad("db-min-conns", "must be between 0 and --db-max-conns (%d)", c.DBMaxConns)
	}
	if c.DBStatementTimeout != 0 && (c.DBStatementTimeout < time.Millisecond || c.DBStatementTimeout > 24*time.Hour) {
		bad("db-statement-timeout", "must be 0 (no limit) or between 1ms and 24h")
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown-timeout", "must not be negative")
	}
	if c.KeyRateLimit < 1 {
		bad("rate-limit", "must be at least 1")
	}
	// The ceiling bounds the default too: otherwise every key left at the
	// default would exceed it.
	if c.MaxKeyRateLimit < c.KeyRateLimit || c.MaxKeyRateLimit > MaxRateLimit {
		bad("max-key-rate-limit", "must be between --rate-limit (%d) and %d", c.KeyRateLimit, MaxRateLimit)
	}
	if c.IPRateLimit < 1 {
		bad("ip-rate-limit", "must be at least 1")
	}
	if c.LicenseRateLimit < 1 {
		bad("license-rate-limit", "must be at least 1")
	}
	if c.MaxBodyBytes < 1024 {
		bad("max-body-bytes", "must be at least 1024")
	}
	if c.CacheTTL < time.Second {
		bad("cache-ttl", "must be at least 1s")
	}
	if c.UsageFlush < 10*time.Millisecond {
		bad("usage-flush", "must be at least 10ms")
	}
	if c.EventRetention < time.Hour {
		bad("event-retention", "must be at least 1h")
	}
	if c.WebhookWorkers < 1 || c.WebhookWorkers > 256 {
		bad("webhook-workers", "must be between 1 and 256")
	}
	if c.PasswordCost != 0 && (c.PasswordCost < 4 || c.PasswordCost > 31) {
		bad("password-cost", "must be between 4 and 31")
	}
	if n, err := ParseSize(c.MemoryLimit); err != nil {
		bad("memory-limit", "%s", err.Error())
	} else if n != 0 && n < 32<<20 {
		bad("memory-limit", "must be 0 (none) or at least 32MiB")
	} else {
		c.MemoryLimitBytes = n
	}
	switch c.SecureCookies {
	case "auto", "always", "never":
	default:
		bad("secure-cookies", "must be auto, always or never")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public-url", "must be an http:// or https:// URL")
		}
	}
	c.validateMail(bad)
	if c.Issuer != "" && (!utf8.ValidString(c.Issuer) || strings.ContainsFunc(c.Issuer, unicode.IsControl) || len(c.Issuer) > 512) {
		bad("issuer", "must be printable text of at most 512 bytes")
	}
	return errors.Join(errs...)
}

// validateMail checks the mail settings. Its messages never repeat the
// SMTP URL or password.
func (c *Config) validateMail(bad func(flag, format string, args ...any)) {
	if c.SMTPURL == "" {
		if c.SMTPPassword != "" {
			bad("smtp-url", "is required when LATCHKEY_SMTP_PASSWORD or LATCHKEY_SMTP_PASSWORD_FILE is set")
		}
		return
	}
	u, err := checkSMTPURL(c.SMTPURL)
	if err != nil {
		bad("smtp-url", "%v", err)
	} else if _, hasPass := u.User.Password(); (hasPass || c.SMTPPassword != "") && u.User.Username() == "" {
		bad("smtp-url", "names no user for the password (smtp://user@host:587)")
	}
	switch addr, err := mail.ParseAddress(c.MailFrom); {
	case c.MailFrom == "":
		bad("mail-from", "is required with --smtp-url")
	case err != nil || strings.ContainsAny(c.MailFrom, "\r\n") || len(addr.Address) > 254:
		bad("mail-from", "must be an email address, optionally with a name (\"Latchkey <no-reply@example.com>\")")
	}
	// Links in mails are built from --public-url, never from a request's
	// Host header, which whoever asks for a reset controls.
	if c.PublicURL == "" {
		bad("public-url", "is required with --smtp-url: links in mails point there")
	}
	if c.SMTPCAFile != "" {
		if b, err := os.ReadFile(c.SMTPCAFile); err != nil {
			bad("smtp-ca-file", "cannot be read: %v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			bad("smtp-ca-file", "holds no PEM certificate")
		}
	}
	if c.SMTPTimeout < time.Second || c.SMTPTimeout > 10*time.Minute {
		bad("smtp-timeout", "must be between 1s and 10m")
	}
}

// checkSMTPURL validates --smtp-url as the mail package reads it.
func checkSMTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, errors.New("not a valid URL")
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return nil, errors.New("must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	case u.Hostname() == "":
		return nil, errors.New("names no host (smtp://user@mail.example.com:587)")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, errors.New("must not have a path, query or fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("has an invalid port")
		}
	}
	if u.User == nil {
		u.User = url.User("")
	}
	return u, nil
}

// TokenIssuer is the iss claim of proofs and license files.
func (c *Config) TokenIssuer() string {
	switch {
	case c.Issuer != "":
		return c.Issuer
	case c.PublicURL != "":
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "latchkey"
}

// Backend names the store backend and its location.
type Backend struct {
	Kind string // "sqlite" or "postgres"
	// Target is the SQLite file path or the PostgreSQL URL.
	Target string
}

// Backend returns the store to open: PostgreSQL for a postgres:// URL,
// SQLite for a sqlite: URL or when no URL is set.
func (c *Config) Backend() (Backend, error) {
	u := c.DatabaseURL
	switch {
	case u == "":
		return Backend{Kind: "sqlite", Target: filepath.Join(c.DataDir, "latchkey.db")}, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return Backend{}, errors.New("not a valid URL")
		}
		return Backend{Kind: "postgres", Target: u}, nil
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			return Backend{}, errors.New("sqlite: URL names no file")
		}
		return Backend{Kind: "sqlite", Target: path}, nil
	}
	return Backend{}, errors.New("must start with postgres://, postgresql:// or sqlite:") //nolint:staticcheck // ST1005: "sqlite:" is the scheme, not punctuation
}

// checkRedisURL validates a --redis-url the way the Redis client will read
// it. Its messages never repeat the URL: it may hold a password.
func checkRedisURL(s string) error {
	if !strings.HasPrefix(s, "redis://") && !strings.HasPrefix(s, "rediss://") {
		return errors.New("must start with redis:// or rediss:// (TLS)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a valid URL")
	case u.Hostname() == "":
		return errors.New("names no host (redis://host:6379/0)")
	}
	if _, err := redis.ParseURL(s); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return errors.New("not a valid URL")
		}
		return errors.New(strings.TrimPrefix(err.Error(), "redis: "))
	}
	return nil
}

// SlogLevel parses LogLevel.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("unknown level %q", c.LogLevel)
	}
	return l, nil
}

// Proxies parses TrustedProxies.
func (c *Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR block", s)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR block", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// NewLogger returns a JSON or text logger at the given level.
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ParseSize reads a byte count: a plain number of bytes, or a number with
// a binary unit (KiB, MiB, GiB).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 200MiB, 1GiB or 0", s)
	}
	return n * mult, nil
}
