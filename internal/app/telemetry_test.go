package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/config"
)

// collector is an in-process OTLP/HTTP receiver: POST /v1/traces with a
// protobuf ExportTraceServiceRequest, as the OpenTelemetry Collector takes it.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	attrs map[string]string // resource attributes, last seen
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces, application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		c.attrs = map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			c.attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func attr(s *tracepb.Span, key string) (string, bool) {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue(), true
		}
	}
	return "", false
}

// startTelemetryNode starts a real node (SQLite, loopback HTTP) with extra
// environment, JSON logs into logs, and an owner's API key.
func startTelemetryNode(t *testing.T, in instance, extra map[string]string, logs io.Writer) (*Server, string) {
	t.Helper()
	in.mustRun(t, "admin", "create-user", "--email", "ops@example.com", "--password", "correct horse", "--org", "Ops")
	key := strings.TrimSpace(in.mustRun(t, "admin", "create-key", "--email", "ops@example.com", "--name", "telemetry"))
	cfg := config.Defaults()
	cfg.Addr, cfg.DataDir, cfg.DatabaseURL, cfg.PasswordCost = "127.0.0.1:0", in.dataDir, in.dbURL, 4
	cfg.ShutdownTimeout, cfg.LogFormat = 10*time.Second, "json"
	if v := extra["LATCHKEY_IP_RATE_LIMIT"]; v != "" {
		_, _ = fmt.Sscan(v, &cfg.IPRateLimit)
	}
	srv, err := Start(context.Background(), cfg, Env{Getenv: in.env(extra), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	return srv, key
}

func call(t *testing.T, srv *Server, method, path, key, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.Addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, every request is one trace: the
// HTTP server span (named after the clean route) with the store spans as
// its children, exported over OTLP/HTTP and flushed by the shutdown. A
// caller's traceparent is continued; the log lines of a request carry its
// trace_id and span_id; no span holds SQL text or a credential.
func TestTracesReachCollector(t *testing.T) {
	for _, in := range instances(t) {
		t.Run(in.backend, func(t *testing.T) { testTracesReachCollector(t, in) })
	}
}

func testTracesReachCollector(t *testing.T, in instance) {
	system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[in.backend]
	col := &collector{}
	cs := httptest.NewServer(col)
	defer cs.Close()
	var logs syncBuffer
	srv, key := startTelemetryNode(t, in, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": cs.URL, "OTEL_SERVICE_NAME": ""}, &logs)
	const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	ids := map[string]string{} // request ID → the caller's expectation
	for i := range 3 {
		id := fmt.Sprintf("tel-%d", i)
		headers := []string{"X-Request-ID", id}
		if i == 2 {
			headers = append(headers, "traceparent", "00-"+parentTrace+"-"+parentSpan+"-01")
		}
		res := call(t, srv, "POST", "/api/v1/project", key, fmt.Sprintf(`{"name":"Traced %d"}`, i), headers...)
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			t.Fatalf("create project: %d", res.StatusCode)
		}
		ids[id] = ""
	}
	if res := call(t, srv, "GET", "/metrics", "", ""); res.StatusCode != 200 {
		t.Fatalf("/metrics = %d", res.StatusCode)
	}
	if err := srv.Shutdown(); err != nil { // flushes the batched spans
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if col.attrs["service.name"] != "latchkey" {
		t.Errorf("service.name = %q, want latchkey", col.attrs["service.name"])
	}
	byTrace := map[string][]*tracepb.Span{}
	for _, s := range col.spans {
		byTrace[hex.EncodeToString(s.GetTraceId())] = append(byTrace[hex.EncodeToString(s.GetTraceId())], s)
		for _, kv := range s.GetAttributes() {
			v := kv.GetValue().GetStringValue()
			if strings.Contains(v, key[8:]) || kv.GetKey() == "db.statement" || kv.GetKey() == "db.query.text" ||
				strings.Contains(v, "INSERT ") || strings.Contains(v, "SELECT ") {
				t.Errorf("span %s holds %s=%q", s.GetName(), kv.GetKey(), v)
			}
		}
	}
	traceOf := map[string]string{} // request ID → trace ID
	for tid, spans := range byTrace {
		var server *tracepb.Span
		for _, s := range spans {
			if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
				if server != nil {
					t.Fatalf("trace %s has two server spans", tid)
				}
				server = s
			}
		}
		if server == nil {
			t.Fatalf("trace %s has no server span: %v", tid, spans)
		}
		if server.GetName() != "POST /api/v1/project" {
			t.Errorf("server span named %q", server.GetName())
		}
		if r, _ := attr(server, "http.route"); r != "/api/v1/project" {
			t.Errorf("http.route = %q", r)
		}
		rid, _ := attr(server, "latchkey.request_id")
		traceOf[rid] = tid
		children := 0
		for _, s := range spans {
			if s == server {
				continue
			}
			if !bytes.Equal(s.GetParentSpanId(), server.GetSpanId()) {
				t.Errorf("span %s is not a child of the server span", s.GetName())
				continue
			}
			if sys, _ := attr(s, "db.system"); sys != system || !strings.HasPrefix(s.GetName(), "store.") || s.GetName() == "store.statement" {
				t.Errorf("store span %q, db.system %q", s.GetName(), sys)
			}
			children++
		}
		if children == 0 {
			t.Errorf("trace %s (request %s) has no store span", tid, rid)
		}
		names := make([]string, 0, len(spans))
		for _, s := range spans {
			names = append(names, s.GetName())
		}
		t.Logf("request %s, trace %s: %s", rid, tid, strings.Join(names, ", "))
		if rid == "tel-2" && (tid != parentTrace || hex.EncodeToString(server.GetParentSpanId()) != parentSpan) {
			t.Errorf("the caller's traceparent was not continued: trace %s, parent %x", tid, server.GetParentSpanId())
		}
	}
	if len(byTrace) != len(ids) {
		t.Fatalf("%d traces for %d traced requests (/metrics is not traced): %v", len(byTrace), len(ids), traceOf)
	}
	// Every line logged for a request names its request and its trace.
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		rid, _ := l["request_id"].(string)
		if _, ok := ids[rid]; !ok {
			continue
		}
		seen++
		if l["trace_id"] != traceOf[rid] || l["span_id"] == nil || l["span_id"] == "" {
			t.Errorf("log line of request %s: trace_id %v, want %s; span_id %v", rid, l["trace_id"], traceOf[rid], l["span_id"])
		}
	}
	if seen < len(ids) {
		t.Errorf("%d log lines name the requests, want at least an access line each:\n%s", seen, logs.String())
	}
}

// Without an OTLP endpoint, or with OTEL_SDK_DISABLED, nothing is traced
// and log lines carry the request ID but no trace.
func TestTracingOff(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no endpoint":  nil,
		"sdk disabled": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"},
	} {
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			srv, key := startTelemetryNode(t, instances(t)[0], env, &logs)
			call(t, srv, "GET", "/api/v1/projects", key, "", "X-Request-ID", "off-1")
			if err := srv.Shutdown(); err != nil {
				t.Fatal(err)
			}
			if srv.tracing != nil {
				t.Fatal("tracing is on")
			}
			if !strings.Contains(logs.String(), `"request_id":"off-1"`) || strings.Contains(logs.String(), "trace_id") {
				t.Fatalf("logs:\n%s", logs.String())
			}
		})
	}
}

// --access-log=false (LATCHKEY_ACCESS_LOG=false) drops the per-request line
// at info; a real node logs one per request by default, without the query
// string.
func TestAccessLogSwitch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want bool
	}{{nil, "", true}, {nil, "false", false}, {nil, "true", true}, {[]string{"--access-log=false"}, "true", false}} {
		t.Run(fmt.Sprintf("%v LATCHKEY_ACCESS_LOG=%s", tc.args, tc.env), func(t *testing.T) {
			in := instances(t)[0]
			cfg := config.Defaults()
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			cfg.AddStoreFlags(fs)
			cfg.AddServeFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := config.ApplyEnv(fs, in.env(map[string]string{"LATCHKEY_ACCESS_LOG": tc.env}), &cfg); err != nil {
				t.Fatal(err)
			}
			cfg.Addr, cfg.PasswordCost, cfg.LogFormat = "127.0.0.1:0", 4, "json"
			var logs syncBuffer
			srv, err := Start(context.Background(), cfg, Env{Getenv: in.env(nil), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &logs})
			if err != nil {
				t.Fatal(err)
			}
			call(t, srv, "GET", "/healthz?token=abc", "", "")
			if err := srv.Shutdown(); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(logs.String(), `"msg":"request"`)
			if got != tc.want {
				t.Fatalf("access line logged: %v, want %v:\n%s", got, tc.want, logs.String())
			}
			if tc.want && (!strings.Contains(logs.String(), `"route":"/healthz"`) || strings.Contains(logs.String(), "token=abc")) {
				t.Fatalf("access line:\n%s", logs.String())
			}
		})
	}
}

// The metrics a real node serves after some traffic pass `promtool check
// metrics` (Prometheus's own linter) and hold what operations.md lists:
// build_info, the pools, the caches, the rate limits' rejections by kind,
// the HTTP histogram by clean route, method and status class. Without
// promtool the check is skipped, except under CI=true, where it fails.
func TestMetricsPassPromtool(t *testing.T) {
	var logs syncBuffer
	srv, key := startTelemetryNode(t, instances(t)[0], map[string]string{"LATCHKEY_IP_RATE_LIMIT": "2"}, &logs)
	defer func() { _ = srv.Shutdown() }()
	call(t, srv, "POST", "/api/v1/project", key, `{"name":"Scraped"}`)
	call(t, srv, "GET", "/api/v1/projects", key, "")
	call(t, srv, "GET", "/api/v1/projects", key, "")
	call(t, srv, "GET", "/nowhere", "", "")
	for range 4 { // wrong keys from one address: the per-IP guard refuses
		call(t, srv, "GET", "/api/v1/projects", "sk_live_wrongwrongwrongwrongwrongwrong", "")
	}
	res, err := http.Get("http://" + srv.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	text := string(body)
	for _, want := range []string{
		`latchkey_build_info{goversion="go`,
		`go_sql_open_connections{db_name="sqlite_read"}`,
		`latchkey_cache_events_total{cache="api_key",event="hit"}`,
		`latchkey_cache_entries{cache="license_snapshot"}`,
		`latchkey_ratelimit_rejections_total{kind="api_key"} 0`,
		`latchkey_ratelimit_rejections_total{kind="license"} 0`,
		`latchkey_http_request_duration_seconds_bucket{method="GET",route="/api/v1/projects",status_class="2xx",le=`,
		`latchkey_http_request_duration_seconds_count{method="POST",route="/api/v1/project",status_class="2xx"} 1`,
		`latchkey_http_request_duration_seconds_count{method="GET",route="/",status_class="4xx"} 1`, // the dashboard's not-found page
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(text, `latchkey_build_info{`) || !strings.Contains(text, `} 1`) {
		t.Errorf("no build_info")
	}
	if !strings.Contains(text, `latchkey_ratelimit_rejections_total{kind="ip"} `) || strings.Contains(text, `latchkey_ratelimit_rejections_total{kind="ip"} 0`) {
		t.Errorf("the per-IP refusals are not counted")
	}
	if strings.Contains(text, "{$}") || strings.Contains(text, `route="GET `) || strings.Contains(text, `route="POST `) {
		t.Errorf("a route label leaks pattern syntax")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (.ci/run installs Debian's prometheus package)")
		}
		t.Skip("promtool is not installed: the lint is skipped (CI runs it)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
