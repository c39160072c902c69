package sdktest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
)

// TestRetriedCreateMakesOneObject is the end-to-end promise of idempotency
// keys: the server handles a create, the connection is reset before its
// answer reaches the SDK, the SDK retries with the same Idempotency-Key,
// and the server replays the first answer instead of creating a second
// object.
func TestRetriedCreateMakesOneObject(t *testing.T) {
	onEachBackend(t, func(t *testing.T, srv *server) {
		ctx := context.Background()
		direct := must(client.New(srv.URL, srv.Key))(t)
		project := must(direct.Projects.Create(ctx, client.ProjectCreate{Name: "Licensed plugin"}))(t)

		cases := []struct {
			name   string
			create func(c *client.Client, meta *client.Response) (int64, error)
			count  func() int
		}{
			{
				name: "project",
				create: func(c *client.Client, meta *client.Response) (int64, error) {
					p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Created once"}, client.WithResponse(meta))
					if err != nil {
						return 0, err
					}
					return p.ID, nil
				},
				count: func() int {
					n := 0
					for p, err := range direct.Projects.List(ctx, nil) {
						if err != nil {
							t.Fatal(err)
						}
						if p.Name == "Created once" {
							n++
						}
					}
					return n
				},
			},
			{
				name: "license",
				create: func(c *client.Client, meta *client.Response) (int64, error) {
					l, err := c.Licenses.Create(ctx, project.ID, client.LicenseCreate{Title: "Issued once"}, client.WithResponse(meta))
					if err != nil {
						return 0, err
					}
					return l.ID, nil
				},
				count: func() int {
					n := 0
					for l, err := range direct.Licenses.List(ctx, project.ID, nil) {
						if err != nil {
							t.Fatal(err)
						}
						if l.Title == "Issued once" {
							n++
						}
					}
					return n
				},
			},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				proxy := newResettingProxy(t, srv.URL, 1)
				c := must(client.New(proxy.URL, srv.Key, client.WithBackoff(time.Millisecond, 10*time.Millisecond)))(t)
				var meta client.Response
				id, err := tc.create(c, &meta)
				if err != nil {
					t.Fatalf("create through a connection reset: %v", err)
				}
				if got := proxy.reset.Load(); got != 1 {
					t.Fatalf("the proxy reset %d connections after the server answered, want 1", got)
				}
				if meta.Attempts != 2 || !meta.Replayed || meta.IdempotencyKey == "" {
					t.Errorf("attempts %d, replayed %v, key %q; want 2 attempts, the second a replay of the first under one key",
						meta.Attempts, meta.Replayed, meta.IdempotencyKey)
				}
				if id == 0 {
					t.Errorf("the replayed answer names no object")
				}
				if n := tc.count(); n != 1 {
					t.Errorf("the server holds %d objects after one retried create, want exactly 1", n)
				}
			})
		}
	})
}

// resettingProxy forwards TCP connections to a server. On the first
// `drop` connections it lets the request through, waits until the server
// has begun to answer (so the request was handled) and then resets the
// client's connection without passing the answer on.
type resettingProxy struct {
	URL   string
	reset atomic.Int32
}

func newResettingProxy(t *testing.T, upstream string, drop int32) *resettingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &resettingProxy{URL: "http://" + ln.Addr().String()}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = ln.Close() // ends the accept loop
		// Kept-alive connections would otherwise wait for the server's
		// idle timeout.
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	var accepted atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.forward(conn.(*net.TCPConn), u.Host, n <= drop); err != nil {
					t.Log(err)
				}
			}()
		}
	}()
	return p
}

func (p *resettingProxy) forward(conn *net.TCPConn, upstream string, drop bool) error {
	defer func() { _ = conn.Close() }()
	up, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		return fmt.Errorf("proxy: dial %s: %w", upstream, err)
	}
	defer func() { _ = up.Close() }()
	go func() {
		_, _ = io.Copy(up, conn)
		_ = up.Close() // the client is gone: so is the answer's reader below
	}()
	if !drop {
		_, _ = io.Copy(conn, up)
		return nil
	}
	// The server writes its answer only once the request is handled and
	// its Idempotency-Key settled: the first byte of it is the moment.
	if err := up.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	if _, err := up.Read(make([]byte, 1)); err != nil {
		return fmt.Errorf("proxy: no answer from the server: %w", err)
	}
	// SO_LINGER 0: Close sends a RST, which the client reads as
	// "connection reset by peer".
	if err := conn.SetLinger(0); err != nil {
		return err
	}
	p.reset.Add(1)
	return nil
}
