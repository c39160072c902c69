package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// countingWriter records each Write call: a call is one system call on a
// file.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   int // how many writes to refuse
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.fail > 0 {
		w.fail--
		return 0, errors.New("disk full")
	}
	return w.buf.Write(p)
}

func (w *countingWriter) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String(), w.writes
}

// Access-log lines wait in the buffer (no write per line) until a tick, a
// full buffer or a line that must not wait; every other line, and any line
// at warn or above, is written at once with what waited before it, in
// order; stopping writes the rest.
func TestLogBuffer(t *testing.T) {
	out := &countingWriter{}
	buf := NewLogBuffer(out)
	log := slog.New(NewBufferedLogHandler(slog.NewTextHandler(buf, nil), buf))
	ctx := context.Background()
	tick, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() { buf.Run(tick, stop); close(done) }()

	for i := range 100 {
		log.LogAttrs(ctx, slog.LevelInfo, core.AccessLogMessage, slog.Int("n", i))
	}
	if text, writes := out.state(); writes != 0 || text != "" {
		t.Fatalf("100 access lines made %d writes", writes)
	}
	tick <- time.Now()
	tick <- time.Now() // the first tick's flush is done once the second is taken
	if text, writes := out.state(); writes != 1 || strings.Count(text, "msg=request") != 100 {
		t.Fatalf("after a tick: %d writes, %d lines", writes, strings.Count(text, "msg=request"))
	}

	tests := []struct {
		name string
		log  func()
	}{
		{"a warning access line", func() { log.LogAttrs(ctx, slog.LevelWarn, core.AccessLogMessage, slog.Int("status", 500)) }},
		{"an info line of another kind", func() { log.Info("listening") }},
		{"an error", func() { log.Error("internal error") }},
	}
	for _, tc := range tests {
		log.LogAttrs(ctx, slog.LevelInfo, core.AccessLogMessage, slog.String("before", tc.name))
		_, before := out.state()
		tc.log()
		text, writes := out.state()
		if writes != before+1 {
			t.Errorf("%s: %d writes, want one", tc.name, writes-before)
		}
		if i, j := strings.Index(text, "before=\""+tc.name), strings.LastIndex(text, "level="); i < 0 || i > j {
			t.Errorf("%s: the waiting line was not written first:\n%s", tc.name, text)
		}
	}

	// A full buffer writes without waiting for a tick: memory stays bounded.
	_, before := out.state()
	line := strings.Repeat("x", 1000)
	for range LogBufferSize/1000 + 10 {
		log.LogAttrs(ctx, slog.LevelInfo, core.AccessLogMessage, slog.String("pad", line))
	}
	if _, writes := out.state(); writes == before {
		t.Fatal("a full buffer was not written")
	}

	log.LogAttrs(ctx, slog.LevelInfo, core.AccessLogMessage, slog.String("last", "yes"))
	close(stop)
	<-done
	if text, _ := out.state(); !strings.Contains(text, "last=yes") {
		t.Fatal("stopping lost the last line")
	}
}

// A failed write loses the lines it held, and only those: the next lines
// are written (a bufio.Writer alone would refuse every write after its
// first error, and the log would fall silent).
func TestLogBufferRecoversFromAFailedWrite(t *testing.T) {
	out := &countingWriter{fail: 1}
	buf := NewLogBuffer(out)
	log := slog.New(NewBufferedLogHandler(slog.NewTextHandler(buf, nil), buf))
	log.Error("lost")
	log.Error("after the failure")
	log.LogAttrs(context.Background(), slog.LevelInfo, core.AccessLogMessage, slog.String("later", "yes"))
	if err := buf.Sync(); err != nil {
		t.Fatal(err)
	}
	text, _ := out.state()
	if strings.Contains(text, "msg=lost") || !strings.Contains(text, "after the failure") || !strings.Contains(text, "later=yes") {
		t.Fatalf("after one failed write the log holds:\n%s", text)
	}
}
