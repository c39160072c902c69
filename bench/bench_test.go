package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestSmoke runs the whole benchmark in its smoke mode, so the program
// cannot rot: every scenario must run against both servers with no failed
// request. With LATCHKEY_TEST_DATABASE_URL it also runs on PostgreSQL, on
// one node and on two behind the proxy (-nodes 2), each in an empty schema
// of its own; in CI (CI set) the variable must be.
func TestSmoke(t *testing.T) {
	cases := map[string][]string{"sqlite": {"-smoke"}}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		cases["postgres"] = []string{"-smoke", "-database-url", storetest.NewPostgresSchema(t, base)}
		cases["postgres-2-nodes"] = []string{"-smoke", "-nodes", "2", "-database-url", storetest.NewPostgresSchema(t, base)}
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
			for _, sc := range []string{"validate-uncapped", "validate-capped", "validate-native", "apikey-read", "license-create",
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
