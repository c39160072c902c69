package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// wrkScript drives wrk from a file of requests written by writeRequests:
// each thread formats all of them once (wrk.format) in init, then hands out
// the next ready request on every call, starting at a different offset per
// thread, so the per-request cost of the generator is a table index. done
// prints one line the benchmark parses: requests, duration (µs), errors
// (socket and non-2xx/3xx) and the latency percentiles (µs).
const wrkScript = `
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local reqs, n, i = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local f = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
    local headers = {}
    for k = 4, #f - 1, 2 do headers[f[k]] = f[k + 1] end
    local body = f[3]
    if body == "" then body = nil end
    n = n + 1
    reqs[n] = wrk.format(f[1], f[2], headers, body)
  end
  i = (tid * math.floor(n / tonumber(args[2]))) % n
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LATCHKEY-WRK %d %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`

// wrkLoader runs scenarios with wrk, in a directory of its own for the
// script and the request files.
type wrkLoader struct {
	bin, dir string
	files    map[string]string // scenario name → request file
}

func newWrkLoader(bin, dir string) (*wrkLoader, error) {
	dir = filepath.Join(dir, "wrk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "script.lua"), []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	return &wrkLoader{bin: bin, dir: dir, files: map[string]string{}}, nil
}

// writeRequests writes sc.Cycle requests of sc, one per line, fields
// separated by tabs: method, path, body, then header names and values.
func (w *wrkLoader) writeRequests(sc scenario, seq *atomic.Int64) (string, error) {
	if f, ok := w.files[sc.Name]; ok {
		return f, nil
	}
	var b bytes.Buffer
	from := int(seq.Add(int64(sc.Cycle))) - sc.Cycle
	for i := from; i < from+sc.Cycle; i++ {
		path, body, headers := sc.Request(i)
		fields := append([]string{sc.Method, path, string(body)}, headers...)
		for _, f := range fields {
			if strings.ContainsAny(f, "\t\n") {
				return "", fmt.Errorf("%s: a request field holds a tab or a newline, which the wrk script cannot carry: %q", sc.Name, f)
			}
		}
		b.WriteString(strings.Join(fields, "\t"))
		b.WriteByte('\n')
	}
	f := filepath.Join(w.dir, sc.Name+".tsv")
	if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
		return "", err
	}
	w.files[sc.Name] = f
	return f, nil
}

// load runs sc against base with wrk: conc connections over as many
// threads as there are cores (fewer when conc is smaller), for dur rounded
// up to a whole second (wrk's resolution). wrk checks each answer's status
// class (a non-2xx/3xx answer is an error), not its body: the body of the
// scenario's answer was checked on the sample before the ceiling started.
func (w *wrkLoader) load(ctx context.Context, base string, sc scenario, conc int, dur time.Duration, seq *atomic.Int64) result {
	fail := func(err error) result { return result{Errors: 1, FirstErr: "wrk: " + err.Error(), Duration: dur} }
	file, err := w.writeRequests(sc, seq)
	if err != nil {
		return fail(err)
	}
	threads := min(conc, runtime.NumCPU())
	secs := max(1, int((dur+time.Second-1)/time.Second))
	cmd := exec.CommandContext(ctx, w.bin, "-t", fmt.Sprint(threads), "-c", fmt.Sprint(conc), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "30s", "-s", filepath.Join(w.dir, "script.lua"), base, "--", file, fmt.Sprint(threads))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fail(fmt.Errorf("%w: %s", err, strings.TrimSpace(errOut.String())))
	}
	return parseWrk(out.String())
}

// parseWrk reads the line of wrkScript's done.
func parseWrk(out string) result {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "LATCHKEY-WRK ")
		if !ok {
			continue
		}
		var reqs, durUS, connect, read, write, status, timeout, p50, p90, p99, maxUS int64
		if _, err := fmt.Sscan(rest, &reqs, &durUS, &connect, &read, &write, &status, &timeout, &p50, &p90, &p99, &maxUS); err != nil {
			return result{Errors: 1, FirstErr: "wrk output: " + err.Error()}
		}
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		r := result{Requests: reqs, Duration: us(durUS), Errors: connect + read + write + status + timeout,
			P50: us(p50), P90: us(p90), P99: us(p99), MaxLat: us(maxUS), Load: "wrk"}
		if r.Errors > 0 {
			r.FirstErr = fmt.Sprintf("wrk: %d connect, %d read, %d write, %d timeout errors, %d answers not 2xx/3xx", connect, read, write, timeout, status)
		}
		return r
	}
	return result{Errors: 1, FirstErr: "wrk printed no summary line: " + strings.TrimSpace(out)}
}
