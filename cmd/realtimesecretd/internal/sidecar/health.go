package sidecar

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// readyTimeout bounds the store ping of one readiness check.
const readyTimeout = 2 * time.Second

// health answers the liveness and readiness probes.
type health struct {
	store    contract.Pinger
	draining *atomic.Bool
	log      *slog.Logger
}

// live answers 200 while the process serves.
func (h *health) live(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, `{"status":"ok"}`)
}

// ready answers 200 when the store answers a ping, and 503 when it does not
// or while the server drains, so a load balancer stops sending traffic.
func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeStatus(w, http.StatusServiceUnavailable, `{"status":"shutting down"}`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		// The reason goes to the log only: the probe may be reachable by
		// more people than the logs.
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness: store unreachable", slog.String("error", err.Error()))
		writeStatus(w, http.StatusServiceUnavailable, `{"status":"store unreachable"}`)
		return
	}
	writeStatus(w, http.StatusOK, `{"status":"ready"}`)
}

func writeStatus(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
