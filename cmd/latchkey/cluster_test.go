package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/ratelimit/redistest"
)

// clusterNode is one `latchkey serve` of the cluster.
type clusterNode struct {
	cmd  *exec.Cmd
	url  string // http://host:port
	log  *nodeLog
	dead bool
}

// cluster is three nodes on one PostgreSQL and one Redis of the test's
// own, behind a round-robin proxy, with an owner's API key and a paid
// project.
type cluster struct {
	t       *testing.T
	pg      *pgServer
	redis   *redistest.Server
	nodes   []*clusterNode
	proxy   string // http://host:port
	rr      *roundRobin
	owner   string // the owner's API key
	project int64
}

// keyLimit is the per-minute limit of the keys whose limits are checked,
// and limitSlack how far over it the cluster may go in one window.
const (
	keyLimit   = 600
	limitSlack = 12
)

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, pg: startPostgres(t), redis: redistest.Start(t)}
	env := []string{
		"LATCHKEY_DATABASE_URL=" + c.pg.URL(),
		"LATCHKEY_REDIS_URL=" + c.redis.URL(),
		"LATCHKEY_SECRET_KEY=cluster-test-secret-0123456789abcdef0123456789",
		"LATCHKEY_PASSWORD_COST=4",
		// The owner's key drives the load: far from its limit. The keys
		// whose limits are checked set their own (keyLimit).
		"LATCHKEY_RATE_LIMIT=60000",
		// Every client is 127.0.0.1: the failures the test provokes
		// (revoked keys and licenses) must not spend the address's budget.
		"LATCHKEY_IP_RATE_LIMIT=1000000",
		// Likewise the licenses validated under load: on a fast machine
		// four clients on one license pass the default 6000/min, and a
		// node alone in a Redis outage keeps only its share of that.
		"LATCHKEY_LICENSE_RATE_LIMIT=1000000",
	}
	// The first command migrates the database; the nodes then start on
	// an up-to-date schema.
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(append(os.Environ(), env...), "LATCHKEY_DATA_DIR="+filepath.Join(t.TempDir(), "admin"))
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("latchkey %v: %v\n%s", args, err, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	admin("admin", "create-user", "--email", "owner@cluster.test", "--password", "correct horse battery", "--org", "Cluster")
	c.owner = admin("admin", "create-key", "--email", "owner@cluster.test", "--name", "load")
	var addrs []string
	for i := range 3 {
		cmd, addr, log := serve(t, append(env, fmt.Sprintf("LATCHKEY_DATA_DIR=%s/node%d", t.TempDir(), i)))
		c.nodes = append(c.nodes, &clusterNode{cmd: cmd, url: "http://" + addr, log: log})
		addrs = append(addrs, addr)
	}
	proxy, rr := startProxy(t, addrs)
	c.proxy, c.rr = proxy.URL, rr
	for i := range c.nodes {
		c.waitReady(i, `"listener":"up"`, 30*time.Second)
	}
	c.project = c.must(c.proxy, "POST", "/api/v1/project", c.owner, map[string]any{"name": "Cluster", "has_paid": true}).id()
	return c
}

// must is call for steps that must succeed (2xx).
func (c *cluster) must(base, method, path, apiKey string, body any) reply {
	c.t.Helper()
	r, err := call(base, method, path, apiKey, body)
	if err != nil || r.status/100 != 2 {
		c.t.Fatalf("%s %s%s: %v %v\n%s", method, base, path, r, err, c.logs())
	}
	return r
}

// logs is the end of every node's log, for failure messages.
func (c *cluster) logs() string {
	var b strings.Builder
	for i, n := range c.nodes {
		lines := strings.Split(strings.TrimSpace(n.log.String()), "\n")
		fmt.Fprintf(&b, "--- node %d (last %d lines)\n%s\n", i, min(len(lines), 15), strings.Join(lines[max(len(lines)-15, 0):], "\n"))
	}
	return b.String()
}

var internalError = regexp.MustCompile(`msg="internal error" err="((?:[^"\\]|\\.)*)".* route="([^"]*)"`)

// loopbackPort is what differs between otherwise equal errors.
var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// internalErrors lists the distinct internal errors the nodes logged, by
// route, with how many times each was logged (on all nodes together).
func (c *cluster) internalErrors() string {
	seen := map[string]int{}
	var order []string
	for _, n := range c.nodes {
		for _, m := range internalError.FindAllStringSubmatch(n.log.String(), -1) {
			k := m[2] + ": " + loopbackPort.ReplaceAllString(m[1], "127.0.0.1:…")
			if seen[k] == 0 {
				order = append(order, k)
			}
			seen[k]++
		}
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "  %dx %s\n", seen[k], k)
	}
	return b.String()
}

// live returns the nodes not killed.
func (c *cluster) live() []*clusterNode {
	var out []*clusterNode
	for _, n := range c.nodes {
		if !n.dead {
			out = append(out, n)
		}
	}
	return out
}

// readyz returns node i's /readyz answer.
func (c *cluster) readyz(i int) reply {
	r, _ := call(c.nodes[i].url, "GET", "/readyz", "", nil) // a failed call is simply not ready
	return r
}

// waitFor polls cond until it holds, failing the test (with the nodes'
// logs) after limit; it returns how long it took.
func (c *cluster) waitFor(limit time.Duration, what func() string, cond func() bool) time.Duration {
	c.t.Helper()
	took, ok := poll(limit, cond)
	if !ok {
		c.t.Fatalf("%s: not within %v\n%s", what(), limit, c.logs())
	}
	return took
}

// waitReady waits until node i's /readyz is 200 and says want.
func (c *cluster) waitReady(i int, want string, limit time.Duration) time.Duration {
	c.t.Helper()
	var last reply
	return c.waitFor(limit, func() string { return fmt.Sprintf("node %d /readyz 200 with %s (last: %v)", i, want, last) }, func() bool {
		last = c.readyz(i)
		return last.status == 200 && strings.Contains(string(last.body), want)
	})
}

// text is a fixed description for waitFor.
func text(s string) func() string { return func() string { return s } }

// newKey creates an API key limited to keyLimit requests a minute.
func (c *cluster) newKey(name string) (id int64, secret string) {
	c.t.Helper()
	r := c.must(c.nodes[0].url, "POST", "/api/v1/api-keys", c.owner, map[string]any{"name": name, "rate_limit_per_minute": keyLimit})
	return r.id(), r.data["secret"].(string)
}

// newLicense creates a license in the cluster's project.
func (c *cluster) newLicense(fields map[string]any) (id int64, key string) {
	c.t.Helper()
	r := c.must(c.nodes[0].url, "POST", fmt.Sprintf("/api/v1/project/%d/licenses", c.project), c.owner, fields)
	return r.id(), r.data["uuid"].(string)
}

func validate(base, license string) (reply, error) {
	return call(base, "POST", "/api/v1/project/has-paid?action=check_project", "", map[string]any{},
		"X-LICENSE-KEY", license, "X-Devpayr-Domain", "shop.example.com")
}

// alignWindow waits, when the current rate-limit window (a wall-clock
// minute) ends within need, for the next one: a burst must fit in one
// window to be judged against one limit.
func alignWindow(need time.Duration) {
	now := time.Now()
	if end := now.Truncate(ratelimit.Window).Add(ratelimit.Window); end.Sub(now) < need {
		time.Sleep(end.Sub(now) + 50*time.Millisecond)
	}
}

// burst sends n requests with secret over clients goroutines, to the
// bases in turn, and returns how many passed in each rate-limit window
// (by X-RateLimit-Reset) and how many were refused. Every 429 must carry
// Retry-After and X-RateLimit-*; any other status fails the test.
func (c *cluster) burst(bases []string, secret string, n, clients int) (admitted map[string]int, refused int) {
	c.t.Helper()
	alignWindow(8 * time.Second)
	var mu sync.Mutex
	admitted = map[string]int{}
	var problems []string
	parallel(clients, n, func(i int) {
		r, err := call(bases[i%len(bases)], "GET", "/api/v1/projects", secret, nil)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case r.status == 200:
			admitted[r.header.Get("X-RateLimit-Reset")]++
		case r.status == 429:
			refused++
			for _, h := range []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
				if r.header.Get(h) == "" {
					problems = append(problems, "429 without "+h)
				}
			}
			if got := r.header.Get("X-RateLimit-Limit"); got != strconv.Itoa(keyLimit) {
				problems = append(problems, "429 with X-RateLimit-Limit "+got)
			}
		default:
			problems = append(problems, r.String())
		}
	})
	if len(problems) > 0 {
		c.t.Fatalf("burst: %d unexpected answers, e.g. %q\n%s", len(problems), problems[:min(len(problems), 5)], c.logs())
	}
	return admitted, refused
}

// checkShared fires more than keyLimit requests with a fresh key through
// the proxy and checks that the cluster admitted keyLimit to keyLimit +
// limitSlack of them in the window.
func (c *cluster) checkShared(name string) {
	c.t.Helper()
	_, secret := c.newKey(name)
	admitted, refused := c.burst([]string{c.proxy}, secret, keyLimit+200, 16)
	if len(admitted) != 1 || refused == 0 {
		c.t.Fatalf("admitted per window %v, refused %d: want one window, filled", admitted, refused)
	}
	for _, n := range admitted {
		if n < keyLimit || n > keyLimit+limitSlack {
			c.t.Fatalf("the cluster admitted %d requests of a %d/min key in one window (refused %d), want %d to %d",
				n, keyLimit, refused, keyLimit, keyLimit+limitSlack)
		}
		c.t.Logf("%s: %d admitted, %d refused", name, n, refused)
	}
}

// liveNodes is node i's count of live nodes (its divisor of every limit
// while Redis is down), from its metrics.
func (c *cluster) liveNodes(i int) int {
	c.t.Helper()
	r, err := call(c.nodes[i].url, "GET", "/metrics", "", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "latchkey_ratelimit_live_nodes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	c.t.Fatalf("node %d has no latchkey_ratelimit_live_nodes metric", i)
	return 0
}

// checkRevocation revokes a key and a license through node 0, both used
// on every node just before, and checks that the next requests with them
// are refused at every node.
func (c *cluster) checkRevocation(round string) {
	c.t.Helper()
	keyID, secret := c.newKey("revoked " + round)
	licID, license := c.newLicense(map[string]any{"title": "revoked " + round})
	use := func(n *clusterNode) (int, int) {
		k, err := call(n.url, "GET", "/api/v1/projects", secret, nil)
		if err != nil {
			c.t.Fatal(err)
		}
		l, err := validate(n.url, license)
		if err != nil {
			c.t.Fatal(err)
		}
		return k.status, l.status
	}
	for i, n := range c.live() {
		for range 2 { // the second answer comes from the node's caches
			if k, l := use(n); k != 200 || l != 200 {
				c.t.Fatalf("round %s, node %d before revocation: key %d, license %d\n%s", round, i, k, l, c.logs())
			}
		}
	}
	c.must(c.nodes[0].url, "POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke", keyID), c.owner, nil)
	c.must(c.nodes[0].url, "POST", fmt.Sprintf("/api/v1/project/%d/licenses/%d/revoke", c.project, licID), c.owner, nil)
	// The revoking node answers once every node has acknowledged a
	// barrier sent after the write, so the very next request anywhere is
	// refused.
	for i, n := range c.live() {
		if k, l := use(n); k != 403 || l != 403 {
			c.t.Errorf("round %s, node %d: the very next requests after the revocations through node 0: key %d, license %d (want 403, 403)\n%s",
				round, i, k, l, c.logs())
		}
	}
}

// TestCluster runs three nodes on one PostgreSQL and one Redis, behind a
// round-robin proxy that retries a request no node answered, and checks
// what a cluster promises: shared limits, exact caps, revocation at every
// node, and outages of Redis, of PostgreSQL and of a node that neither
// fail requests with 500 nor lose acknowledged writes. The subtests run in
// order, the destructive ones last.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := startCluster(t)
	t.Logf("cluster up in %v", time.Since(start).Round(time.Millisecond))

	t.Run("KeyLimitShared", func(t *testing.T) {
		c.t = t
		c.checkShared("shared limit")
	})

	t.Run("DailyCapExactUnderConcurrency", func(t *testing.T) {
		c.t = t
		_, license := c.newLicense(map[string]any{"title": "a hundred a day", "max_usage_per_day": 100})
		var passed, capped atomic.Int64
		tl := newTally()
		parallel(64, 300, func(i int) {
			r, err := validate(c.proxy, license)
			switch {
			case err == nil && r.status == 200:
				passed.Add(1)
			case err == nil && r.status == 429 && strings.Contains(string(r.body), "USAGE_EXCEEDED"):
				capped.Add(1)
			default:
				tl.add("has-paid", r, err, true)
			}
		})
		if passed.Load() != 100 || capped.Load() != 200 {
			t.Fatalf("a cap of 100 admitted %d and refused %d of 300 (other answers: %v)\n%s", passed.Load(), capped.Load(), tl, c.logs())
		}
	})

	t.Run("RevocationAtEveryNode", func(t *testing.T) {
		c.t = t
		for round := range 5 {
			c.checkRevocation(strconv.Itoa(round))
		}
	})

	t.Run("RedisOutage", func(t *testing.T) {
		c.t = t
		// Load on both kinds of limit: per API key and per license.
		_, license := c.newLicense(map[string]any{"title": "validated during the Redis outage"})
		tl := newTally()
		stop := load(4, func(_, i int) {
			if i%2 == 0 {
				r, err := call(c.proxy, "GET", "/api/v1/projects", c.owner, nil)
				tl.add("GET /projects", r, err, err != nil || r.status != 200)
			} else {
				r, err := validate(c.proxy, license)
				tl.add("has-paid", r, err, err != nil || r.status != 200)
			}
		})
		defer stop()
		// Each node counts the live nodes at its heartbeats: until its
		// first beat after the last node started, it counts fewer.
		for i := range c.nodes {
			c.waitFor(3*app.HeartbeatInterval, func() string { return fmt.Sprintf("node %d counts %d live nodes", i, c.liveNodes(i)) },
				func() bool { return c.liveNodes(i) == len(c.nodes) })
		}
		c.redis.Stop()
		for i := range c.nodes {
			c.waitReady(i, `"redis":"down"`, 10*time.Second)
		}
		// Each node alone admits its share of the key's limit.
		_, secret := c.newKey("during the outage")
		share := int(math.Ceil(float64(keyLimit) / float64(len(c.nodes))))
		for i, n := range c.nodes {
			admitted, refused := c.burst([]string{n.url}, secret, share+100, 8)
			total := 0
			for _, a := range admitted {
				total += a
			}
			t.Logf("node %d alone: %d admitted (its share), %d refused", i, total, refused)
			if len(admitted) != 1 || total != share || refused != 100 {
				t.Errorf("node %d alone admitted %v (refused %d) of a %d/min key, want its share %d", i, admitted, refused, keyLimit, share)
			}
		}
		c.redis.Start()
		for i := range c.nodes {
			c.waitReady(i, `"redis":"up"`, 10*time.Second)
		}
		c.checkShared("shared again")
		stop()
		if bad := tl.where(func(st int) bool { return st != 200 }); bad > 0 || tl.errs > 0 {
			t.Fatalf("requests failed during the Redis outage: %v\n%s", tl, c.logs())
		}
		t.Logf("load during the outage: %v", tl)
	})

	t.Run("PostgresRestart", func(t *testing.T) {
		c.t = t
		var down atomic.Bool
		during, other := newTally(), newTally()
		write := fmt.Sprintf("/api/v1/project/%d/licenses", c.project)
		stop := load(8, func(client, i int) {
			wasDown := down.Load()
			tl := other
			if wasDown {
				tl = during
			}
			if i%2 == 0 {
				r, err := call(c.proxy, "POST", write, c.owner, map[string]any{"title": fmt.Sprintf("load %d-%d", client, i)})
				tl.add("POST licenses", r, err, err != nil || (r.status != 201 && !unavailable(r)))
			} else {
				r, err := call(c.proxy, "GET", write, c.owner, nil)
				tl.add("GET licenses", r, err, err != nil || (r.status != 200 && !unavailable(r)))
			}
			if wasDown {
				time.Sleep(20 * time.Millisecond) // fast failures: no need to spin
			}
		})
		defer stop()
		c.waitFor(10*time.Second, text("writes before the restart"), func() bool { return other.count("POST licenses", 201) >= 20 })
		c.pg.Stop()
		down.Store(true)
		for i := range c.nodes {
			var last reply
			c.waitFor(10*time.Second, func() string {
				return fmt.Sprintf("node %d /readyz 503, database and listener down (last: %v)", i, last)
			}, func() bool {
				last = c.readyz(i)
				return last.status == 503 && strings.Contains(string(last.body), `"database":"down"`) && strings.Contains(string(last.body), `"listener":"down"`)
			})
		}
		c.waitFor(10*time.Second, text("writes while PostgreSQL is down"), func() bool {
			return during.where(func(int) bool { return true })+during.errs >= 20
		})
		time.Sleep(1500 * time.Millisecond) // the outage
		c.pg.Start()
		down.Store(false)
		back := time.Now()
		for i, n := range c.nodes {
			c.waitReady(i, `"listener":"up"`, 10*time.Second)
			var last reply
			var lastErr error
			c.waitFor(10*time.Second-time.Since(back), func() string { return fmt.Sprintf("node %d writes again (last: %v %v)", i, last, lastErr) }, func() bool {
				last, lastErr = call(n.url, "POST", write, c.owner, map[string]any{"title": fmt.Sprintf("node %d after the restart", i)})
				return lastErr == nil && last.status == 201
			})
		}
		t.Logf("every node served again %v after PostgreSQL was back", time.Since(back).Round(time.Millisecond))
		stop()
		t.Logf("while down: %v", during)
		t.Logf("otherwise: %v", other)
		if n := during.count("POST licenses", 503); n == 0 {
			t.Errorf("no write was answered 503 while PostgreSQL was down")
		}
		bad := 0
		for _, tl := range []*tally{during, other} {
			bad += tl.unexpected + tl.errs
		}
		if bad > 0 {
			t.Errorf("%d answers around the restart were neither a success nor 503 UNAVAILABLE with Retry-After, or failed (%v; %v); the nodes logged:\n%s",
				bad, during, other, c.internalErrors())
		}
		// The listeners listen again: a revocation reaches every node
		// through them (their caches serve again, so nothing else would).
		c.checkRevocation("after the restart")
	})

	t.Run("NodeKilledUnderLoad", func(t *testing.T) {
		c.t = t
		var mu sync.Mutex
		var acked []int64
		tl := newTally()
		path := fmt.Sprintf("/api/v1/project/%d/licenses", c.project)
		retriesBefore := c.rr.retries.Load()
		stop := load(16, func(client, i int) {
			r, err := call(c.proxy, "POST", path, c.owner, map[string]any{"title": fmt.Sprintf("kill %d-%d", client, i)})
			ok := err == nil && r.status == 201 && r.id() > 0
			tl.add("POST licenses", r, err, !ok)
			if ok {
				mu.Lock()
				acked = append(acked, r.id())
				mu.Unlock()
			}
		})
		defer stop()
		c.waitFor(20*time.Second, text("creates before the kill"), func() bool { return tl.count("POST licenses", 201) >= 50 })
		victim := c.nodes[2]
		if err := victim.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = victim.cmd.Wait() // killed: the error says so
		victim.dead = true
		killedAt := tl.count("POST licenses", 201)
		c.waitFor(20*time.Second, text("creates after the kill"), func() bool { return tl.count("POST licenses", 201) >= killedAt+100 })
		stop()
		t.Logf("creates: %v; proxy retries %d; connections the proxy had opened to the killed node %d", tl, c.rr.retries.Load()-retriesBefore, c.rr.backends[2].conns.Load())
		// Only creates sent to the killed node over a connection it had
		// accepted may fail: their answers were lost (502 from the proxy,
		// which does not send a create twice), one per connection at most.
		lost := tl.count("POST licenses", http.StatusBadGateway)
		conns := c.rr.backends[2].conns.Load()
		if bad := tl.where(func(st int) bool { return st != 201 && st != http.StatusBadGateway }); bad > 0 || tl.errs > 0 || int64(lost) > conns {
			t.Errorf("creates failed around the kill beyond the answers lost with the node's %d connections: %v", conns, tl)
		}
		if c.rr.retries.Load() == retriesBefore {
			t.Error("the proxy retried nothing: the kill was not under load")
		}
		missing := 0
		for _, id := range acked {
			r, err := call(c.nodes[0].url, "GET", fmt.Sprintf("%s/%d", path, id), c.owner, nil)
			if err != nil || r.status != 200 || r.id() != id {
				missing++
				t.Errorf("acknowledged license %d: %v %v", id, r, err)
			}
		}
		t.Logf("%d acknowledged creates, %d missing afterwards", len(acked), missing)
	})
	t.Logf("TestCluster took %v", time.Since(start).Round(time.Millisecond))
}

// unavailable reports whether r is the API's answer while the database is
// away: 503 UNAVAILABLE, with Retry-After.
func unavailable(r reply) bool {
	return r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "" &&
		strings.Contains(string(r.body), `"code":"UNAVAILABLE"`)
}
