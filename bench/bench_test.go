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
// request.
func TestSmoke(t *testing.T) {
	cases := map[string][]string{"sqlite": {"-smoke"}}
	if base := os.Getenv(storetest.PostgresURLEnv); base != "" {
		cases["postgres"] = []string{"-smoke", "-database-url", storetest.NewPostgresSchema(t, base)}
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
			if name == "postgres" && !strings.Contains(report, "two nodes on one PostgreSQL") {
				t.Fatalf("no two-node revocation row:\n%s", report)
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
