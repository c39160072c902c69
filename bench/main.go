// Command bench measures Latchkey against the physical ceiling of the
// machine: it builds and starts `latchkey serve` on a fresh, seeded
// database and a bare net/http server (bench/ceiling) that answers the same
// routes with bodies of the same size, drives both with the same load
// generator in alternating rounds, and prints throughput, latency, errors,
// the Latchkey ÷ ceiling ratio, peak memory, and revocation-to-refusal
// times. See docs/benchmarks.md.
//
//	go run ./bench                                  # SQLite, 100,000 licenses, 10,000 keys
//	go run ./bench -licenses 1000000 -keys 100000
//	go run ./bench -database-url postgres://…       # PostgreSQL (also measures two nodes)
//	go run ./bench -database-url postgres://… -nodes 2 -only validate-uncapped
//	                                                # total of two nodes behind a proxy
//	go run ./bench -smoke                           # a few seconds, for tests
//	go run ./bench -only flood                      # memory under 2,000,000 invented credentials
//
// With -nodes N (N ≥ 2, PostgreSQL only) it starts N `latchkey serve`
// processes on the one database, with the same secret, each with its own
// data directory and port, and a round-robin reverse proxy (bench/proxy) in
// front of them; the load goes through the proxy. The ceiling rounds then
// measure twice: one ceiling server direct, and the same proxy in front of
// N ceiling servers (the proxy's own ceiling). The report shows the three
// req/s and latchkey-through-the-proxy ÷ proxy-ceiling. Every scenario
// runs through the proxy (the writes land in the one shared database); the
// revocation-to-refusal rows use node 1 and node 2 directly, and the flood
// and -profile measure node 1 directly.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	licenses, keys, rounds, conc int
	wideKeys                     int
	floodN                       int
	duration                     time.Duration
	dbURL, only, out, profile    string
	redisURL                     string
	loadGen                      string
	smoke                        bool
	nodes                        int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.licenses, "licenses", 100_000, "licenses to seed into the big project")
	fs.IntVar(&o.keys, "keys", 10_000, "API keys to seed (apikey-read walks them)")
	fs.IntVar(&o.wideKeys, "wide-keys", 100_000, "API keys the apikey-read-wide scenario walks (seeded beyond -keys when larger)")
	fs.StringVar(&o.loadGen, "load", "", "load generator: wrk or go (default: wrk when it is on PATH, else go); scenarios that need every request new use go either way")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per scenario (each: ceiling, then latchkey)")
	fs.IntVar(&o.conc, "concurrency", 32, "concurrent keep-alive connections")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one run")
	fs.StringVar(&o.dbURL, "database-url", "", "postgres://… to benchmark PostgreSQL (the database must be empty)")
	fs.StringVar(&o.redisURL, "redis-url", "", "redis://… to run latchkey with its rate limits shared in Redis (compare with a run without)")
	fs.StringVar(&o.only, "only", "", "comma-separated scenario names to run (default: all)")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&o.profile, "profile", "", "save CPU and allocation profiles of latchkey for each scenario into this directory\n"+
		"(taken in an extra round after the measured ones, so profiling does not skew the figures)")
	fs.IntVar(&o.floodN, "flood", 1_000_000, "requests of each kind (license keys, API keys) in the flood scenario")
	fs.BoolVar(&o.smoke, "smoke", false, "a few seconds with little data: checks that the benchmark works")
	fs.IntVar(&o.nodes, "nodes", 1, "latchkey serve processes on the one -database-url (2 or more need it), behind a round-robin reverse proxy\n"+
		"that the load goes through; the ceiling is then measured direct and through the same proxy in front of as many ceiling servers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.nodes < 1 {
		return fmt.Errorf("-nodes %d: at least 1", o.nodes)
	}
	if o.nodes > 1 && o.dbURL == "" {
		return fmt.Errorf("-nodes %d needs -database-url postgres://…: the nodes share one PostgreSQL database (a SQLite file belongs to one process)", o.nodes)
	}
	if o.smoke {
		o.licenses, o.keys, o.wideKeys, o.rounds, o.conc, o.duration, o.floodN = 2_000, 200, 400, 1, 4, 300*time.Millisecond, 2_000
	}
	var wrkBin string
	switch o.loadGen {
	case "":
		wrkBin, _ = exec.LookPath("wrk") // not found: the Go load generator
	case "wrk":
		var err error
		if wrkBin, err = exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("-load wrk: %w (Debian: apt-get install wrk)", err)
		}
	case "go":
	default:
		return fmt.Errorf("-load %q: wrk or go", o.loadGen)
	}
	if wrkBin != "" {
		o.loadGen = "wrk"
	} else {
		o.loadGen = "go"
	}
	logf := func(msg string, kv ...any) {
		fmt.Fprintf(stderr, "%s %s", time.Now().Format("15:04:05"), msg)
		for i := 0; i+1 < len(kv); i += 2 {
			fmt.Fprintf(stderr, " %v=%v", kv[i], kv[i+1])
		}
		fmt.Fprintln(stderr)
	}

	dir, err := os.MkdirTemp("", "latchkey-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // best effort: a temporary directory
	logf("building")
	lkBin, ceilBin, proxyBin, err := build(ctx, dir, o.nodes > 1)
	if err != nil {
		return err
	}

	// Seed through the store, before the server starts.
	secretValue := "benchmark-instance-secret-0123456789abcdef"
	key, _ := secret.FromString(secretValue)
	dataDir := filepath.Join(dir, "data")
	var st *store.Store
	backend := "sqlite"
	if o.dbURL != "" {
		backend = "postgres"
		st, err = postgres.Open(ctx, o.dbURL, time.Now, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dataDir, "latchkey.db"), time.Now)
	}
	if err != nil {
		return err
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close() // the migrate error is the one to report
		return err
	}
	logf("seeding", "backend", backend, "licenses", o.licenses, "keys", o.keys)
	data, err := seed(ctx, st, key, o.licenses, max(o.keys, o.wideKeys), logf)
	_ = st.Close() // seeded and committed: the server opens the database next
	if err != nil {
		return err
	}

	env := []string{"LATCHKEY_SECRET_KEY=" + secretValue, "LATCHKEY_DATA_DIR=" + dataDir}
	if o.dbURL != "" {
		env = append(env, "LATCHKEY_DATABASE_URL="+o.dbURL)
	}
	// Limits out of the way: the benchmark measures the work, not the 429s.
	limits := []string{"--rate-limit", "1000000000", "--max-key-rate-limit", "1000000000", "--license-rate-limit", "1000000000", "--ip-rate-limit", "1000000000"}
	// The debug listener serves profiles and lets the flood scenario force
	// a collection before it reads the heap.
	debugAddr, err := freeAddr()
	if err != nil {
		return err
	}
	debugBase := "http://" + debugAddr
	lkArgs := append(slices.Clone(limits), "--debug-addr", debugAddr, "--allow-insecure-webhooks")
	// The other nodes (-nodes): no debug listener, the rest the same.
	nodeArgs := append(slices.Clone(limits), "--allow-insecure-webhooks")
	if o.redisURL != "" {
		// Every limit decided in Redis (still far above the load: no 429s),
		// under a prefix of this run's own (the nodes share it).
		redisArgs := []string{"--redis-url", o.redisURL, "--redis-key-prefix", "bench:" + filepath.Base(dir) + ":"}
		lkArgs = append(lkArgs, redisArgs...)
		nodeArgs = append(nodeArgs, redisArgs...)
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	lk, err := startLatchkey(lkBin, env, lkArgs...)
	if err != nil {
		return err
	}
	defer lk.Stop()
	logf("latchkey listening", "addr", lk.Addr)
	// -nodes: the others, one after the other (each migrates at start),
	// then the proxy the load goes through.
	nodes := []*process{lk}
	lkBase := "http://" + lk.Addr
	for i := 2; i <= o.nodes; i++ {
		n, err := startLatchkey(lkBin, append(slices.Clone(env), "LATCHKEY_DATA_DIR="+filepath.Join(dir, fmt.Sprintf("node%d", i))), nodeArgs...)
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		defer n.Stop()
		nodes = append(nodes, n)
		logf("latchkey listening", "node", i, "addr", n.Addr)
	}
	if o.nodes > 1 {
		px, err := startProxy(proxyBin, nodes)
		if err != nil {
			return err
		}
		defer px.Stop()
		lkBase = "http://" + px.Addr
		logf("proxy to latchkey listening", "addr", px.Addr, "nodes", o.nodes)
	}

	scenarios := buildScenarios(data, o.keys)
	if o.only != "" {
		keep := strings.Split(o.only, ",")
		scenarios = slices.DeleteFunc(scenarios, func(s scenario) bool { return !slices.Contains(keep, s.Name) })
	}
	client := newClient(o.conc)
	var seq atomic.Int64
	// The ceiling answers each route with a body as long as Latchkey's.
	var routes []map[string]any
	for _, sc := range scenarios {
		body, status, err := sampleBody(ctx, client, lkBase, sc, &seq)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		routes = append(routes, map[string]any{"method": sc.Method, "prefix": sc.Prefix, "contains": sc.Contains, "status": status, "body": body})
	}
	routesFile := filepath.Join(dir, "routes.json")
	rb, _ := json.Marshal(routes)
	if err := os.WriteFile(routesFile, rb, 0o600); err != nil {
		return err
	}
	ceil, err := startCeiling(ceilBin, routesFile)
	if err != nil {
		return err
	}
	defer ceil.Stop()
	// -nodes: the same proxy in front of as many ceiling servers; the
	// rounds measure the ceiling direct (directBase) and through it.
	ceilBase, directBase := "http://"+ceil.Addr, ""
	ceilProcs, directProcs := []*process{ceil}, []*process(nil)
	if o.nodes > 1 {
		ceils := []*process{ceil}
		for range o.nodes - 1 {
			c, err := startCeiling(ceilBin, routesFile)
			if err != nil {
				return err
			}
			defer c.Stop()
			ceils = append(ceils, c)
		}
		px, err := startProxy(proxyBin, ceils)
		if err != nil {
			return err
		}
		defer px.Stop()
		ceilBase, directBase = "http://"+px.Addr, ceilBase
		ceilProcs, directProcs = ceils, []*process{ceil}
		logf("proxy to ceiling listening", "addr", px.Addr, "ceilings", o.nodes)
	}

	var wl *wrkLoader
	if wrkBin != "" {
		if wl, err = newWrkLoader(wrkBin, dir); err != nil {
			return err
		}
	}
	// measure runs one round of sc against base and the CPU time that
	// procs (the server processes behind it; with -nodes, the proxy is not
	// counted) spent during it.
	measure := func(base string, procs []*process, sc scenario, conc int, d time.Duration) result {
		before := cpuOf(procs)
		var r result
		if wl != nil && sc.Cycle > 0 {
			r = wl.load(ctx, base, sc, conc, d, &seq)
		} else {
			r = load(ctx, client, base, sc, conc, d, &seq)
		}
		after := cpuOf(procs)
		r.CPU = -1
		if before >= 0 && after >= 0 {
			r.CPU = after - before
		}
		return r
	}

	rep := report{backend: backend, opts: o}
	for _, sc := range scenarios {
		// Warm both servers (caches, connections, the JIT-less Go heap)
		// before anything is recorded.
		conc := o.conc
		if sc.Conc > 0 {
			conc = sc.Conc
		}
		if sc.Setup != nil {
			if err := sc.Setup(ctx, lkBase); err != nil {
				return fmt.Errorf("%s: %w", sc.Name, err)
			}
		}
		if directBase != "" {
			load(ctx, client, directBase, sc, conc, o.duration/2, &seq)
		}
		load(ctx, client, ceilBase, sc, conc, o.duration/2, &seq)
		for warmed := int64(0); ; {
			warmed += load(ctx, client, lkBase, sc, conc, o.duration/2, &seq).Requests
			if warmed >= int64(sc.Warm) || ctx.Err() != nil {
				break
			}
		}
		var lkRuns, ceilRuns, directRuns []result
		for r := range o.rounds {
			var d result
			if directBase != "" {
				d = measure(directBase, directProcs, sc, conc, o.duration)
				directRuns = append(directRuns, d)
			}
			c := measure(ceilBase, ceilProcs, sc, conc, o.duration)
			l := measure(lkBase, nodes, sc, conc, o.duration)
			ceilRuns, lkRuns = append(ceilRuns, c), append(lkRuns, l)
			if directBase != "" {
				logf(sc.Name, "round", r+1, "ceiling_direct_rps", int(d.RPS()), "proxy_ceiling_rps", int(c.RPS()), "latchkey_via_proxy_rps", int(l.RPS()),
					"errors", l.Errors+c.Errors+d.Errors)
				if d.FirstErr != "" {
					logf(sc.Name, "first direct ceiling error", d.FirstErr)
				}
			} else {
				logf(sc.Name, "round", r+1, "ceiling_rps", int(c.RPS()), "latchkey_rps", int(l.RPS()), "errors", l.Errors+c.Errors)
			}
			if l.FirstErr != "" {
				logf(sc.Name, "first latchkey error", l.FirstErr)
			}
			if c.FirstErr != "" {
				logf(sc.Name, "first ceiling error", c.FirstErr)
			}
		}
		rep.add(sc.Name, lkRuns, ceilRuns, directRuns)
		if o.profile != "" {
			// One more round of latchkey, not counted: its CPU profile and
			// the allocations made during it (a delta of the allocs profile).
			errs := make(chan error, 2)
			go func() {
				errs <- saveProfile(ctx, debugBase, "profile", filepath.Join(o.profile, sc.Name+".cpu.pprof"), o.duration)
			}()
			go func() {
				errs <- saveProfile(ctx, debugBase, "allocs", filepath.Join(o.profile, sc.Name+".allocs.pprof"), o.duration)
			}()
			measure(lkBase, nodes, sc, conc, o.duration)
			for range 2 {
				if err := <-errs; err != nil {
					logf(sc.Name, "profile", err)
				}
			}
		}
		for i, n := range nodes {
			// Each node's own figures, asked of it directly.
			name := sc.Name
			if len(nodes) > 1 {
				name = fmt.Sprintf("%s node=%d", sc.Name, i+1)
			}
			if rss, err := n.PeakRSS(); err == nil {
				logf(name, "peak_rss_mb", rss>>20)
			}
			if st, body, err := do(ctx, client, "GET", "http://"+n.Addr+"/metrics", nil, nil); err == nil && st == 200 {
				for line := range strings.SplitSeq(body, "\n") {
					if strings.HasPrefix(line, "latchkey_cache_events_total") || strings.HasPrefix(line, "latchkey_cache_invalidations_total") ||
						strings.HasPrefix(line, "latchkey_ratelimit_decisions_total") {
						logf(name, "metric", line)
					}
				}
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Revocation to refusal, on this node and (PostgreSQL) across two.
	if o.only == "" || strings.Contains(o.only, "revocation") {
		rep.revokeSame, err = revocationToRefusal(ctx, client, "http://"+lk.Addr, "http://"+lk.Addr, data, 5)
		if err != nil {
			return err
		}
		if len(nodes) > 1 {
			// Node 1 writes, node 2 validates, both directly.
			rep.revokePeer, err = revocationToRefusal(ctx, client, "http://"+lk.Addr, "http://"+nodes[1].Addr, data, 5)
			if err != nil {
				return err
			}
		} else if o.dbURL != "" {
			peer, err := startLatchkey(lkBin, append(env, "LATCHKEY_DATA_DIR="+filepath.Join(dir, "peer")), limits...)
			if err != nil {
				return err
			}
			rep.revokePeer, err = revocationToRefusal(ctx, client, "http://"+lk.Addr, "http://"+peer.Addr, data, 5)
			peer.Stop()
			if err != nil {
				return err
			}
		}
	}
	// Invented credentials from one address, with IP throttling off: what
	// bounds memory is the caches' own bounds, not the 429s.
	if o.only == "" || strings.Contains(o.only, "flood") {
		logf("flood", "requests", 2*o.floodN)
		rep.flood, err = flood(ctx, client, "http://"+lk.Addr, debugBase, o.floodN, o.conc)
		if err != nil {
			return err
		}
		rep.errors += rep.flood.Errors
		logf("flood", "live_before_mb", rep.flood.LiveBefore>>20, "live_after_mb", rep.flood.LiveAfter>>20, "peak_inuse_mb", rep.flood.PeakInUse>>20,
			"errors", rep.flood.Errors, "first_error", rep.flood.FirstErr)
	}
	rep.rss, _ = lk.PeakRSS()
	for _, n := range nodes[1:] {
		rss, _ := n.PeakRSS() // unreadable: shown as 0
		rep.nodeRSS = append(rep.nodeRSS, rss)
	}
	if o.profile != "" {
		// What the server holds after the run: the heap in use.
		st, body, err := do(ctx, client, "GET", debugBase+"/debug/pprof/heap", nil, nil)
		if err == nil && st == 200 {
			_ = os.WriteFile(filepath.Join(o.profile, "heap.pprof"), []byte(body), 0o644)
		}
	}
	text := rep.markdown()
	fmt.Fprint(stdout, text)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(text), 0o644)
	}
	if rep.errors > 0 {
		return fmt.Errorf("%d requests failed", rep.errors)
	}
	return nil
}

// sampleBody makes one request of a scenario and returns Latchkey's answer,
// which the ceiling will serve.
func sampleBody(ctx context.Context, client httpDoer, base string, sc scenario, seq *atomic.Int64) (string, int, error) {
	path, body, headers := sc.Request(int(seq.Add(1)))
	status, got, err := do(ctx, client, sc.Method, base+path, body, headers)
	if err != nil {
		return "", 0, err
	}
	if status != sc.Status || !strings.Contains(got, sc.Marker) {
		return "", 0, fmt.Errorf("sample answer %d %.300s", status, got)
	}
	return got, status, nil
}

// machine describes where the benchmark ran.
func machine() string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				// Unparsable: the report shows 0 GiB.
				_, _ = fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
				mem = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%d cores, %s memory, %s/%s, %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// saveProfile fetches a profile of kind ("profile" for CPU, "allocs" for
// the allocations made during the window) over d from a latchkey debug
// listener into file.
func saveProfile(ctx context.Context, debugBase, kind, file string, d time.Duration) error {
	secs := max(1, int(d/time.Second))
	st, body, err := do(ctx, http.DefaultClient, "GET", fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", debugBase, kind, secs), nil, nil)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("profile: status %d", st)
	}
	return os.WriteFile(file, []byte(body), 0o644)
}
