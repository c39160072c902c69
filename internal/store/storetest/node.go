package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// testNodes covers the heartbeats that tell a node how many share the
// database: counted within a window (its edge included), refreshed by
// each beat, forgotten on a clean stop and, long silent, deleted.
func testNodes(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	live := func(within time.Duration) int {
		t.Helper()
		n, err := st.LiveNodes(ctx, within)
		must(t, err)
		return n
	}
	const window = 30 * time.Second
	if n := live(window); n != 0 {
		t.Fatalf("a fresh database counts %d live nodes", n)
	}
	must(t, st.Heartbeat(ctx, "a"))
	must(t, st.Heartbeat(ctx, "a"))
	must(t, st.Heartbeat(ctx, "b"))
	if n := live(window); n != 2 {
		t.Fatalf("two nodes beat: %d live", n)
	}

	clock.Advance(20 * time.Second)
	must(t, st.Heartbeat(ctx, "a"))
	clock.Advance(10 * time.Second)
	if n := live(window); n != 2 {
		t.Fatalf("b beat exactly 30s ago: %d live, want it counted", n)
	}
	clock.Advance(time.Microsecond)
	if n := live(window); n != 1 {
		t.Fatalf("b is silent for more than 30s: %d live", n)
	}

	// Many nodes starting together.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := st.Heartbeat(ctx, fmt.Sprintf("n%d", i)); err != nil {
				t.Errorf("heartbeat n%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := live(window); n != 9 {
		t.Fatalf("a and 8 new nodes: %d live", n)
	}
	must(t, st.ForgetNode(ctx, "n0"))
	must(t, st.ForgetNode(ctx, "never-seen"))
	if n := live(window); n != 8 {
		t.Fatalf("after a clean stop: %d live", n)
	}

	// Rows silent for an hour are deleted by the next beat: counting
	// over a longer span finds only the node that beat.
	clock.Advance(2 * time.Hour)
	must(t, st.Heartbeat(ctx, "c"))
	if n := live(24 * time.Hour); n != 1 {
		t.Fatalf("silent nodes kept: %d rows within a day", n)
	}
}
