package telemetry

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogBufferSize is how many bytes of access-log lines wait before they are
// written: at 10,000 requests a second, one write a few hundred lines
// instead of a system call per request.
const LogBufferSize = 64 << 10

// LogFlushInterval is the longest an access-log line waits in the buffer.
const LogFlushInterval = 100 * time.Millisecond

// LogBuffer sits between the log handler and the log's file. The access
// log's per-request lines are held (Write) until the buffer fills, the
// next tick of Run, or a line that must not wait (Sync): nginx's
// `access_log … buffer= flush=`. Every other line (start-up, warnings,
// errors) is written with what waits before it, at once, by LogHandler.
// A crash loses at most LogFlushInterval of access-log lines, never a
// warning or an error.
type LogBuffer struct {
	mu  sync.Mutex
	out io.Writer
	w   *bufio.Writer
}

// NewLogBuffer buffers writes to w.
func NewLogBuffer(w io.Writer) *LogBuffer {
	return &LogBuffer{out: w, w: bufio.NewWriterSize(w, LogBufferSize)}
}

// reset drops what is held after a failed write: a bufio.Writer keeps its
// first error and refuses every later write, so one failure of the log's
// file (a full disk, a pipe's reader restarting) would silence the log for
// good. The lines held are lost, as an unbuffered write's would be.
func (b *LogBuffer) reset(err error) error {
	if err != nil {
		b.w.Reset(b.out)
	}
	return err
}

// Write holds p, writing what waits first when p does not fit. slog's
// handlers write one whole line per call, so a line is never split by a
// flush from Run.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	return n, b.reset(err)
}

// Sync writes everything held.
func (b *LogBuffer) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reset(b.w.Flush())
}

// Run writes what is held at every tick until stop is closed, then once
// more. The caller supplies the ticks (a time.Ticker's channel in
// production, a test's own channel in tests).
func (b *LogBuffer) Run(tick <-chan time.Time, stop <-chan struct{}) {
	for {
		select {
		case <-tick:
			_ = b.Sync()
		case <-stop:
			_ = b.Sync()
			return
		}
	}
}
