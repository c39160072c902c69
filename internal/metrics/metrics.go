// Package metrics holds the Prometheus registry of one server. It is never
// the global registry, so that tests can run several servers in one process.
package metrics

import (
	"database/sql"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors the server updates.
type Metrics struct {
	Registry      *prometheus.Registry
	HTTPRequests  *prometheus.CounterVec
	HTTPDuration  *prometheus.HistogramVec
	AuthResults   *prometheus.CounterVec
	Validations   *prometheus.CounterVec
	UsageFlushes  prometheus.Counter
	Invalidations *prometheus.CounterVec
	// WebhookAttempts counts delivery attempts by how they ended:
	// succeeded, retrying (failed, to be retried) or failed (given up).
	WebhookAttempts *prometheus.CounterVec
}

// New returns a registry with Go runtime, process and Latchkey collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latchkey_http_request_duration_seconds", Help: "HTTP request latency by route, method and status class (2xx, 4xx, 5xx…).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status_class"}),
		AuthResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_api_key_auth_total", Help: "API-key authentications by result.",
		}, []string{"result"}),
		Validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_license_validations_total", Help: "Runtime license validations by result code.",
		}, []string{"code"}),
		UsageFlushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_usage_flushes_total", Help: "Batches of API-key usage written to the store.",
		}),
		Invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_cache_invalidations_total", Help: "Cache invalidations by origin (local or peer).",
		}, []string{"origin"}),
		WebhookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_webhook_attempts_total", Help: "Webhook delivery attempts by outcome (succeeded, retrying, failed).",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.WebhookAttempts,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.AuthResults, m.Validations, m.UsageFlushes, m.Invalidations,
	)
	return m
}

// WatchBuild exports latchkey_build_info{version,revision,goversion} 1:
// the build's version (as the version package reports it), its VCS
// revision as the toolchain recorded it ("unknown" without one), and the
// Go release it was built with.
func (m *Metrics) WatchBuild(version string) {
	revision := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "latchkey_build_info", Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	g.Set(1)
	m.Registry.MustRegister(g)
}

var rejectionsDesc = prometheus.NewDesc("latchkey_ratelimit_rejections_total",
	"Requests refused by a rate limit, by kind of limit (api_key, license, ip, login_ip, login_email, other).", []string{"kind"}, nil)

// rejectionsCollector reads the limiter's refusal counters at scrape time.
type rejectionsCollector func() map[string]int64

func (f rejectionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- rejectionsDesc }

func (f rejectionsCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range f() {
		ch <- prometheus.MustNewConstMetric(rejectionsDesc, prometheus.CounterValue, float64(n), kind)
	}
}

// WatchRejections exports the rate limits' refusals by kind.
func (m *Metrics) WatchRejections(counts func() map[string]int64) {
	m.Registry.MustRegister(rejectionsCollector(counts))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// CacheStats is one cache's counters, as the cache package keeps them.
type CacheStats struct {
	Name                    string
	Hits, Misses, Evictions uint64
	Entries                 int
	Bytes                   uint64
}

var (
	cacheEventsDesc = prometheus.NewDesc("latchkey_cache_events_total",
		"Cache hits, misses and evictions (for size) by cache.", []string{"cache", "event"}, nil)
	cacheEntriesDesc = prometheus.NewDesc("latchkey_cache_entries",
		"Entries held by each cache (fresh or not yet collected).", []string{"cache"}, nil)
	cacheBytesDesc = prometheus.NewDesc("latchkey_cache_bytes",
		"Estimated bytes held by each cache bounded by size.", []string{"cache"}, nil)
)

// cacheCollector reads the caches' own counters at scrape time, so that a
// cache hit costs one atomic add, not a metric lookup.
type cacheCollector func() []CacheStats

func (f cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheEventsDesc
	ch <- cacheEntriesDesc
	ch <- cacheBytesDesc
}

func (f cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range f() {
		ch <- prometheus.MustNewConstMetric(cacheEventsDesc, prometheus.CounterValue, float64(s.Hits), s.Name, "hit")
		ch <- prometheus.MustNewConstMetric(cacheEventsDesc, prometheus.CounterValue, float64(s.Misses), s.Name, "miss")
		ch <- prometheus.MustNewConstMetric(cacheEventsDesc, prometheus.CounterValue, float64(s.Evictions), s.Name, "eviction")
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(s.Entries), s.Name)
		if s.Bytes > 0 {
			ch <- prometheus.MustNewConstMetric(cacheBytesDesc, prometheus.GaugeValue, float64(s.Bytes), s.Name)
		}
	}
}

// WatchPool exports a database/sql pool's figures (open, in use, idle,
// waits and their total time, connections closed for idleness or age) as
// go_sql_*{db_name="name"}, read at scrape time.
func (m *Metrics) WatchPool(name string, db *sql.DB) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// WatchCaches exports the counters stats returns.
func (m *Metrics) WatchCaches(stats func() []CacheStats) {
	m.Registry.MustRegister(cacheCollector(stats))
}

// WatchEventDrops exports how many runtime events (a cap reached, a new
// activation) a full queue dropped.
func (m *Metrics) WatchEventDrops(dropped func() int64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "latchkey_runtime_events_dropped_total", Help: "Runtime events dropped because their queue was full.",
	}, func() float64 { return float64(dropped()) }))
}

// RateLimitStats are the shared rate limits' counters (with --redis-url).
type RateLimitStats struct {
	RedisUp bool
	// Shared counts decisions made on Redis, Fallback those made on the
	// node because Redis was unreachable, Outages the times it became so.
	Shared, Fallback, Outages int64
	// LiveNodes is how many nodes the heartbeats count: the divisor of
	// every limit during an outage.
	LiveNodes int
}

var (
	rlUpDesc = prometheus.NewDesc("latchkey_ratelimit_redis_up",
		"1 while rate limits are shared on Redis, 0 while it is unreachable and each node allows its share.", nil, nil)
	rlDecisionsDesc = prometheus.NewDesc("latchkey_ratelimit_decisions_total",
		"Rate-limit decisions by where they were made: redis (shared) or fallback (this node, Redis unreachable).", []string{"backend"}, nil)
	rlOutagesDesc = prometheus.NewDesc("latchkey_ratelimit_redis_outages_total",
		"Times Redis became unreachable and rate limits fell back to each node's share.", nil, nil)
	rlNodesDesc = prometheus.NewDesc("latchkey_ratelimit_live_nodes",
		"Nodes seen alive by their database heartbeats; each allows limit ÷ this while Redis is unreachable.", nil, nil)
)

// rateLimitCollector reads the limiter's atomic counters at scrape time,
// so that a decision costs no metric lookup.
type rateLimitCollector func() RateLimitStats

func (f rateLimitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rlUpDesc
	ch <- rlDecisionsDesc
	ch <- rlOutagesDesc
	ch <- rlNodesDesc
}

func (f rateLimitCollector) Collect(ch chan<- prometheus.Metric) {
	s := f()
	up := 0.0
	if s.RedisUp {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(rlUpDesc, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(rlDecisionsDesc, prometheus.CounterValue, float64(s.Shared), "redis")
	ch <- prometheus.MustNewConstMetric(rlDecisionsDesc, prometheus.CounterValue, float64(s.Fallback), "fallback")
	ch <- prometheus.MustNewConstMetric(rlOutagesDesc, prometheus.CounterValue, float64(s.Outages))
	ch <- prometheus.MustNewConstMetric(rlNodesDesc, prometheus.GaugeValue, float64(s.LiveNodes))
}

// WatchRateLimits exports the shared rate limits' counters.
func (m *Metrics) WatchRateLimits(stats func() RateLimitStats) {
	m.Registry.MustRegister(rateLimitCollector(stats))
}
