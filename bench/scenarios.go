package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// buildScenarios returns the measured request kinds; apikey-read walks
// the first nKeys API keys, apikey-read-wide all of them.
func buildScenarios(d *seeded, nKeys int) []scenario {
	pick := func(pool []string, i int) string { return pool[i%len(pool)] }
	big := strconv.FormatInt(d.BigProject, 10)
	apiKeyRead := func(name string, pool []string) scenario {
		// Each request with another key, on one of 100 licenses: an
		// authenticated read over a pool of keys (per-key read caching
		// helps only when a key repeats a read).
		return scenario{
			Name: name, Method: "GET", Prefix: "/api/v1/project/", Contains: "/licenses/", Status: 200, Marker: `"uuid":"`,
			Warm: len(pool) + len(pool)/10, Cycle: len(pool),
			Request: func(i int) (string, []byte, []string) {
				lic := d.HotLicenses[(i/len(pool))%len(d.HotLicenses)]
				return "/api/v1/project/" + big + "/licenses/" + strconv.FormatInt(lic, 10), nil,
					[]string{"X-API-KEY", pool[i%len(pool)]}
			},
		}
	}
	return []scenario{
		{
			Name: "validate-uncapped", Method: "POST", Prefix: "/api/v1/project/has-paid", Status: 200, Marker: `"has_paid":true`, Cycle: len(d.Uncapped),
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/project/has-paid?action=check_project", []byte("{}"),
					[]string{"X-LICENSE-KEY", pick(d.Uncapped, i), "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"}
			},
		},
		{
			Name: "validate-capped", Method: "POST", Prefix: "/api/v1/project/has-paid", Status: 200, Marker: `"has_paid":true`, Cycle: len(d.Capped),
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/project/has-paid?action=check_project", []byte("{}"),
					[]string{"X-LICENSE-KEY", pick(d.Capped, i), "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"}
			},
		},
		{
			// Every request on the same capped license: one counter row
			// that all the writes of the run contend for.
			Name: "validate-capped-hot", Method: "POST", Prefix: "/api/v1/project/has-paid", Status: 200, Marker: `"has_paid":true`, Cycle: 1,
			Request: func(int) (string, []byte, []string) {
				return "/api/v1/project/has-paid?action=check_project", []byte("{}"),
					[]string{"X-LICENSE-KEY", d.Capped[0], "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"}
			},
		},
		{
			Name: "validate-native", Method: "POST", Prefix: "/api/v1/licenses/validate", Status: 200, Marker: `"valid":true`, Cycle: len(d.Uncapped),
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/licenses/validate", []byte(`{"domain":"shop.example.com","check_project":true}`),
					[]string{"X-LICENSE-KEY", pick(d.Uncapped, i), "Content-Type", "application/json"}
			},
		},
		apiKeyRead("apikey-read", d.APIKeys[:min(nKeys, len(d.APIKeys))]),
		apiKeyRead("apikey-read-wide", d.APIKeys),
		{
			Name: "license-create", Method: "POST", Prefix: "/api/v1/project/", Status: 201, Marker: `"uuid":"`,
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/project/" + strconv.FormatInt(d.CappedProject, 10) + "/licenses",
					[]byte(`{"title":"Created ` + strconv.Itoa(i) + `","max_domains":3,"expires_at":"2099-01-01"}`),
					[]string{"X-API-KEY", d.OwnerKey, "Content-Type", "application/json"}
			},
		},
		{
			// One license at a time over one connection, anywhere in the big
			// project: the latency of a show (the "n" parameter defeats the
			// per-key read cache; the license cache rarely holds a random
			// one of 100,000).
			Name: "show-latency", Method: "GET", Prefix: "/api/v1/project/", Contains: "/licenses/", Status: 200, Marker: `"uuid":"`, Conc: 1,
			Request: func(i int) (string, []byte, []string) {
				id := d.MinID + int64(uint64(i)*2654435761)%(d.MaxID-d.MinID+1)
				return "/api/v1/project/" + big + "/licenses/" + strconv.FormatInt(id, 10) + "?n=" + strconv.Itoa(i), nil,
					[]string{"X-API-KEY", d.OwnerKey}
			},
		},
		// Before the list-deep ones: the ceiling answers the first route
		// whose prefix and fragment match, and theirs match this one too.
		listByMetadataScenario(d, big),
		{
			Name: "list-deep-latency", Method: "GET", Prefix: "/api/v1/project/", Contains: "/licenses?", Status: 200, Marker: `"next_cursor":"`, Conc: 1,
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/project/" + big + "/licenses?per_page=50&n=" + strconv.Itoa(i) + "&cursor=" + d.DeepCursors[(i*7919)%len(d.DeepCursors)],
					nil, []string{"X-API-KEY", d.OwnerKey}
			},
		},
		{
			// A page deep in the big project; the ignored "n" parameter makes
			// every request a cache miss, so the database answers each one.
			Name: "list-deep", Method: "GET", Prefix: "/api/v1/project/", Contains: "/licenses?", Status: 200, Marker: `"next_cursor":"`,
			Request: func(i int) (string, []byte, []string) {
				return "/api/v1/project/" + big + "/licenses?per_page=50&n=" + strconv.Itoa(i) + "&cursor=" + d.DeepCursors[i%len(d.DeepCursors)],
					nil, []string{"X-API-KEY", d.OwnerKey}
			},
		},
		heartbeatScenario(d),
		// Validations again, now with an endpoint subscribed to every event
		// (a receiver in this process answers 204): webhooks must not slow
		// the hot paths. They run last, so every scenario before them
		// measures without an endpoint.
		webhookScenario("validate-uncapped-webhook", d.Uncapped, d.OwnerKey),
		webhookScenario("validate-capped-webhook", d.Capped, d.OwnerKey),
	}
}

// webhookScenario validates licenses of pool with an endpoint subscribed
// to "*" (created by Setup, once per run).
func webhookScenario(name string, pool []string, ownerKey string) scenario {
	return scenario{
		Name: name, Method: "POST", Prefix: "/api/v1/project/has-paid", Status: 200, Marker: `"has_paid":true`, Cycle: len(pool),
		Request: func(i int) (string, []byte, []string) {
			return "/api/v1/project/has-paid?action=check_project", []byte("{}"),
				[]string{"X-LICENSE-KEY", pool[i%len(pool)], "X-Devpayr-Domain", "shop.example.com", "Content-Type", "application/json"}
		},
		Setup: func(ctx context.Context, base string) error { return subscribeEverything(ctx, base, ownerKey) },
	}
}

var subscribed sync.Once

// subscribeEverything starts a receiver and subscribes it to every event.
func subscribeEverything(ctx context.Context, base, ownerKey string) error {
	var err error
	subscribed.Do(func() {
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return
		}
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			})) // runs until the process ends
		}()
		body := []byte(`{"url":"http://` + ln.Addr().String() + `/hook","events":["*"]}`)
		var st int
		var resp string
		st, resp, err = do(ctx, http.DefaultClient, "POST", base+"/api/v1/webhook-endpoints", body,
			[]string{"X-API-KEY", ownerKey, "Content-Type", "application/json"})
		if err == nil && st != http.StatusCreated {
			err = fmt.Errorf("create webhook endpoint: %d %s", st, resp)
		}
	})
	return err
}

type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

func do(ctx context.Context, c httpDoer, method, url string, body []byte, headers []string) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", err
	}
	for j := 0; j+1 < len(headers); j += 2 {
		req.Header.Set(headers[j], headers[j+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// refusal is one revocation-to-refusal measurement.
type refusal struct {
	Elapsed  time.Duration // from the revoke's 200 to the first refused validation
	Requests int           // validations it took, counting the refused one
}

// revocationToRefusal creates a license through writer, validates it on
// reader until cached, revokes it on writer, and times the first refused
// validation on reader; n times.
func revocationToRefusal(ctx context.Context, c httpDoer, writer, reader string, d *seeded, n int) ([]refusal, error) {
	var out []refusal
	project := strconv.FormatInt(d.BigProject, 10)
	key := []string{"X-API-KEY", d.OwnerKey, "Content-Type", "application/json"}
	for i := range n {
		st, body, err := do(ctx, c, "POST", writer+"/api/v1/project/"+project+"/licenses",
			[]byte(fmt.Sprintf(`{"title":"revocation %d %d"}`, time.Now().UnixNano(), i)), key)
		if err != nil || st != 201 {
			return nil, fmt.Errorf("create license: %d %v %.200s", st, err, body) //nolint:errorlint // err may be nil: then the status is the failure
		}
		var created struct {
			Data struct {
				ID   int64  `json:"id"`
				UUID string `json:"uuid"`
			} `json:"data"`
		}
		_ = json.Unmarshal([]byte(body), &created)
		validate := func() (int, error) {
			st, _, err := do(ctx, c, "POST", reader+"/api/v1/project/has-paid?action=check_project", []byte("{}"),
				[]string{"X-LICENSE-KEY", created.Data.UUID, "X-Devpayr-Domain", "shop.example.com"})
			return st, err
		}
		for range 3 {
			if st, err := validate(); err != nil || st != 200 {
				return nil, fmt.Errorf("validate before revoke: %d %v", st, err) //nolint:errorlint // err may be nil: then the status is the failure
			}
		}
		st, body, err = do(ctx, c, "POST", writer+"/api/v1/project/"+project+"/licenses/"+strconv.FormatInt(created.Data.ID, 10)+"/revoke", nil, key)
		if err != nil || st != 200 {
			return nil, fmt.Errorf("revoke: %d %v %.200s", st, err, body) //nolint:errorlint // err may be nil: then the status is the failure
		}
		t0 := time.Now()
		r := refusal{}
		for {
			r.Requests++
			st, err := validate()
			if err != nil {
				return nil, err
			}
			if st == http.StatusForbidden {
				r.Elapsed = time.Since(t0)
				break
			}
			if time.Since(t0) > 10*time.Second {
				return nil, fmt.Errorf("still accepted 10 s after the revoke")
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// report collects the figures and renders them.
type report struct {
	backend    string
	opts       options
	rows       []row
	revokeSame []refusal
	revokePeer []refusal
	rss        int64
	nodeRSS    []int64 // -nodes: nodes 2 to N
	errors     int64
	flood      *floodResult
}

type row struct {
	name                  string
	lkRPS, ceilRPS, ratio float64
	p50, p90, p99, max    time.Duration
	ceilP99               time.Duration // the floor: what the machine adds at this load
	// CPU per request of the server processes (latchkey's, the
	// ceiling's), over all rounds; negative when /proc was unreadable.
	lkCPU, ceilCPU     time.Duration
	load               string // the load generator of the rounds
	errors, requests   int64
	ratioMin, ratioMax float64
	// -nodes: ceilRPS and ceilP99 are the proxy's ceiling (the proxy in
	// front of N ceiling servers), directRPS one ceiling server without it.
	directRPS float64
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// add records a scenario's rounds: latchkey's, the ceiling's (through the
// proxy with -nodes), and with -nodes the ceiling's direct, else nil.
func (rp *report) add(name string, lk, ceil, direct []result) {
	var lkRPS, ceilRPS, directRPS, ratios []float64
	merged, ceilMerged := result{}, result{}
	var errs, reqs, ceilReqs int64
	var lkCPU, ceilCPU time.Duration
	var p50s, p90s, p99s, ceilP99s []float64
	var maxLat time.Duration
	for i := range lk {
		p50s, p90s, p99s = append(p50s, float64(lk[i].P50)), append(p90s, float64(lk[i].P90)), append(p99s, float64(lk[i].P99))
		ceilP99s = append(ceilP99s, float64(ceil[i].P99))
		maxLat = max(maxLat, lk[i].MaxLat)
		ceilReqs += ceil[i].Requests
		if lk[i].CPU < 0 || lkCPU < 0 {
			lkCPU = -1
		} else {
			lkCPU += lk[i].CPU
		}
		if ceil[i].CPU < 0 || ceilCPU < 0 {
			ceilCPU = -1
		} else {
			ceilCPU += ceil[i].CPU
		}
		lkRPS = append(lkRPS, lk[i].RPS())
		ceilRPS = append(ceilRPS, ceil[i].RPS())
		if ceil[i].RPS() > 0 {
			ratios = append(ratios, lk[i].RPS()/ceil[i].RPS())
		}
		merged.Latencies = append(merged.Latencies, lk[i].Latencies...)
		ceilMerged.Latencies = append(ceilMerged.Latencies, ceil[i].Latencies...)
		errs += lk[i].Errors + ceil[i].Errors
		reqs += lk[i].Requests
	}
	for _, d := range direct {
		directRPS = append(directRPS, d.RPS())
		errs += d.Errors
	}
	slices.Sort(merged.Latencies)
	slices.Sort(ceilMerged.Latencies)
	rp.errors += errs
	if len(ratios) == 0 {
		ratios = []float64{0}
	}
	r := row{name: name, lkRPS: median(lkRPS), ceilRPS: median(ceilRPS), ratio: median(ratios),
		ratioMin: slices.Min(ratios), ratioMax: slices.Max(ratios),
		p50: merged.Pct(0.50), p90: merged.Pct(0.90), p99: merged.Pct(0.99), max: merged.Max(), ceilP99: ceilMerged.Pct(0.99), errors: errs, requests: reqs,
		directRPS: median(directRPS), lkCPU: perRequest(lkCPU, reqs), ceilCPU: perRequest(ceilCPU, ceilReqs)}
	if len(lk) > 0 {
		r.load = lk[0].Load
	}
	if len(merged.Latencies) == 0 {
		// wrk: its percentiles per round, the median of each over rounds.
		r.p50, r.p90, r.p99, r.max = time.Duration(median(p50s)), time.Duration(median(p90s)), time.Duration(median(p99s)), maxLat
	}
	if len(ceilMerged.Latencies) == 0 {
		r.ceilP99 = time.Duration(median(ceilP99s))
	}
	rp.rows = append(rp.rows, r)
}

// perRequest is cpu ÷ requests, negative when either is unknown or zero.
func perRequest(cpu time.Duration, requests int64) time.Duration {
	if cpu < 0 || requests <= 0 {
		return -1
	}
	return cpu / time.Duration(requests)
}

// us renders a CPU time per request in µs, or "?" when unknown.
func us(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond))
}

// cpuRatio is latchkey's CPU per request over the ceiling's.
func cpuRatio(lk, ceil time.Duration) string {
	if lk < 0 || ceil <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", float64(lk)/float64(ceil))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (rp *report) markdown() string {
	var b strings.Builder
	o := rp.opts
	limits := "in memory"
	if o.redisURL != "" {
		limits = "shared in Redis"
	}
	if o.nodes > 1 {
		rp.nodesTable(&b, limits)
	} else {
		fmt.Fprintf(&b, "Machine: %s, load average %s at the end. Backend: %s, rate limits %s. Data: %d licenses, %d API keys (apikey-read-wide: %d). "+
			"Load: %s (where a scenario's requests can repeat; the others: the Go load generator), %d keep-alive connections, %d rounds of %s per server, alternating ceiling and latchkey. "+
			"CPU per request: utime + stime of the server's own process (/proc/PID/stat) over its rounds ÷ the requests it answered.\n\n",
			machine(), loadAverage(), rp.backend, limits, o.licenses, o.keys, max(o.keys, o.wideKeys), o.loadGen, o.conc, o.rounds, o.duration)
		b.WriteString("| scenario | load | latchkey req/s | ceiling req/s | latchkey ÷ ceiling (min–max) | latchkey CPU µs/req | ceiling CPU µs/req | CPU ÷ ceiling's | p50 ms | p90 ms | p99 ms | max ms | ceiling p99 ms | requests | errors |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rp.rows {
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.2f (%.2f–%.2f) | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n",
				r.name, r.load, r.lkRPS, r.ceilRPS, r.ratio, r.ratioMin, r.ratioMax, us(r.lkCPU), us(r.ceilCPU), cpuRatio(r.lkCPU, r.ceilCPU),
				ms(r.p50), ms(r.p90), ms(r.p99), ms(r.max), ms(r.ceilP99), r.requests, r.errors)
		}
	}
	refusals := func(name string, rs []refusal) {
		if len(rs) == 0 {
			return
		}
		var ds []float64
		maxReq := 0
		for _, r := range rs {
			ds = append(ds, float64(r.Elapsed)/float64(time.Millisecond))
			maxReq = max(maxReq, r.Requests)
		}
		// The figures in the ratio's column; the other cells empty.
		cells := []string{"revocation-to-refusal, " + name, "", "", "",
			fmt.Sprintf("median %.2f ms, max %.2f ms; refused by validation #%d at most after the revoke", median(ds), slices.Max(ds), maxReq)}
		if o.nodes > 1 {
			cells = append(cells, "", "", "", "", "", "")
		} else {
			cells = append(cells, "", "", "", "", "", "", "", "")
		}
		cells = append(cells, strconv.Itoa(len(rs)), "0")
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	refusals("same node", rp.revokeSame)
	refusals("two nodes on one PostgreSQL", rp.revokePeer)
	if rp.flood != nil {
		b.WriteString(rp.flood.markdown())
	}
	if len(rp.nodeRSS) > 0 {
		mbs := []string{fmt.Sprintf("%.0f", float64(rp.rss)/(1<<20))}
		for _, r := range rp.nodeRSS {
			mbs = append(mbs, fmt.Sprintf("%.0f", float64(r)/(1<<20)))
		}
		fmt.Fprintf(&b, "\nPeak RSS of latchkey serve, nodes 1 to %d: %s MB.\n", len(mbs), strings.Join(mbs, ", "))
	} else {
		fmt.Fprintf(&b, "\nPeak RSS of latchkey serve: %.0f MB.\n", float64(rp.rss)/(1<<20))
	}
	return b.String()
}

// nodesTable is the rows of -nodes: latchkey's N nodes through the proxy,
// the proxy in front of N ceiling servers, and one ceiling server direct.
func (rp *report) nodesTable(b *strings.Builder, limits string) {
	o := rp.opts
	fmt.Fprintf(b, "Machine: %s. Backend: %s, %d latchkey nodes on it behind a round-robin reverse proxy (bench/proxy), rate limits %s. "+
		"Data: %d licenses, %d API keys. Load: %d keep-alive connections to the proxy, %d rounds of %s per server, "+
		"alternating ceiling direct, proxy → %d ceiling servers, and proxy → latchkey.\n\n",
		machine(), rp.backend, o.nodes, limits, o.licenses, o.keys, o.conc, o.rounds, o.duration, o.nodes)
	b.WriteString("| scenario | latchkey via proxy req/s (total) | proxy ceiling req/s | ceiling direct req/s | latchkey via proxy ÷ proxy ceiling (min–max) | proxy ceiling ÷ ceiling direct | p50 ms | p90 ms | p99 ms | max ms | proxy ceiling p99 ms | requests | errors |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rp.rows {
		proxyShare := 0.0
		if r.directRPS > 0 {
			proxyShare = r.ceilRPS / r.directRPS
		}
		fmt.Fprintf(b, "| %s | %.0f | %.0f | %.0f | %.2f (%.2f–%.2f) | %.2f | %s | %s | %s | %s | %s | %d | %d |\n",
			r.name, r.lkRPS, r.ceilRPS, r.directRPS, r.ratio, r.ratioMin, r.ratioMax, proxyShare, ms(r.p50), ms(r.p90), ms(r.p99), ms(r.max), ms(r.ceilP99), r.requests, r.errors)
	}
}
