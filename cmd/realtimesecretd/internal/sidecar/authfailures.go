package sidecar

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// authFailureLogInterval is the least time between two log lines about
// refused admin API requests: someone guessing the token must not be able
// to flood the log (each WARN line is also written out at once).
const authFailureLogInterval = time.Second

// authFailures counts the admin API requests refused for a missing or
// wrong token, in realtimesecret_admin_auth_failures_total, and logs them
// at most once per authFailureLogInterval; a line says how many refusals
// since the last line went unlogged. The counter has them all.
type authFailures struct {
	counter prometheus.Counter
	log     *slog.Logger
	now     func() time.Time

	mu         sync.Mutex
	last       time.Time // when the last line was logged
	suppressed int       // refusals not logged since then
}

func newAuthFailures(counter prometheus.Counter, log *slog.Logger, now func() time.Time) *authFailures {
	return &authFailures{counter: counter, log: log, now: now}
}

// refused counts one refused request and logs it unless a line was logged
// less than authFailureLogInterval ago. Nothing from the request goes to
// the log but where it came from: never what was sent as a token.
func (a *authFailures) refused(r *http.Request) {
	a.counter.Inc()
	a.mu.Lock()
	now := a.now()
	if !a.last.IsZero() && now.Sub(a.last) < authFailureLogInterval {
		a.suppressed++
		a.mu.Unlock()
		return
	}
	suppressed := a.suppressed
	a.last, a.suppressed = now, 0
	a.mu.Unlock()
	a.log.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelWarn, "admin request refused: missing or wrong admin token",
		slog.String("path", adminAPIPrefix+"{id}"+endSessionsSuffix), slog.String("remote_addr", r.RemoteAddr),
		slog.Int("unlogged_since_last", suppressed))
}
