package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// sink is the writer under a logBuffer: it records every call to Write,
// fails while failing is set, and reports each call on calls if that is
// not nil.
type sink struct {
	mu      sync.Mutex
	out     bytes.Buffer
	writes  int
	failing error
	calls   chan struct{}
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes++
	err := s.failing
	if err == nil {
		s.out.Write(p)
	}
	s.mu.Unlock()
	if s.calls != nil {
		s.calls <- struct{}{}
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s *sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = err
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *sink) writeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// msgs returns the msg of every JSON line written, in order; a line that
// is not whole JSON fails the test.
func (s *sink) msgs(t *testing.T) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader([]byte(s.String())))
	for sc.Scan() {
		var m struct{ Msg string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "a whole JSON line: %q", sc.Text())
		out = append(out, m.Msg)
	}
	return out
}

// bufferedLogger is the logger newLogger builds, over a logBuffer of limit
// bytes whose interval flusher the test drives itself.
func bufferedLogger(w *sink, limit int) (*slog.Logger, *logBuffer) {
	b := newLogBuffer(w, limit)
	return slog.New(flushOnWarn{slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}), b}), b
}

func TestLogBufferHoldsLinesUntilFlush(t *testing.T) {
	w := &sink{}
	log, b := bufferedLogger(w, 32<<10)
	log.Info("one")
	log.Debug("two")
	assert.Empty(t, w.String(), "INFO and DEBUG lines wait for a flush")
	assert.Zero(t, w.writeCount())

	require.NoError(t, b.Flush())
	assert.Equal(t, []string{"one", "two"}, w.msgs(t))
	assert.Equal(t, 1, w.writeCount(), "the lines are written in one call")

	require.NoError(t, b.Flush())
	assert.Equal(t, 1, w.writeCount(), "an empty buffer is not written")
}

func TestLogBufferFlushesAtTheSizeLimit(t *testing.T) {
	w := &sink{}
	log, _ := bufferedLogger(w, 512)
	var logged []string
	for i := 0; w.writeCount() == 0; i++ {
		require.Less(t, i, 100, "512 bytes are reached within 100 lines")
		logged = append(logged, "line "+strconv.Itoa(i))
		log.Info(logged[i])
	}
	assert.Equal(t, logged, w.msgs(t), "the write that passes the limit carries every line so far, whole")
	assert.GreaterOrEqual(t, len(w.String()), 512)
}

func TestLogBufferWarnFlushesAtOnce(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		t.Run(level.String(), func(t *testing.T) {
			w := &sink{}
			log, _ := bufferedLogger(w, 32<<10)
			log.Info("before")
			log.Log(context.Background(), level, "urgent")
			assert.Equal(t, []string{"before", "urgent"}, w.msgs(t), "the record and everything before it, in order")
		})
	}
	t.Run("derived loggers", func(t *testing.T) {
		w := &sink{}
		log, _ := bufferedLogger(w, 32<<10)
		log.With("component", "store").WithGroup("g").Warn("from a derived logger")
		assert.Equal(t, []string{"from a derived logger"}, w.msgs(t), "With and WithGroup keep the flush")
	})
}

func TestLogBufferFlushesOnTheInterval(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	w := &sink{calls: make(chan struct{})}
	log, b := bufferedLogger(w, 32<<10)
	tick, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b.flushEvery(tick, stop)
	}()

	log.Info("waiting")
	tick <- time.Time{}
	waitFor(t, w.calls, "the interval flush")
	assert.Equal(t, []string{"waiting"}, w.msgs(t))

	tick <- time.Time{} // nothing buffered: no write, so nothing on calls
	close(stop)
	waitFor(t, done, "the flusher to stop")
	assert.Equal(t, 1, w.writeCount())
}

func TestNewLogger(t *testing.T) {
	t.Run("interval 0 writes every line through", func(t *testing.T) {
		w := &sink{}
		log, closeLog := newLogger(w, slog.LevelInfo, 0)
		log.Info("one")
		assert.Equal(t, []string{"one"}, w.msgs(t))
		log.Info("two")
		assert.Equal(t, 2, w.writeCount())
		require.NoError(t, closeLog())
	})
	t.Run("close flushes and stops the flusher", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		w := &sink{}
		log, closeLog := newLogger(w, slog.LevelInfo, time.Hour)
		log.Info("buffered")
		log.Debug("below the level")
		assert.Empty(t, w.String())
		require.NoError(t, closeLog())
		assert.Equal(t, []string{"buffered"}, w.msgs(t))
		require.NoError(t, closeLog(), "a second close does nothing")
		assert.Equal(t, 1, w.writeCount())
	})
}

func TestLogBufferConcurrentLinesStayWhole(t *testing.T) {
	const writers, lines = 16, 200
	w := &sink{}
	log, b := bufferedLogger(w, 1<<10)
	tick, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b.flushEvery(tick, stop)
	}()

	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				msg := strconv.Itoa(g) + "/" + strconv.Itoa(i)
				if i%50 == 49 {
					log.Warn(msg)
				} else {
					log.Info(msg, slog.String("pad", "a value long enough to make lines of uneven length "+msg))
				}
			}
		})
	}
	wg.Go(func() { // interval flushes racing the writers
		for range 100 {
			tick <- time.Time{}
		}
	})
	wg.Wait()
	close(stop)
	waitFor(t, done, "the flusher to stop")
	require.NoError(t, b.Flush())

	got := w.msgs(t)
	require.Len(t, got, writers*lines)
	next := make([]int, writers) // each writer's lines arrive in its order
	for _, msg := range got {
		var g, i int
		_, err := fmt.Sscanf(msg, "%d/%d", &g, &i)
		require.NoError(t, err, msg)
		require.Equal(t, next[g], i, "writer %d", g)
		next[g]++
	}
}

func TestLogBufferWriteErrors(t *testing.T) {
	errFull := errors.New("no space left on device")

	t.Run("the size limit returns it through the handler", func(t *testing.T) {
		w := &sink{}
		w.fail(errFull)
		b := newLogBuffer(w, 64)
		h := flushOnWarn{slog.NewJSONHandler(b, nil), b}
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "a line longer than the 64 byte limit, so it flushes", 0)
		require.ErrorIs(t, h.Handle(context.Background(), r), errFull)

		w.fail(nil)
		require.NoError(t, b.Flush())
		assert.Empty(t, w.String(), "the failed batch is dropped, not written twice")
	})
	t.Run("a warning returns it through the handler", func(t *testing.T) {
		w := &sink{}
		w.fail(errFull)
		b := newLogBuffer(w, 32<<10)
		h := flushOnWarn{slog.NewJSONHandler(b, nil), b}
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "warned", 0)
		require.ErrorIs(t, h.Handle(context.Background(), r), errFull)
	})
	t.Run("the interval keeps it for the next flush", func(t *testing.T) {
		w := &sink{calls: make(chan struct{}, 4)}
		w.fail(errFull)
		log, b := bufferedLogger(w, 32<<10)
		tick, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			b.flushEvery(tick, stop)
		}()
		for _, msg := range []string{"lost 1", "lost 2"} {
			log.Info(msg)
			tick <- time.Time{}
			waitFor(t, w.calls, "the interval flush")
		}
		close(stop)
		waitFor(t, done, "the flusher to stop")

		w.fail(nil)
		log.Info("kept")
		err := b.Flush()
		require.ErrorIs(t, err, errFull)
		assert.Contains(t, err.Error(), "2 interval log flushes failed")
		assert.Equal(t, []string{"kept"}, w.msgs(t), "the flush itself succeeded")
		require.NoError(t, b.Flush(), "the error is returned once")
	})
	t.Run("close returns it", func(t *testing.T) {
		w := &sink{}
		log, closeLog := newLogger(w, slog.LevelInfo, time.Hour)
		log.Info("buffered")
		w.fail(errFull)
		require.ErrorIs(t, closeLog(), errFull)
	})
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "timed out waiting for "+what)
	}
}

// BenchmarkLogMintLine is the cost of one mint's log line written to a
// file, as stderr is under the load test: "direct" is log_flush_interval
// 0, a write system call per line; "buffered" the default.
func BenchmarkLogMintLine(b *testing.B) {
	for _, bc := range []struct {
		name     string
		interval time.Duration
	}{{"direct", 0}, {"buffered", DefaultLogFlushInterval}} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			require.NoError(b, err)
			defer f.Close()
			log, closeLog := newLogger(f, slog.LevelInfo, bc.interval)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				log.LogAttrs(ctx, slog.LevelInfo, "realtime mint",
					slog.String("provider", "openai"),
					slog.String("endpoint", "client_secrets"),
					slog.Int("status", 200),
					slog.String("virtual_key_id", "web"),
					slog.String("key_id", "primary"),
					slog.String("model", "gpt-realtime"),
					slog.Float64("duration_ms", 1.234),
					slog.Float64("upstream_duration_ms", 0.987),
				)
			}
			b.StopTimer()
			require.NoError(b, closeLog())
		})
	}
}
