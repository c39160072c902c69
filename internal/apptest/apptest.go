// Package apptest stands up real Latchkey nodes for tests: a fresh database
// (SQLite, or PostgreSQL when configured), the full stack over loopback
// HTTP, and a clock the test controls.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/app"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/geoip"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for CutListener's own connection
)

// TestSecret is the instance secret every test node shares.
const TestSecret = "apptest-instance-secret-0123456789abcdef"

// Node is one running node.
type Node struct {
	URL     string
	Stack   *app.Stack
	Store   *store.Store
	Clock   *storetest.Clock
	Backend string
	dbURL   string
	tb      testing.TB

	mu   sync.Mutex
	seen map[core.Change]chan struct{} // markers awaited by Sync
	// downs and ups are told when the listener loses and regains its
	// connection; hold, while set, keeps it from resuming (CutListener).
	downs, ups chan struct{}
	hold       chan struct{}
	// slow is how much longer the listener takes over each change it
	// applies (SlowListener).
	slow time.Duration
}

// Option adjusts a node's configuration.
type Option func(*config.Config)

// New starts a node on a fresh database of backend b.
func New(tb testing.TB, b storetest.Backend, opts ...Option) *Node {
	tb.Helper()
	clock := storetest.NewClock(storetest.T0)
	st, dbURL := b.Open(tb, clock.Now)
	return start(tb, b.Name, st, dbURL, clock, opts...)
}

// Peer starts a second node on the same database (PostgreSQL only: SQLite
// is one node by design) with its own caches and its own clock.
func (n *Node) Peer(tb testing.TB, opts ...Option) *Node {
	tb.Helper()
	if n.Backend != "postgres" {
		tb.Fatal("apptest: peers need PostgreSQL")
	}
	clock := storetest.NewClock(n.Clock.Now())
	st := storetest.OpenPostgresURL(tb, n.dbURL, clock.Now)
	return start(tb, n.Backend, st, n.dbURL, clock, opts...)
}

func start(tb testing.TB, backend string, st *store.Store, dbURL string, clock *storetest.Clock, opts ...Option) *Node {
	tb.Helper()
	key, err := secret.FromString(TestSecret)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.PasswordCost = 4
	cfg.UsageFlush = time.Hour // tests flush explicitly
	var geo *geoip.Resolver
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.GeoIPDB != "" {
		g, err := geoip.Open(cfg.GeoIPDB)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = g.Close() }) // a read-only database file
		geo = g
	}
	stack := app.NewStack(app.StackConfig{
		Config: cfg, Store: st, Secret: key, Now: clock.Now,
		Logger:      slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DatabaseURL: dbURLFor(backend, dbURL),
		Geo:         geo,
	})
	n := &Node{Stack: stack, Store: st, Clock: clock, Backend: backend, dbURL: dbURL, tb: tb, seen: map[core.Change]chan struct{}{}}
	if l := stack.Listener; l != nil {
		l.Observe = n.observe
		n.downs, n.ups = make(chan struct{}, 16), make(chan struct{}, 16)
		down, up := l.Down, l.Up
		l.Down = func() {
			down()
			notify(n.downs)
		}
		l.Up = func() {
			n.mu.Lock()
			hold := n.hold
			n.mu.Unlock()
			if hold != nil {
				<-hold
			}
			up()
			notify(n.ups)
		}
	}
	stack.Start()
	srv := httptest.NewServer(stack.Handler)
	n.URL = srv.URL
	tb.Cleanup(func() {
		srv.Close()
		_ = stack.Stop(context.Background())
	})
	if stack.Listener != nil {
		select {
		case <-stack.Listener.Ready():
		case <-time.After(10 * time.Second):
			tb.Fatal("apptest: change listener did not start")
		}
	}
	return n
}

func (n *Node) observe(c core.Change) {
	n.mu.Lock()
	ch := n.seen[c]
	delete(n.seen, c)
	slow := n.slow
	n.mu.Unlock()
	if slow > 0 {
		time.Sleep(slow) // holds the listener's loop, as a busy node would
	}
	if ch != nil {
		close(ch)
	}
}

// SlowListener makes n's change listener take d longer over each change it
// applies, as on a busy machine: the changes after it wait.
func (n *Node) SlowListener(d time.Duration) {
	n.mu.Lock()
	n.slow = d
	n.mu.Unlock()
}

// CutListener ends n's change-listener connection from the database's
// side, as a database restart or a network failure would, and returns once
// n has noticed. n then stays without a listener (its caches suspended)
// until the returned function is called, which returns once n listens
// again.
func (n *Node) CutListener(tb testing.TB) (reconnect func()) {
	tb.Helper()
	if n.Stack.Listener == nil {
		tb.Fatal("apptest: CutListener needs PostgreSQL")
	}
	for len(n.ups) > 0 {
		<-n.ups // the first connection's
	}
	hold := make(chan struct{})
	n.mu.Lock()
	n.hold = hold
	n.mu.Unlock()
	db, err := sql.Open("pgx", n.dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var cut int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		n.Stack.Listener.ApplicationName()).Scan(&cut); err != nil || cut != 1 {
		tb.Fatalf("apptest: cut %d listener connections: %v", cut, err)
	}
	wait(tb, n.downs, "the node did not notice its listener was cut")
	return func() {
		n.mu.Lock()
		n.hold = nil
		n.mu.Unlock()
		close(hold)
		wait(tb, n.ups, "the node's listener did not reconnect")
	}
}

// notify signals ch without ever blocking the listener.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait waits for ch at most 10 s, as a failure bound, not a measure.
func wait(tb testing.TB, ch <-chan struct{}, msg string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		tb.Fatal("apptest: " + msg + " within 10 s")
	}
}

// markerKind is what Sync's markers are: a catalog change of a project
// that cannot exist, which drops nothing.
const markerKind = core.ChangeCatalog

// Sync returns once n has applied every change that from published before
// the call: it publishes a marker on from and waits for n's listener to
// see it, since PostgreSQL delivers notifications in commit order. It
// waits at most 10 s, as a failure bound, not a measure.
func (n *Node) Sync(tb testing.TB, from *Node) {
	tb.Helper()
	if n.Stack.Listener == nil {
		tb.Fatal("apptest: Sync needs a PostgreSQL peer")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	marker := core.Change{Kind: markerKind, ID: -1 - int64(binary.BigEndian.Uint32(b[:]))}
	ch := make(chan struct{})
	n.mu.Lock()
	n.seen[marker] = ch
	n.mu.Unlock()
	if err := from.Store.Publish(context.Background(), marker); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		tb.Fatal("apptest: the peer did not receive a change within 10 s")
	}
}

func dbURLFor(backend, url string) string {
	if backend == "postgres" {
		return url
	}
	return ""
}

// testWriter sends server logs to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Service returns the node's service.
func (n *Node) Service() *service.Service { return n.Stack.Service }

// Account is a user with a membership, as created by CreateUser.
type Account struct {
	OrgID  int64
	UserID int64
	Email  string
	Role   core.Role
}

// Actor returns the system actor of the account's organization acting for
// the account's user, for setting up data without going through HTTP.
func (a Account) Actor() *core.Actor {
	act := core.SystemActor(a.OrgID, "test")
	act.UserID = a.UserID
	return act
}

// CreateUser creates a user in org (created if needed) with role.
func (n *Node) CreateUser(tb testing.TB, org, email string, role core.Role) Account {
	tb.Helper()
	u, o, err := n.Service().CreateUser(context.Background(), nil, service.CreateUserInput{
		Email: email, Password: "correct horse battery", OrgName: org, Role: role})
	if err != nil {
		tb.Fatalf("create user %s: %v", email, err)
	}
	return Account{OrgID: o.ID, UserID: u.ID, Email: u.Email, Role: role}
}

// CreateKey mints a key for the account's user, as an admin command would.
func (n *Node) CreateKey(tb testing.TB, acc Account, in service.KeyInput) (*core.APIKey, string) {
	tb.Helper()
	if in.Name == "" {
		in.Name = "test key"
	}
	k, secret, err := n.Service().CreateAPIKey(context.Background(), core.SystemActor(acc.OrgID, "test"), acc.UserID, in)
	if err != nil {
		tb.Fatalf("create key: %v", err)
	}
	return k, secret
}

// Response is a decoded API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Env    Envelope
}

// Envelope is the DevPayr envelope.
type Envelope struct {
	Status    string              `json:"status"`
	Message   string              `json:"message"`
	Data      json.RawMessage     `json:"data"`
	Errors    map[string][]string `json:"errors"`
	Code      string              `json:"code"`
	RequestID string              `json:"request_id"`
}

// Decode unmarshals the envelope's data into v.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Env.Data, v); err != nil {
		tb.Fatalf("decode data %s: %v", r.Env.Data, err)
	}
}

// Do sends a request. body is JSON-encoded unless it is a string or
// []byte, which are sent as they are. headers are name/value pairs.
func (n *Node) Do(tb testing.TB, method, path string, body any, headers ...string) *Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, n.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		// Set the name exactly as given (no canonicalisation), so tests can
		// prove the server matches header names case-insensitively.
		req.Header[headers[i]] = []string{headers[i+1]}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Env); err != nil {
			tb.Fatalf("%s %s: body is not the envelope: %s", method, path, raw)
		}
	}
	return r
}

// Key returns the header pair that authenticates with secret.
func Key(secret string) []string { return []string{"X-API-KEY", secret} }
