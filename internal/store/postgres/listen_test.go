package postgres

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// postgresURLEnv is storetest.PostgresURLEnv (storetest imports this
// package, so this test cannot import it).
const postgresURLEnv = "LATCHKEY_TEST_DATABASE_URL"

// listenerUnderTest runs a listener whose waits are recorded and skipped.
type listenerUnderTest struct {
	*Listener
	mu    sync.Mutex
	waits []time.Duration
	ups   chan struct{}
}

func startListener(t *testing.T, url string, until func(waits []time.Duration) bool) *listenerUnderTest {
	t.Helper()
	lt := &listenerUnderTest{ups: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	lt.Listener = NewListener(url, "test-"+strconv.Itoa(int(time.Now().UnixNano()%1e9)), slog.New(slog.DiscardHandler), func(core.Change) {})
	lt.Up = func() { lt.ups <- struct{}{} }
	lt.sleep = func(ctx context.Context, d time.Duration) bool {
		lt.mu.Lock()
		lt.waits = append(lt.waits, d)
		done := until(lt.waits)
		lt.mu.Unlock()
		if done {
			cancel()
			return false
		}
		return ctx.Err() == nil
	}
	finished := make(chan struct{})
	go func() { lt.Run(ctx); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return lt
}

func (lt *listenerUnderTest) recorded() []time.Duration {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return slices.Clone(lt.waits)
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out (10 s failure bound)")
	}
}

// After a connection that listened, the next outage starts again from the
// first backoff: a node that lost its database a few times must not wait
// seconds to hear other nodes' changes again.
func TestListenerBackoffResetsAfterAGoodConnection(t *testing.T) {
	url := os.Getenv(postgresURLEnv)
	if url == "" {
		t.Skipf("%s is not set; .ci/run sets it", postgresURLEnv)
	}
	// LISTEN needs no tables: the database itself will do.
	lt := startListener(t, url, func(w []time.Duration) bool { return false })
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	for i := range 4 {
		waitFor(t, lt.ups)
		var n int
		if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
			lt.ApplicationName()).Scan(&n); err != nil || n != 1 {
			t.Fatalf("drop %d: terminated %d connections, %v", i+1, n, err)
		}
	}
	waitFor(t, lt.ups)
	want := []time.Duration{firstBackoff, firstBackoff, firstBackoff, firstBackoff}
	if got := lt.recorded(); !slices.Equal(got, want) {
		t.Fatalf("waits after four drops = %v, want %v", got, want)
	}
}

// While no connection can be made, the waits double up to the maximum.
func TestListenerBackoffGrowsWhileDown(t *testing.T) {
	lt := startListener(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		func(w []time.Duration) bool { return len(w) == 9 })
	deadline := time.Now().Add(20 * time.Second)
	for len(lt.recorded()) < 9 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 10 * time.Second, 10 * time.Second}
	if got := lt.recorded(); !slices.Equal(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
}
