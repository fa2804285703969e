package sidecar

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logBufferLimit is the size at which the buffered log is written out
// without waiting for the interval: about a hundred mint lines, so under
// load a write carries many lines instead of one.
const logBufferLimit = 32 << 10

// newLogger returns Run's JSON logger on w and the function that closes
// it, which Run must call before it returns: it stops the interval flusher
// and writes out what is buffered, returning any write error not yet
// reported.
//
// With interval 0 every line is written to w as it is logged. Otherwise
// lines are buffered (logBuffer) and written when the buffer passes
// logBufferLimit, every interval, at once with any record at level WARN
// or above, and on close. What a crash (or a second signal, or SIGKILL)
// loses is at most the last interval of INFO and DEBUG lines.
func newLogger(w io.Writer, level slog.Leveler, interval time.Duration) (*slog.Logger, func() error) {
	opts := &slog.HandlerOptions{Level: level}
	if interval <= 0 {
		return slog.New(slog.NewJSONHandler(w, opts)), func() error { return nil }
	}
	b := newLogBuffer(w, logBufferLimit)
	ticker := time.NewTicker(interval)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b.flushEvery(ticker.C, stop)
	}()
	closeLog := sync.OnceValue(func() error {
		ticker.Stop()
		close(stop)
		<-done
		return b.Flush()
	})
	return slog.New(flushOnWarn{slog.NewJSONHandler(b, opts), b}), closeLog
}

// logBuffer is an io.Writer that keeps what is written in memory until
// Flush writes it to the underlying writer in one call. Each Write must be
// whole lines (slog's handlers write one record per call); lines are never
// split or interleaved, and batches reach w in the order they were written.
//
// A Write that takes the buffer past limit flushes it at once, in the
// caller's goroutine: a writer slower than the log holds the loggers back,
// as an unbuffered one would, instead of growing the buffer without end.
//
// A batch whose write fails is dropped, as slog drops a line whose write
// fails: keeping it would grow memory while the writer is broken. The
// error goes to whoever asked for the flush: Write (and so slog's handler)
// for the size limit, Flush for the WARN path and close. The interval
// flusher has no caller to tell, so it keeps the count and the last error
// and the next Flush returns them; it never panics or retries.
type logBuffer struct {
	w     io.Writer
	limit int

	mu       sync.Mutex // guards buf, tickErr and tickErrs
	buf      []byte
	tickErr  error // the last failed interval flush, not yet returned
	tickErrs int   // failed interval flushes since one was returned

	// flushMu is held across the write to w, so that batches reach w in
	// order while new lines keep going to buf under mu.
	flushMu sync.Mutex
	spare   []byte // the last batch's array, reused for buf; guarded by flushMu
}

func newLogBuffer(w io.Writer, limit int) *logBuffer {
	// Two arrays, filled and written in turn, a little over the limit so
	// that the line passing it does not grow them.
	size := limit + limit/4
	return &logBuffer{w: w, limit: limit, buf: make([]byte, 0, size), spare: make([]byte, 0, size)}
}

// Write appends p to the buffer, and flushes the buffer when it passes
// the limit.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= b.limit
	b.mu.Unlock()
	if full {
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes everything buffered to the underlying writer. It returns
// the error of that write, joined with the failure of any interval flush
// since the last Flush.
func (b *logBuffer) Flush() error {
	err := b.flush()
	b.mu.Lock()
	tickErr, n := b.tickErr, b.tickErrs
	b.tickErr, b.tickErrs = nil, 0
	b.mu.Unlock()
	if tickErr == nil {
		return err
	}
	tickErr = fmt.Errorf("%d interval log flushes failed, the last: %w", n, tickErr)
	if err == nil {
		return tickErr
	}
	return fmt.Errorf("%w (and %w)", err, tickErr)
}

// flushEvery flushes the buffer on every tick until stop is closed. A
// failed write is kept for the next Flush (see logBuffer).
func (b *logBuffer) flushEvery(tick <-chan time.Time, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-tick:
			if err := b.flush(); err != nil {
				b.mu.Lock()
				b.tickErr = err
				b.tickErrs++
				b.mu.Unlock()
			}
		}
	}
}

// flush writes the current batch to w, outside mu: loggers go on
// appending to the other array meanwhile.
func (b *logBuffer) flush() error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	batch := b.buf
	b.buf = b.spare[:0]
	b.mu.Unlock()
	if len(batch) == 0 {
		b.spare = batch
		return nil
	}
	_, err := b.w.Write(batch)
	if cap(batch) <= 4*b.limit {
		b.spare = batch[:0]
	} else {
		b.spare = nil // do not keep the array of an unusual burst
	}
	return err
}

// flushOnWarn writes the buffered log out after every record at level
// WARN or above, so that warnings and errors are never delayed by the
// interval.
type flushOnWarn struct {
	slog.Handler
	b *logBuffer
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level < slog.LevelWarn {
		return err
	}
	if ferr := h.b.Flush(); err == nil {
		err = ferr
	}
	return err
}

func (h flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{h.Handler.WithAttrs(attrs), h.b}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{h.Handler.WithGroup(name), h.b}
}
