package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
)

func TestSlogLogger(t *testing.T) {
	tests := []struct {
		name   string
		level  slog.Level
		lines  int
		format string
		args   []any
		detail string
	}{
		{name: "a go-redis line becomes one JSON line", level: slog.LevelWarn, lines: 1,
			format: "redis: %s: connection pool: %v\n", args: []any{"127.0.0.1:6379", "dial refused"},
			detail: "redis: 127.0.0.1:6379: connection pool: dial refused"},
		{name: "below the logger's level it is dropped", level: slog.LevelDebug, lines: 0, format: "redis: noise"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			var l interface {
				Printf(context.Context, string, ...any)
			} = redisstore.SlogLogger{Logger: log, Level: tc.level}
			l.Printf(context.Background(), tc.format, tc.args...)
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if tc.lines == 0 {
				assert.Empty(t, buf.String())
				return
			}
			require.Len(t, lines, tc.lines)
			var m map[string]any
			require.NoError(t, json.Unmarshal(lines[0], &m), "every line is JSON: %s", buf.String())
			assert.Equal(t, "redis", m["msg"])
			assert.Equal(t, tc.level.String(), m["level"])
			assert.Equal(t, tc.detail, m["detail"])
		})
	}
	// It satisfies what redis.SetLogger takes.
	redis.SetLogger(redisstore.SlogLogger{})
}
