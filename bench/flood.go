package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/licensing"
)

// floodResult is what a flood of invented credentials did to the server's
// memory: the live heap (after a forced collection) before and after, and
// the largest heap in use seen while it ran.
type floodResult struct {
	Licenses, APIKeys     int // requests sent of each kind
	Answers               map[int]int64
	Errors                int64
	FirstErr              string
	Duration              time.Duration
	LiveBefore, LiveAfter int64
	PeakInUse             int64
}

// flood sends n requests with random, well-formed license keys to the
// runtime check and n with random, well-formed API keys to a management
// read, from one address, checking every answer (404, 403, or 429 once the
// address is throttled). debugBase is the server's --debug-addr, used to
// force a collection before reading the heap.
func flood(ctx context.Context, client *http.Client, base, debugBase string, n, conc int) (*floodResult, error) {
	fr := &floodResult{Licenses: n, APIKeys: n, Answers: map[int]int64{}}
	var err error
	if fr.LiveBefore, err = liveHeap(ctx, client, base, debugBase); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var next, errs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v, err := metric(ctx, client, base, "go_memstats_heap_inuse_bytes"); err == nil {
					mu.Lock()
					fr.PeakInUse = max(fr.PeakInUse, int64(v))
					mu.Unlock()
				}
			}
		}
	})
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			answers := map[int]int64{}
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(2*n) {
					break
				}
				var st int
				var body string
				var err error
				if i%2 == 0 {
					st, body, err = do(ctx, client, "POST", base+"/api/v1/project/has-paid", []byte("{}"),
						[]string{"X-LICENSE-KEY", licensing.NewKey(time.Now()), "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"})
				} else {
					st, body, err = do(ctx, client, "GET", base+"/api/v1/projects", nil, []string{"X-API-KEY", keys.Mint(core.EnvLive).Secret})
				}
				ok := err == nil && (st == 429 || (i%2 == 0 && st == 404 && strings.Contains(body, "NOT_FOUND")) ||
					(i%2 == 1 && st == 403 && strings.Contains(body, "Invalid or expired API key.")))
				if !ok {
					errs.Add(1)
					if err == nil {
						err = fmt.Errorf("status %d: %.200s", st, body)
					}
					firstErr.CompareAndSwap(nil, err.Error())
				}
				answers[st]++
			}
			mu.Lock()
			for k, v := range answers {
				fr.Answers[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	fr.Duration = time.Since(start)
	close(stop)
	sampler.Wait()
	fr.Errors = errs.Load()
	if e, ok := firstErr.Load().(string); ok {
		fr.FirstErr = e
	}
	if fr.LiveAfter, err = liveHeap(ctx, client, base, debugBase); err != nil {
		return nil, err
	}
	return fr, nil
}

// liveHeap forces a garbage collection in the server (through the heap
// profile's gc parameter) and returns the heap then allocated.
func liveHeap(ctx context.Context, client *http.Client, base, debugBase string) (int64, error) {
	st, _, err := do(ctx, client, "GET", debugBase+"/debug/pprof/heap?gc=1", nil, nil)
	if err != nil {
		return 0, err
	}
	if st != 200 {
		return 0, fmt.Errorf("heap profile: status %d", st)
	}
	v, err := metric(ctx, client, base, "go_memstats_heap_alloc_bytes")
	return int64(v), err
}

// metric reads one unlabelled value from the server's /metrics.
func metric(ctx context.Context, client *http.Client, base, name string) (float64, error) {
	st, body, err := do(ctx, client, "GET", base+"/metrics", nil, nil)
	if err != nil {
		return 0, err
	}
	if st != 200 {
		return 0, fmt.Errorf("metrics: status %d", st)
	}
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metrics: no %s", name)
}

func (fr *floodResult) markdown() string {
	mb := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	var answers []string
	for _, st := range []int{403, 404, 429} {
		answers = append(answers, fmt.Sprintf("%d × %d", fr.Answers[st], st))
	}
	return fmt.Sprintf("\nFlood of invented credentials from one address: %d random license keys and %d random well-formed API keys in %.1f s (%s; %d unexpected answers). "+
		"Live heap before %s, after %s (%+.1f MiB); largest heap in use during the flood %s.\n",
		fr.Licenses, fr.APIKeys, fr.Duration.Seconds(), strings.Join(answers, ", "), fr.Errors,
		mb(fr.LiveBefore), mb(fr.LiveAfter), float64(fr.LiveAfter-fr.LiveBefore)/(1<<20), mb(fr.PeakInUse))
}
