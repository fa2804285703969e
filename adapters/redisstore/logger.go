package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// SlogLogger routes go-redis's own log lines (pool and reconnect notices,
// which go-redis otherwise prints as plain text on stderr) into a
// *slog.Logger, so that a JSON log stays JSON:
//
//	redis.SetLogger(redisstore.SlogLogger{Logger: log})
//
// redis.SetLogger is process-wide. Each line is logged at Level (the zero
// value is slog.LevelInfo) with the message "redis" and the go-redis text,
// without its trailing newline, in "detail". A nil Logger drops the lines.
type SlogLogger struct {
	Logger *slog.Logger
	Level  slog.Level
}

// Printf implements go-redis's internal.Logging.
func (l SlogLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.Logger == nil || !l.Logger.Enabled(ctx, l.Level) {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, v...), "\n")
	l.Logger.LogAttrs(ctx, l.Level, "redis", slog.String("detail", msg))
}
