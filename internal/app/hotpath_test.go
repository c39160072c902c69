package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The hot paths' allocation budgets: allocations per request through the
// whole root handler (middleware, routing, authentication, the handler, the
// reply), in the steady state (everything cached). Each is the measured
// figure plus one; TestHotPathAllocations fails when a change makes one of
// them allocate more. Lower a budget when a change makes it allocate less.
// docs/benchmarks.md lists the figures. Under the race detector sync.Pool
// drops a quarter of what is put back, which costs up to raceSlack more.
var hotPathBudgets = map[string]float64{
	"has-paid":          19 + raceSlack, // measured 18 (39 before issue 20)
	"licenses-validate": 39 + raceSlack, // measured 38 (53)
	"apikey-read":       16 + raceSlack, // measured 15 (24)
}

// hotPath is one request of a hot path, replayable without allocating in
// the test itself: the request, its body and the response writer are
// reused, so what is counted is the server's work.
type hotPath struct {
	name    string
	h       http.Handler
	req     *http.Request
	body    []byte
	rd      *bytes.Reader
	w       *reusableWriter
	wantSub string
}

// reusableWriter is a ResponseWriter that keeps its header map and buffer
// between requests.
type reusableWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (w *reusableWriter) Header() http.Header { return w.h }
func (w *reusableWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *reusableWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(b)
}

func (hp *hotPath) do() {
	clear(hp.w.h)
	hp.w.status = 0
	hp.w.buf.Reset()
	if hp.rd != nil {
		hp.rd.Reset(hp.body)
	}
	hp.h.ServeHTTP(hp.w, hp.req)
}

// check makes one request and fails unless it answers 200 with wantSub.
func (hp *hotPath) check(tb testing.TB) {
	tb.Helper()
	hp.do()
	if hp.w.status != http.StatusOK || !strings.Contains(hp.w.buf.String(), hp.wantSub) {
		tb.Fatalf("%s: %d %s", hp.name, hp.w.status, hp.w.buf.String())
	}
}

// hotPaths starts a node (SQLite) with a paid project, its verified
// domain, an uncapped license and a key that reads it, and returns the
// three hot requests, each made a few times so that caches are warm.
func hotPaths(tb testing.TB) []*hotPath {
	tb.Helper()
	// Limits out of the way (the clock stands still): the figures are of
	// admitted requests, as in the steady state of a real node.
	n := apptest.New(tb, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite}, func(c *config.Config) {
		c.KeyRateLimit, c.MaxKeyRateLimit, c.IPRateLimit, c.LicenseRateLimit = config.MaxRateLimit, config.MaxRateLimit, config.MaxRateLimit, config.MaxRateLimit
	})
	owner := n.CreateUser(tb, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(tb, owner, service.KeyInput{})
	ctx := context.Background()
	a := owner.Actor()
	p, err := n.Service().CreateProject(ctx, a, service.ProjectInput{Name: service.Some("Paid"), HasPaid: service.Some(true)})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := n.Service().CreateDomain(ctx, a, p.ID, service.DomainInput{Domain: service.Some("shop.example.com"),
		Environment: service.Some("production"), HasPaid: service.Some(true), IsVerified: service.Some(true)}); err != nil {
		tb.Fatal(err)
	}
	lic, err := n.Service().CreateLicense(ctx, a, p.ID, service.LicenseInput{Title: service.Some("hot")})
	if err != nil {
		tb.Fatal(err)
	}
	mk := func(name, method, path, body, wantSub string, headers ...string) *hotPath {
		hp := &hotPath{name: name, h: n.Stack.Handler, w: &reusableWriter{h: http.Header{}}, wantSub: wantSub}
		var rd io.Reader
		if body != "" {
			hp.body = []byte(body)
			hp.rd = bytes.NewReader(hp.body)
			rd = hp.rd
		}
		req, err := http.NewRequest(method, "http://latchkey.test"+path, rd)
		if err != nil {
			tb.Fatal(err)
		}
		if rd != nil {
			// The reader is reset before each request: the handler must
			// not see it closed.
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(hp.body))
		}
		req.RemoteAddr = "192.0.2.10:40000"
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		hp.req = req
		for range 20 {
			hp.check(tb)
		}
		return hp
	}
	return []*hotPath{
		mk("has-paid", "POST", "/api/v1/project/has-paid?action=check_project", "{}", `"has_paid":true`,
			"X-LICENSE-KEY", lic.UUID, "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"),
		mk("licenses-validate", "POST", "/api/v1/licenses/validate", `{"domain":"shop.example.com","check_project":true}`, `"valid":true`,
			"X-LICENSE-KEY", lic.UUID, "Content-Type", "application/json"),
		mk("apikey-read", "GET", "/api/v1/project/"+strconv.FormatInt(p.ID, 10)+"/licenses/"+strconv.FormatInt(lic.ID, 10), "", `"uuid":"`,
			"X-API-KEY", key),
	}
}

// BenchmarkHotPath measures the three hot requests through the real root
// handler.
func BenchmarkHotPath(b *testing.B) {
	for _, hp := range hotPaths(b) {
		b.Run(hp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hp.do()
			}
			if hp.w.status != http.StatusOK {
				b.Fatalf("%d %s", hp.w.status, hp.w.buf.String())
			}
		})
	}
}

// TestHotPathAllocations holds the hot paths to their allocation budgets.
// It counts allocations, not time, so it means the same on a busy machine.
func TestHotPathAllocations(t *testing.T) {
	for _, hp := range hotPaths(t) {
		got := testing.AllocsPerRun(200, hp.do)
		hp.check(t) // still the right answer after the runs
		budget := hotPathBudgets[hp.name]
		t.Logf("%s: %.0f allocations per request (budget %.0f)", hp.name, got, budget)
		if got > budget {
			t.Errorf("%s: %.0f allocations per request, over its budget of %.0f: find what the change added "+
				"(go test -run '^$' -bench BenchmarkHotPath -memprofile) or, if it must stay, raise the budget and say why in docs/benchmarks.md",
				hp.name, got, budget)
		}
	}
}
