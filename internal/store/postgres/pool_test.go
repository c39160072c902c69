package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func schemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv(storetest.PostgresURLEnv)
	if base == "" {
		t.Skipf("%s is not set; .ci/run sets it", storetest.PostgresURLEnv)
	}
	return storetest.NewPostgresSchema(t, base)
}

// The pool takes its size, its warm minimum and the statement timeout from
// Options; a statement past the timeout is EUnavailable (503), not an
// internal error.
func TestPoolOptions(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, schemaURL(t), time.Now, postgres.Options{MaxConns: 5, MinConns: 3, StatementTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	db := st.DB()
	if s := db.Stats(); s.MaxOpenConnections != 5 || s.OpenConnections < 3 {
		t.Fatalf("pool: max %d, open %d; want 5 and at least 3", s.MaxOpenConnections, s.OpenConnections)
	}
	var timeout string
	if err := db.QueryRowContext(ctx, `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != "50ms" {
		t.Fatalf("statement_timeout = %q, %v", timeout, err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrations run without the statement timeout: %v", err)
	}
	_, err = db.ExecContext(ctx, `SELECT pg_sleep(1)`)
	if !postgres.Unavailable(err) {
		t.Fatalf("a statement past the timeout: %v, want it classified unavailable", err)
	}
	if len(st.Pools()) != 1 || st.Pools()["postgres"] != db {
		t.Fatalf("pools: %v", st.Pools())
	}
}

// A store whose server went away answers EUnavailable on reads and on
// writes (transactions), never an internal error, and works again when the
// server is back.
func TestLostServerIsUnavailable(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	u.Host = px.addr
	st, err := postgres.Open(ctx, u.String(), time.Now, postgres.Options{MaxConns: 4, MinConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o, _ := storetest.Fixture(t, st, "Acme", "a@example.com", core.RoleOwner)

	px.down()
	checks := map[string]func() error{
		"read": func() error { _, err := st.Organization(ctx, o.ID); return err },
		"write": func() error {
			return st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "P", Slug: "p", IsActive: true})
		},
		"transaction": func() error {
			return st.InTx(ctx, func(tx core.Store) error { _, err := tx.Organization(ctx, o.ID); return err })
		},
	}
	for name, fn := range checks {
		err := fn()
		if !core.IsCode(err, core.EUnavailable) {
			t.Errorf("%s with the server away: %v, want EUnavailable", name, err)
			continue
		}
		if errors.Unwrap(err) == nil {
			t.Errorf("%s with the server away: %v carries no cause for the log", name, err)
		}
	}
	px.up()
	for name, fn := range checks {
		if name == "write" {
			continue // it would now succeed once; the read is proof enough
		}
		if err := fn(); err != nil {
			t.Errorf("%s with the server back: %v", name, err)
		}
	}
}

func TestUnavailableClassifies(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("store: begin: %w", pgconn.ErrConnClosed), true},
		{context.Canceled, false},
		{core.NotFound("License"), false},
		{errors.New("syntax error"), false},
	} {
		if got := postgres.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// proxy forwards TCP to PostgreSQL until down cuts every connection and
// refuses new ones; up accepts again on the same address.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// An error is prefixed with its operation once, however many store layers
// it passes through.
func TestErrorNamedOnce(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.OpenPostgres(t, time.Now)
	err := st.CreateLicense(ctx, &core.License{ProjectID: 1 << 40, Title: "T", KeyDigest: []byte{1}, KeyEnc: []byte{1}})
	if err == nil || strings.Count(err.Error(), "create license") != 1 {
		t.Fatalf("a license in no project: %v, want one \"create license\"", err)
	}
}
