package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// missingTool skips the test when a tool it needs is absent, or fails it
// under CI, where .ci/run installs everything.
func missingTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set: the cluster test must run)", why)
	}
	t.Skip(why)
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // freed for the server that will listen there
	return port
}

// pgServer is a PostgreSQL of the test's own (Debian's binaries), on a
// port and in a data directory that stay the same across Stop and Start.
type pgServer struct {
	t       *testing.T
	bin     string // the directory of initdb, pg_ctl and postgres
	base    string // data directory, sockets and log
	port    int
	cred    *syscall.Credential // the postgres user's, when the test runs as root
	running bool
}

// startPostgres initialises a cluster in a temporary directory, starts it
// on a free port, listening on 127.0.0.1 only, and stops it when the test
// ends.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		missingTool(t, "no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql")
	}
	slices.SortFunc(initdbs, func(a, b string) int { return pgVersion(a) - pgVersion(b) })
	pg := &pgServer{t: t, bin: filepath.Dir(initdbs[len(initdbs)-1]), port: freePort(t)}
	// MkdirTemp in /tmp rather than t.TempDir: the user postgres must be
	// able to reach the directory, and t.TempDir's parent is root's, 0700.
	base, err := os.MkdirTemp("", "latchkey-cluster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) }) // a scratch directory
	pg.base = base
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			missingTool(t, "running as root and there is no postgres user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pg.run("initdb", "-D", pg.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
	t.Cleanup(func() {
		if pg.running {
			_ = pg.ctl("-m", "immediate", "stop") // the test is over: nothing to keep
		}
	})
	pg.Start()
	return pg
}

// pgVersion is the major version in a /usr/lib/postgresql/N/bin path.
func pgVersion(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

func (pg *pgServer) data() string { return filepath.Join(pg.base, "data") }

// URL is the database the nodes use.
func (pg *pgServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func (pg *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + pg.base}
	cmd.Dir = pg.base
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	return cmd
}

func (pg *pgServer) run(name string, args ...string) {
	pg.t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (pg *pgServer) ctl(args ...string) error {
	out, err := pg.command("pg_ctl", append([]string{"-D", pg.data(), "-w", "-t", "60"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server and returns once it accepts connections.
func (pg *pgServer) Start() {
	pg.t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", pg.port, pg.base)
	if err := pg.ctl("-l", filepath.Join(pg.base, "log"), "-o", opts, "start"); err != nil {
		pg.t.Fatalf("%v\n%s", err, pg.Log())
	}
	pg.running = true
}

// Stop stops the server (fast mode: sessions are ended, not waited for).
func (pg *pgServer) Stop() {
	pg.t.Helper()
	if err := pg.ctl("-m", "fast", "stop"); err != nil {
		pg.t.Fatal(err)
	}
	pg.running = false
}

// Log is the server's log so far.
func (pg *pgServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(pg.base, "log")) // for failure messages only
	return string(b)
}

// backend is one node as the proxy sees it.
type backend struct {
	addr  string
	dead  atomic.Bool  // set when a dial to it fails
	conns atomic.Int64 // connections opened to it
}

// roundRobin is the proxy's transport: each request goes to the next live
// backend. A request whose connection was refused is sent to the next one
// (its body buffered for that), and so is an idempotent request that got
// no answer (reset, closed); a backend that refuses a connection is not
// picked again.
type roundRobin struct {
	backends []*backend
	next     atomic.Uint64
	retries  atomic.Int64
	rt       http.RoundTripper
}

func (rr *roundRobin) pick() *backend {
	for range rr.backends {
		b := rr.backends[rr.next.Add(1)%uint64(len(rr.backends))]
		if !b.dead.Load() {
			return b
		}
	}
	return nil
}

// idempotent are the methods a proxy may send again after a lost answer
// (RFC 9110, section 9.2.2).
var idempotent = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close() // fully read
		if err != nil {
			return nil, err
		}
		body = b
	}
	err := errors.New("proxy: no live backend")
	for range 2 * len(rr.backends) {
		b := rr.pick()
		if b == nil {
			break
		}
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = "http", b.addr, b.addr
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			out.ContentLength = int64(len(body))
		}
		var resp *http.Response
		resp, err = rr.rt.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		var ne net.Error
		if req.Context().Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, err
		}
		// A refused connection never reached the node: any request may go
		// to the next. Otherwise the node may have acted on it, so only a
		// request that may be repeated is (a create would be done twice).
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			b.dead.Store(true)
		} else if !idempotent[req.Method] {
			return nil, err
		}
		rr.retries.Add(1)
	}
	return nil, err
}

// startProxy serves a round-robin reverse proxy over the nodes on a
// loopback port.
func startProxy(t *testing.T, addrs []string) (*httptest.Server, *roundRobin) {
	t.Helper()
	rr := &roundRobin{}
	byAddr := map[string]*backend{}
	for _, a := range addrs {
		b := &backend{addr: a}
		rr.backends = append(rr.backends, b)
		byAddr[a] = b
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	rr.rt = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err == nil && byAddr[addr] != nil {
				byAddr[addr].conns.Add(1)
			}
			return c, err
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "backend" // chosen by rr
		},
		Transport: rr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv, rr
}

// reply is one answer, decoded.
type reply struct {
	status int
	header http.Header
	body   []byte
	data   map[string]any
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)) }

// id is the data's numeric id.
func (r reply) id() int64 {
	f, _ := r.data["id"].(float64)
	return int64(f)
}

// httpClient is what the test's clients use: many keep-alive connections
// (no port exhaustion under load) and a bound on every request.
var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
}

// call sends one request to base (http://host:port) with an API key (if
// not empty) and a JSON body (if not nil). It is safe to use from any
// goroutine: errors are returned, not reported.
func call(base, method, path, apiKey string, body any, headers ...string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("X-API-KEY", apiKey)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer func() { _ = resp.Body.Close() }() // read fully below
	r := reply{status: resp.StatusCode, header: resp.Header}
	if r.body, err = io.ReadAll(resp.Body); err != nil {
		return r, err
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if json.Unmarshal(r.body, &env) == nil {
		r.data = env.Data
	}
	return r, nil
}

// tally counts answers by what was asked and status, and keeps an
// example of each unexpected status. Safe for concurrent use.
type tally struct {
	mu     sync.Mutex
	counts map[string]map[int]int
	errs   int
	// unexpected counts the answers add was told were bad.
	unexpected int
	examples   []string
}

func newTally() *tally { return &tally{counts: map[string]map[int]int{}} }

// add records one answer to what; bad says whether it is unexpected.
func (tl *tally) add(what string, r reply, err error, bad bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if err != nil {
		tl.errs++
		if len(tl.examples) < 10 {
			tl.examples = append(tl.examples, what+": "+err.Error())
		}
		return
	}
	if tl.counts[what] == nil {
		tl.counts[what] = map[int]int{}
	}
	tl.counts[what][r.status]++
	if bad {
		tl.unexpected++
	}
	// One example per kind of unexpected answer.
	if bad && tl.counts[what][r.status] == 1 {
		tl.examples = append(tl.examples, what+": "+r.String())
	}
}

// count returns how many answers to what had status.
func (tl *tally) count(what string, status int) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.counts[what][status]
}

// where returns how many answers matched keep, over everything asked.
func (tl *tally) where(keep func(status int) bool) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := 0
	for _, byStatus := range tl.counts {
		for st, c := range byStatus {
			if keep(st) {
				n += c
			}
		}
	}
	return n
}

func (tl *tally) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return fmt.Sprintf("statuses %v, transport errors %d, examples %q", tl.counts, tl.errs, tl.examples)
}

// load runs clients goroutines, each calling one until stop is called,
// which waits for them.
func load(clients int, one func(client, i int)) (stop func()) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	for c := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				one(c, i)
			}
		})
	}
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// parallel runs n calls of one over clients goroutines and waits.
func parallel(clients, n int, one func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				one(i)
			}
		})
	}
	wg.Wait()
}

// poll checks cond every 20 ms until it holds or limit has passed, and
// returns how long it waited and whether cond held.
func poll(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), true
}
