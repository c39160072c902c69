package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// StoreSpans makes the spans of store statements (store.SetTracer): one
// client span per statement, named after the store operation that ran it,
// with db.system and db.operation.name. Never the statement's text or
// arguments: they hold license keys and digests.
type StoreSpans struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

// NewStoreSpans returns the store's span maker for a backend: "sqlite" or
// "postgres" (reported as db.system "postgresql", the conventions' name).
func NewStoreSpans(tp trace.TracerProvider, dialect string) *StoreSpans {
	system := dialect
	if dialect == "postgres" {
		system = "postgresql"
	}
	return &StoreSpans{
		tracer: tp.Tracer("github.com/latchkey/latchkey/internal/store"),
		system: attribute.String("db.system", system),
	}
}

// Traced reports whether a statement run with ctx gets a span: only inside
// a recorded span (a sampled request). Background loops (usage flushes,
// webhook polling) would otherwise each start a trace of their own every
// few seconds.
func (s *StoreSpans) Traced(ctx context.Context) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}

// Start starts a statement's span; end records its error, if any.
func (s *StoreSpans) Start(ctx context.Context, op, verb string) (context.Context, func(error)) {
	ctx, span := s.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.system, attribute.String("db.operation.name", verb)))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "statement failed")
			span.SetAttributes(attribute.String("error.type", "store"))
		}
		span.End()
	}
}
