package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestSmoke runs the whole benchmark in its smoke mode, so the program
// cannot rot: every scenario must run against both servers with no failed
// request. With LATCHKEY_TEST_DATABASE_URL it also runs on PostgreSQL, on
// one node and on two behind the proxy (-nodes 2), each in an empty schema
// of its own; in CI (CI set) the variable must be. These runs use the Go
// load generator, which needs nothing installed; TestSmokeWrk runs wrk.
func TestSmoke(t *testing.T) {
	cases := map[string][]string{"sqlite": {"-smoke", "-load", "go"}}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		cases["postgres"] = []string{"-smoke", "-load", "go", "-database-url", storetest.NewPostgresSchema(t, base)}
		cases["postgres-2-nodes"] = []string{"-smoke", "-load", "go", "-nodes", "2", "-database-url", storetest.NewPostgresSchema(t, base)}
	} else if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set (CI is set: the PostgreSQL smoke runs must run)", storetest.PostgresURLEnv)
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if err := run(context.Background(), args, &out, &errs); err != nil {
				t.Fatalf("bench: %v\n%s", err, errs.String())
			}
			report := out.String()
			for _, sc := range []string{"validate-uncapped", "validate-capped", "validate-capped-hot", "validate-native", "apikey-read", "apikey-read-wide", "license-create",
				"show-latency", "list-deep-latency", "list-deep", "list-by-metadata", "heartbeat", "revocation-to-refusal, same node"} {
				if !strings.Contains(report, "| "+sc+" |") {
					t.Fatalf("the report has no %s row:\n%s", sc, report)
				}
			}
			if name != "sqlite" && !strings.Contains(report, "two nodes on one PostgreSQL") {
				t.Fatalf("no two-node revocation row:\n%s", report)
			}
			if proxied := strings.Contains(report, "| proxy ceiling req/s | ceiling direct req/s |"); proxied != (name == "postgres-2-nodes") {
				t.Fatalf("the proxy columns are there: %v, want them only with -nodes 2:\n%s", proxied, report)
			}
			if !strings.Contains(report, "Flood of invented credentials") || !strings.Contains(report, "0 unexpected answers") {
				t.Fatalf("no flood line, or one with unexpected answers:\n%s", report)
			}
			if !strings.Contains(report, "Peak RSS") {
				t.Fatalf("no RSS line:\n%s", report)
			}
		})
	}
}

// TestNodesNeedPostgres: -nodes 2 without -database-url is refused, by
// name, before anything is built.
func TestNodesNeedPostgres(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-smoke", "-nodes", "2"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "-database-url") || !strings.Contains(err.Error(), "-nodes") {
		t.Fatalf("run -nodes 2 without -database-url: %v, want an error naming both flags", err)
	}
}

// TestSmokeWrk runs two scenarios with wrk (skipped where it is not
// installed): every row says wrk ran it and has a CPU per request for
// latchkey and the ceiling, read from /proc.
func TestSmokeWrk(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed")
	}
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-smoke", "-load", "wrk", "-only", "validate-uncapped,apikey-read-wide"}, &out, &errs); err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	rowRe := regexp.MustCompile(`(?m)^\| (validate-uncapped|apikey-read-wide) \| wrk \| \d+ \| \d+ \| [0-9.]+ \([0-9.–]+\) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|`)
	rows := rowRe.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 2 {
		t.Fatalf("want 2 wrk rows with CPU per request, got %d:\n%s", len(rows), out.String())
	}
	for _, r := range rows {
		if r[2] == "0.0" || r[3] == "0.0" {
			t.Fatalf("%s: CPU per request latchkey %s µs, ceiling %s µs: want both above 0", r[1], r[2], r[3])
		}
	}
}

// TestParseWrk reads the summary line of the wrk script.
func TestParseWrk(t *testing.T) {
	r := parseWrk("Running 1s test\nLATCHKEY-WRK 1000 2000000 0 0 0 3 1 150 400 900 5000\n")
	if r.Requests != 1000 || r.Duration != 2*time.Second || r.Errors != 4 || r.P50 != 150*time.Microsecond || r.MaxLat != 5*time.Millisecond {
		t.Fatalf("parsed %+v", r)
	}
	if r.RPS() != 500 {
		t.Fatalf("RPS %v, want 500", r.RPS())
	}
	if bad := parseWrk("no summary"); bad.Errors == 0 {
		t.Fatalf("a missing summary line is not an error: %+v", bad)
	}
}

// TestProcessCPU reads this process's own CPU time from /proc while it
// spins: the figure must grow (by a clock tick at least) within seconds,
// however busy the machine.
func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		after, err := processCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			if after-before < clockTick {
				t.Fatalf("CPU grew by %v, less than a clock tick", after-before)
			}
			return
		}
	}
	t.Fatalf("CPU time stayed at %v over 10 s of spinning", before)
}
