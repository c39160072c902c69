package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisTimeout bounds one decision made on Redis (connecting
// included): past it the request is decided locally, so a slow or lost
// Redis never holds requests for long.
const DefaultRedisTimeout = 100 * time.Millisecond

// DefaultProbeInterval is how often a node whose Redis is down checks
// whether it answers again.
const DefaultProbeInterval = time.Second

// RedisConfig configures the shared backend.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://… (TLS).
	URL string
	// Prefix starts every key, so that several instances (or tests) can
	// share one Redis. Empty means "latchkey:".
	Prefix string
	// Timeout bounds one decision; 0 means DefaultRedisTimeout.
	Timeout time.Duration
	// ProbeInterval is how often an unreachable Redis is tried again; 0
	// means DefaultProbeInterval.
	ProbeInterval time.Duration
	// Logger receives one line when Redis becomes unreachable and one
	// when it answers again; nil means slog.Default().
	Logger *slog.Logger
}

// Redis counts the fixed windows of every node in one Redis, so that a
// limit holds across the cluster. A decision is one Lua script call, at
// most one round trip (concurrent decisions share one, see flush): it
// reads the count, refuses at the limit (a refused request is not counted)
// and otherwise increments it, setting the key's expiry on its first use.
// The window's start is part of the key, so a window never has to be
// reset and nodes agree on it as far as their clocks agree.
//
// When Redis fails or times out, the Limiter decides locally instead (see
// Limiter.Allow) and Redis stops being asked: a background probe pings it
// until it answers, then decisions go back to it.
type Redis struct {
	client   *redis.Client
	prefix   string
	timeout  time.Duration
	interval time.Duration
	log      *slog.Logger

	queue   chan *call
	up      atomic.Bool
	probing atomic.Bool // a probe goroutine runs
	closed  chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	shared, fallback, outages atomic.Int64
}

// allowScript decides one request. KEYS[1] is the window's key; ARGV[1]
// the limit, ARGV[2] in how many milliseconds the key may be forgotten (a
// duration, not a time: Redis's clock and the nodes' need not agree). It
// returns the count after the decision, negated when refused.
var allowScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  return -n
end
n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n
`)

// NewRedis returns a shared backend for cfg.URL. It does not connect:
// the first decision does, and a Redis that is not there yet is handled
// like one that went away.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = timeout
	}
	// One attempt per decision: a retry would only make the request wait
	// longer before the local fallback decides it.
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	opt.PoolTimeout = timeout
	opt.DisableIdentity = true
	if opt.Protocol == 0 {
		// RESP2 carries integer replies as well as RESP3, and spares every
		// reply the client's check for RESP3 push notifications (a tenth
		// of a decision's CPU in a profile).
		opt.Protocol = 2
	}
	r := &Redis{client: redis.NewClient(opt), prefix: cfg.Prefix, timeout: timeout, interval: cfg.ProbeInterval,
		log: cfg.Logger, closed: make(chan struct{}), queue: make(chan *call, 1024)}
	if r.prefix == "" {
		r.prefix = "latchkey:"
	}
	if r.interval <= 0 {
		r.interval = DefaultProbeInterval
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.up.Store(true)
	for range flushers {
		r.wg.Go(r.flush)
	}
	return r, nil
}

// Up reports whether decisions are made on Redis (true until a call has
// failed, and again once a probe succeeds).
func (r *Redis) Up() bool { return r.up.Load() }

// RedisStats are the shared backend's counters.
type RedisStats struct {
	Up bool
	// Shared counts decisions made on Redis, Fallback those made locally
	// because Redis was down, Outages the times it went down.
	Shared, Fallback, Outages int64
}

// Stats returns the counters.
func (r *Redis) Stats() RedisStats {
	return RedisStats{Up: r.up.Load(), Shared: r.shared.Load(), Fallback: r.fallback.Load(), Outages: r.outages.Load()}
}

// key names key's window starting at start.
func (r *Redis) key(key Key, start time.Time) string {
	b := make([]byte, 0, len(r.prefix)+64)
	b = append(b, r.prefix...)
	b = append(b, "rl:"...)
	b = append(b, key.Kind...)
	b = append(b, ':')
	b = strconv.AppendInt(b, key.ID, 10)
	b = append(b, ':')
	if key.Addr.IsValid() {
		b = key.Addr.AppendTo(b)
	}
	b = append(b, ':')
	b = strconv.AppendInt(b, start.Unix()/int64(Window/time.Second), 10)
	return string(b)
}

// allow decides one request on Redis; ok is false when Redis could not
// decide (down, failed or too slow), and the caller decides locally.
func (r *Redis) allow(key Key, limit int, now, start time.Time) (count int, allowed, ok bool) {
	if !r.up.Load() {
		r.fallback.Add(1)
		return 0, false, false
	}
	// The key outlives its window by one more, for nodes whose clocks lag.
	c := &call{key: r.key(key, start), limit: limit, ttl: start.Add(2 * Window).Sub(now).Milliseconds(), done: make(chan struct{})}
	t := time.NewTimer(r.timeout)
	defer t.Stop()
	select {
	case r.queue <- c:
	case <-t.C:
		return r.failed(fmt.Errorf("decisions queued for Redis did not move within %v", r.timeout))
	}
	select {
	case <-c.done:
	case <-t.C:
		// Decided locally now; if Redis still runs the call, it counts one
		// request this node also counts: over-counting, never under.
		return r.failed(fmt.Errorf("no answer within %v", r.timeout))
	}
	if c.err != nil {
		return r.failed(c.err)
	}
	r.shared.Add(1)
	if c.n < 0 {
		return int(-c.n), false, true
	}
	return int(c.n), true, true
}

func (r *Redis) failed(err error) (int, bool, bool) {
	r.down(err)
	r.fallback.Add(1)
	return 0, false, false
}

// call is one decision waiting for its batch.
type call struct {
	key   string
	limit int
	ttl   int64 // milliseconds
	n     int64
	err   error
	done  chan struct{} // closed when n or err is set
}

// Batching: decisions made at the same moment travel together, as one
// pipeline (one write and one read on each side) of independent script
// calls, each atomic on its own. Under load this costs Redis and the node
// far fewer system calls than a round trip each; a lone decision goes at
// once, alone. flushers batches may be in flight at a time.
const (
	flushers = 4
	maxBatch = 128
)

func (r *Redis) flush() {
	batch := make([]*call, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case c := <-r.queue:
			batch = append(batch, c)
		case <-r.closed:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case c := <-r.queue:
				batch = append(batch, c)
			default:
				break more
			}
		}
		r.exec(batch)
	}
}

// exec runs a batch: EVALSHA for each decision, and when Redis no longer
// has the script (it restarted), the script loaded and the batch run
// again: a NOSCRIPT reply means nothing ran.
func (r *Redis) exec(batch []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	cmds, err := r.run(ctx, batch)
	if isNoScript(err) {
		if err = allowScript.Load(ctx, r.client).Err(); err == nil {
			cmds, err = r.run(ctx, batch)
		}
	}
	for i, c := range batch {
		if len(cmds) == len(batch) {
			// Each command carries its own reply or error (a connection
			// lost midway sets it on every command).
			c.n, c.err = cmds[i].(*redis.Cmd).Int64()
		} else {
			c.err = err
		}
		close(c.done)
	}
}

func (r *Redis) run(ctx context.Context, batch []*call) ([]redis.Cmder, error) {
	return r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range batch {
			allowScript.EvalSha(ctx, p, []string{c.key}, c.limit, c.ttl)
		}
		return nil
	})
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// down records that Redis failed: the first failure of an outage logs,
// counts the outage and starts the probe.
func (r *Redis) down(err error) {
	if !r.up.CompareAndSwap(true, false) {
		return
	}
	r.outages.Add(1)
	r.log.Warn("Redis is unreachable: rate limits are enforced per node, each allowing its share, until it answers again",
		"err", describe(err, r.timeout))
	r.startProbe()
}

func (r *Redis) startProbe() {
	if !r.probing.CompareAndSwap(false, true) {
		return
	}
	select {
	case <-r.closed:
		r.probing.Store(false)
		return
	default:
	}
	r.wg.Go(func() {
		defer r.probing.Store(false)
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-r.closed:
				return
			case <-t.C:
				if r.Probe(context.Background()) {
					return
				}
			}
		}
	})
}

// Probe pings Redis and, when it answers, makes decisions on it again. It
// reports whether Redis is up. The background probe calls it; tests may
// too, to recover without waiting for the ticker.
func (r *Redis) Probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		return r.up.Load()
	}
	if r.up.CompareAndSwap(false, true) {
		r.log.Info("Redis answers again: rate limits are shared across the cluster")
	}
	return true
}

// Close stops the probe and closes the connections.
func (r *Redis) Close() error {
	r.once.Do(func() { close(r.closed) })
	r.wg.Wait()
	return r.client.Close()
}

// describe says why a call failed; a timeout reads as one rather than as
// go-redis's wrapped context error.
func describe(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within " + timeout.String()
	}
	return err.Error()
}
