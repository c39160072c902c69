package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one kind of request, identical for the ceiling and Latchkey.
type scenario struct {
	Name   string
	Method string
	// Prefix and Contains are what the ceiling matches the request on.
	Prefix   string
	Contains string
	// Request builds the i-th request's path, body and headers.
	Request func(i int) (path string, body []byte, headers []string)
	Status  int
	// Marker must appear in every answer's body.
	Marker string
	// Conc, when set, overrides the connection count: latency scenarios
	// use one, so that p99 measures the request and not a queue.
	Conc int
	// Warm, when set, is how many requests latchkey's warm-up makes at
	// least: a scenario that walks a pool (every API key once) is measured
	// once the pool is cached, in its steady state, not while it fills.
	Warm int
	// Setup, when set, runs against latchkey before the scenario's
	// warm-up (the webhook scenarios subscribe an endpoint there).
	Setup func(ctx context.Context, base string) error
	// Cycle, when set, is how many distinct requests the scenario needs
	// before it may repeat them (its pool): wrk is handed that many,
	// prepared once. A scenario without one needs every request to be new
	// (a new title, a parameter that defeats the read cache) and always
	// runs with the Go load generator.
	Cycle int
}

// result is one timed run of a scenario against one server.
type result struct {
	Requests  int64
	Errors    int64
	Duration  time.Duration
	Latencies []time.Duration // sorted; the Go load generator only
	FirstErr  string
	// Latency percentiles of the run.
	P50, P90, P99, MaxLat time.Duration
	// Load is the generator that ran it: "go" or "wrk".
	Load string
	// CPU is the CPU time (user + system) the server process(es) used
	// during the run, from /proc/PID/stat; -1 when unreadable.
	CPU time.Duration
}

func (r result) RPS() float64 { return float64(r.Requests) / r.Duration.Seconds() }

func (r result) Pct(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(float64(len(r.Latencies))*p))]
}

func (r result) Max() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[len(r.Latencies)-1]
}

// newClient returns an HTTP client with one keep-alive connection per
// worker.
func newClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc,
		IdleConnTimeout: time.Minute, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}, Timeout: 30 * time.Second}
}

// load runs sc against base with conc workers for dur, checking every
// answer's status and marker.
func load(ctx context.Context, client *http.Client, base string, sc scenario, conc int, dur time.Duration, seq *atomic.Int64) result {
	var mu sync.Mutex
	var all []time.Duration
	var reqs, errs atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			marker := []byte(sc.Marker)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(seq.Add(1))
				path, body, headers := sc.Request(i)
				var rd io.Reader
				if body != nil {
					rd = bytes.NewReader(body)
				}
				req, err := http.NewRequestWithContext(ctx, sc.Method, base+path, rd)
				if err != nil {
					panic(err)
				}
				for j := 0; j+1 < len(headers); j += 2 {
					req.Header.Set(headers[j], headers[j+1])
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				got, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close() // read to the end: nothing is lost if closing fails
				d := time.Since(t0)
				reqs.Add(1)
				lat = append(lat, d)
				if err != nil || resp.StatusCode != sc.Status || !bytes.Contains(got, marker) {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %.200s", resp.StatusCode, got))
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	r := result{Requests: reqs.Load(), Errors: errs.Load(), Duration: time.Since(start), Latencies: all, Load: "go"}
	r.P50, r.P90, r.P99, r.MaxLat = r.Pct(0.50), r.Pct(0.90), r.Pct(0.99), r.Max()
	if e, ok := firstErr.Load().(string); ok {
		r.FirstErr = e
	}
	return r
}
