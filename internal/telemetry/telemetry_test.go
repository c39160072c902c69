package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/latchkey/latchkey/internal/core"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		vars    map[string]string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom"}, "https://b/custom", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "TRUE"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "false"}, "http://a:4318/v1/traces", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "maybe"}, "", "OTEL_SDK_DISABLED"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_TRACES_EXPORTER": "none"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_TRACES_EXPORTER": "zipkin"}, "", "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http://a:4318/v1/traces", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "", "http:// or https://"},
	}
	for _, tc := range tests {
		got, err := endpointURL(env(tc.vars))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want one naming %s", tc.vars, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.vars, got, err, tc.want)
		}
	}
}

func TestSampler(t *testing.T) {
	tests := []struct {
		name, arg, want, wantErr string
	}{
		{"", "", "ParentBased{root:AlwaysOnSampler", ""},
		{"always_off", "", "AlwaysOffSampler", ""},
		{"traceidratio", "0.25", "TraceIDRatioBased{0.25}", ""},
		{"parentbased_traceidratio", "0.5", "ParentBased{root:TraceIDRatioBased{0.5}", ""},
		{"traceidratio", "2", "", "OTEL_TRACES_SAMPLER_ARG"},
		{"jaeger_remote", "", "", "OTEL_TRACES_SAMPLER"},
	}
	for _, tc := range tests {
		s, err := samplerFrom(env(map[string]string{"OTEL_TRACES_SAMPLER": tc.name, "OTEL_TRACES_SAMPLER_ARG": tc.arg}))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %s: err %v", tc.name, tc.arg, err)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(s.Description(), tc.want) {
			t.Errorf("%s %s: %v, %v; want %s", tc.name, tc.arg, s, err, tc.want)
		}
	}
}

// Setup without an endpoint is off: nil, no error.
func TestSetupOff(t *testing.T) {
	tr, err := Setup(context.Background(), env(nil), "v1")
	if tr != nil || err != nil {
		t.Fatalf("Setup without an endpoint = %v, %v", tr, err)
	}
}

// Lines logged with a context name its request and, inside a span, its
// trace; lines without either are left as they are, and a line that names
// its request_id already does not get it twice.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx := core.WithRequest(context.Background(), core.Request{ID: "req-1"})
	ctx, span := tp.Tracer("t").Start(ctx, "op")
	sc := span.SpanContext()

	tests := []struct {
		name string
		log  func()
		want map[string]any
		not  []string
	}{
		{"traced request", func() { log.InfoContext(ctx, "x") },
			map[string]any{"request_id": "req-1", "trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(), "component": "test"}, nil},
		{"request, no trace", func() { log.WarnContext(core.WithRequest(context.Background(), core.Request{ID: "req-2"}), "x") },
			map[string]any{"request_id": "req-2"}, []string{"trace_id", "span_id"}},
		{"no context", func() { log.Info("x") }, nil, []string{"request_id", "trace_id"}},
		{"request_id given", func() { log.ErrorContext(ctx, "x", "request_id", "req-1") }, map[string]any{"request_id": "req-1"}, nil},
	}
	for _, tc := range tests {
		buf.Reset()
		tc.log()
		if strings.Count(buf.String(), `"request_id"`) > 1 {
			t.Errorf("%s: request_id twice: %s", tc.name, buf.String())
		}
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, got[k], v)
			}
		}
		for _, k := range tc.not {
			if _, ok := got[k]; ok {
				t.Errorf("%s: has %s: %v", tc.name, k, got)
			}
		}
	}
	span.End()
}
