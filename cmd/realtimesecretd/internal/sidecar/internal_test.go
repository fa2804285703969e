package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// failingStore is a store whose every call fails, and which can be pinged.
type failingStore struct{ err error }

func (s failingStore) Put(context.Context, contract.TokenHash, realtimesecret.Record) error {
	return s.err
}

func (s failingStore) Get(context.Context, contract.TokenHash) (realtimesecret.Record, bool, error) {
	return realtimesecret.Record{}, false, s.err
}

func (s failingStore) Ping(context.Context) error { return s.err }

func TestReadiness(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.1:6379: connection refused")
	tests := []struct {
		name     string
		store    contract.Store
		draining bool
		mode     governanceMode
		status   int
		body     string
	}{
		{name: "memory store", store: memory.NewStore(), status: http.StatusOK, body: `{"status":"ready","governance":"fail_closed"}`},
		{name: "reachable store", store: failingStore{}, status: http.StatusOK, body: `{"status":"ready","governance":"fail_closed"}`},
		{name: "unreachable store", store: failingStore{err: down}, status: http.StatusServiceUnavailable, body: `{"status":"store unreachable","governance":"fail_closed"}`},
		{name: "draining", store: memory.NewStore(), draining: true, status: http.StatusServiceUnavailable, body: `{"status":"shutting down","governance":"fail_closed"}`},
		{name: "unreachable store, failing open", store: failingStore{err: down}, mode: governanceMode{global: true, keys: 3},
			status: http.StatusServiceUnavailable, body: `{"status":"store unreachable","governance":"fail_open"}`},
		{name: "some keys failing open", store: memory.NewStore(), mode: governanceMode{keys: 2, policies: 1},
			status: http.StatusOK, body: `{"status":"ready","governance":"fail_closed","fail_open_keys":2,"fail_open_policies":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var draining atomic.Bool
			draining.Store(tc.draining)
			var logs strings.Builder
			h := &health{store: pingerOf(tc.store), draining: &draining, governance: func() governanceMode { return tc.mode },
				log: slog.New(slog.NewTextHandler(&logs, nil))}
			rec := httptest.NewRecorder()
			h.ready(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			assert.Equal(t, tc.status, rec.Code)
			assert.JSONEq(t, tc.body, rec.Body.String())
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.NotContains(t, rec.Body.String(), "10.0.0.1", "the cause goes to the log, not the probe")
			if tc.status != http.StatusOK && !tc.draining {
				assert.Contains(t, logs.String(), "10.0.0.1")
			}
		})
	}
}

func TestHTTPServerLimits(t *testing.T) {
	cfg, err := Parse([]byte(`
providers: {openai: {keys: [{id: a, value: k}]}}
allow_anonymous: true
server:
  read_header_timeout: 1s
  read_timeout: 2s
  write_timeout: 40s
  idle_timeout: 4s
  max_header_bytes: 4096
`), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	s := &Server{boot: cfg, log: slog.New(slog.DiscardHandler)}
	srv := s.httpServer(context.Background(), http.NotFoundHandler())
	assert.Equal(t, time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 2*time.Second, srv.ReadTimeout)
	assert.Equal(t, 40*time.Second, srv.WriteTimeout)
	assert.Equal(t, 4*time.Second, srv.IdleTimeout)
	assert.Equal(t, 8192, srv.MaxHeaderBytes, "the configured limit and as much again: withHeaderLimit answers between them")
}

func TestTracker(t *testing.T) {
	var tr tracker
	require.NoError(t, tr.wait(context.Background()), "nothing in flight")
	tr.add()
	tr.add()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, tr.wait(ctx), context.Canceled)
	assert.Equal(t, 2, tr.count())
	tr.done()
	done := make(chan error, 1)
	go func() { done <- tr.wait(context.Background()) }()
	tr.done()
	require.NoError(t, <-done)
	assert.Zero(t, tr.count())
}

func TestBuildPassesTheSessionLifetime(t *testing.T) {
	const yaml = "allow_anonymous: true\nproviders: {openai: {keys: [{id: a, value: k}]}}\n"
	tests := []struct {
		name  string
		extra string
		want  time.Duration
	}{
		{name: "default", want: 2 * time.Hour},
		{name: "set", extra: "session_lifetime: 1h30m\n", want: 90 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(yaml+tc.extra), func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			b, err := build(cfg, "", slog.New(slog.DiscardHandler), newMetrics(), nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, b.core.SessionLifetime)
		})
	}
}

func TestBuildPassesAdoptAfter(t *testing.T) {
	const yaml = "allow_anonymous: true\nproviders: {openai: {keys: [{id: a, value: k}]}}\nadopt_after: 30s\n"
	cfg, err := Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	b, err := build(cfg, "", slog.New(slog.DiscardHandler), newMetrics(), nil)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, b.core.AdoptAfter)
}

// sharedRegistry is a session registry the core takes for a shared one
// (not a *memory.SessionRegistry): its Handler runs a cap loop until Close.
type sharedRegistry struct{ contract.SessionRegistry }

// TestReloadPrune: a retired generation is closed once nothing can depend
// on it: its registry is shared (the current Handler's cap loop covers its
// caps), it meters nothing, and no request can still be in flight on it.
// With the in-process registry it is kept: its pending caps are its own.
func TestReloadPrune(t *testing.T) {
	cfg, err := Parse([]byte("allow_anonymous: true\nproviders: {openai: {keys: [{id: a, value: k}]}}\n"),
		func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	s, err := New(cfg, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.release(context.Background()) })
	inFlight := time.Duration(cfg.Server.ReadTimeout) + time.Duration(cfg.Server.WriteTimeout)
	now := time.Now()
	provider, err := openai.New(openai.Config{BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	gen := func(registry contract.SessionRegistry, retired time.Time) *generation {
		core, err := realtimesecret.New(realtimesecret.Config{
			Providers:       []realtimesecret.ProviderConfig{{Name: "openai", Provider: provider, Keys: []realtimesecret.Key{{ID: "a", Value: "k"}}}},
			SessionRegistry: registry,
		})
		require.NoError(t, err)
		return &generation{core: core, stores: &stores{registry: registry}, retiredAt: retired}
	}
	local := gen(memory.NewSessionRegistry(), now.Add(-time.Hour))
	sharedOld := gen(sharedRegistry{memory.NewSessionRegistry()}, now.Add(-inFlight-time.Second))
	sharedNew := gen(sharedRegistry{memory.NewSessionRegistry()}, now.Add(-inFlight+time.Second))
	s.retired = []*generation{local, sharedOld, sharedNew}

	s.prune(now)
	assert.Equal(t, []*generation{local, sharedNew}, s.retired)
	s.release(context.Background()) // closes the kept ones
}
