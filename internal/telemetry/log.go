package telemetry

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/internal/core"
)

// LogHandler adds to every record logged with a context (the *Context
// methods, LogAttrs) the request's ID and, inside a traced request, its
// trace_id and span_id, so that a log line leads to its request and its
// trace. A record that already names its request_id keeps it.
//
// With a LogBuffer (NewBufferedLogHandler) under next, the access log's
// lines (core.AccessLogMessage below warn) wait in the buffer and every
// other line is written at once, with what waited before it.
type LogHandler struct {
	next slog.Handler
	buf  *LogBuffer
}

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler { return &LogHandler{next: next} }

// NewBufferedLogHandler wraps next, which writes into buf.
func NewBufferedLogHandler(next slog.Handler, buf *LogBuffer) *LogHandler {
	return &LogHandler{next: next, buf: buf}
}

// Enabled reports what next reports.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle adds the context's fields and hands the record on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		addContext(ctx, &r)
	}
	err := h.next.Handle(ctx, r)
	if h.buf != nil && (r.Level >= slog.LevelWarn || r.Message != core.AccessLogMessage) {
		err = errors.Join(err, h.buf.Sync())
	}
	return err
}

// addContext adds the request's ID and trace to r.
func addContext(ctx context.Context, r *slog.Record) {
	if id := core.RequestID(ctx); id != "" && !hasAttr(*r, "request_id") {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
}

// WithAttrs wraps next's.
func (h *LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(as), buf: h.buf}
}

// WithGroup wraps next's.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name), buf: h.buf}
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
