package sidecar

import (
	"context"
	"encoding/json"
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
	// governance returns the fail mode of the config in force, read at
	// each probe so that it follows a reload.
	governance func() governanceMode
	log        *slog.Logger
}

// governanceMode is what session limits and budgets do, under a config,
// when the registry (Redis) cannot answer: refuse (fail closed, the
// default) or admit uncounted (fail open), for every principal or for some.
type governanceMode struct {
	global   bool // governance_fail_open: every principal fails open
	keys     int  // virtual keys that fail open: all of them when global
	policies int  // auth.jwt policies that fail open: all of them when global
}

// governanceOf reads cfg's fail mode.
func governanceOf(cfg *Config) governanceMode {
	m := governanceMode{global: cfg.GovernanceFailOpen}
	for _, vk := range cfg.VirtualKeys {
		if m.global || vk.GovernanceFailOpen {
			m.keys++
		}
	}
	if cfg.Auth.JWT != nil {
		for _, p := range cfg.Auth.JWT.Policies {
			if m.global || p.GovernanceFailOpen {
				m.policies++
			}
		}
	}
	return m
}

// readiness is the body of a readiness answer. It says which fail mode is
// in force, as counts only: the probe may be reachable by more people than
// the config.
type readiness struct {
	Status string `json:"status"`
	// Governance is "fail_open" when governance_fail_open is set, else
	// "fail_closed", with the keys and policies that fail open on their
	// own counted beside it.
	Governance       string `json:"governance"`
	FailOpenKeys     int    `json:"fail_open_keys,omitempty"`
	FailOpenPolicies int    `json:"fail_open_policies,omitempty"`
}

// live answers 200 while the process serves.
func (h *health) live(w http.ResponseWriter, _ *http.Request) {
	writeStatus(w, http.StatusOK, `{"status":"ok"}`)
}

// ready answers 200 when the store answers a ping, and 503 when it does not
// or while the server drains, so a load balancer stops sending traffic.
// Each answer says the governance fail mode in force.
func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeStatus(w, http.StatusServiceUnavailable, h.readiness("shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		// The reason goes to the log only: the probe may be reachable by
		// more people than the logs.
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "readiness: store unreachable", slog.String("error", err.Error()))
		writeStatus(w, http.StatusServiceUnavailable, h.readiness("store unreachable"))
		return
	}
	writeStatus(w, http.StatusOK, h.readiness("ready"))
}

// readiness returns the JSON body of a readiness answer with status.
func (h *health) readiness(status string) string {
	body := readiness{Status: status, Governance: "fail_closed"}
	if m := h.governance(); m.global {
		body.Governance = "fail_open"
	} else {
		body.FailOpenKeys, body.FailOpenPolicies = m.keys, m.policies
	}
	b, _ := json.Marshal(body) // strings and ints: cannot fail
	return string(b)
}

func writeStatus(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
