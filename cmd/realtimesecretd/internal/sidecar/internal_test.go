package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// failingStore is a store whose every call fails, and which can be pinged.
type failingStore struct{ err error }

func (s failingStore) Put(context.Context, realtimesecret.TokenHash, realtimesecret.Record) error {
	return s.err
}

func (s failingStore) Get(context.Context, realtimesecret.TokenHash) (realtimesecret.Record, bool, error) {
	return realtimesecret.Record{}, false, s.err
}

func (s failingStore) Ping(context.Context) error { return s.err }

func TestReadiness(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.1:6379: connection refused")
	tests := []struct {
		name     string
		store    realtimesecret.Store
		draining bool
		status   int
		body     string
	}{
		{name: "memory store", store: realtimesecret.NewMemoryStore(), status: http.StatusOK, body: `{"status":"ready"}`},
		{name: "reachable store", store: failingStore{}, status: http.StatusOK, body: `{"status":"ready"}`},
		{name: "unreachable store", store: failingStore{err: down}, status: http.StatusServiceUnavailable, body: `{"status":"store unreachable"}`},
		{name: "draining", store: realtimesecret.NewMemoryStore(), draining: true, status: http.StatusServiceUnavailable, body: `{"status":"shutting down"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var draining atomic.Bool
			draining.Store(tc.draining)
			var logs strings.Builder
			h := &health{store: &meteredStore{inner: tc.store}, draining: &draining, log: slog.New(slog.NewTextHandler(&logs, nil))}
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

func TestStoreErrorsCounted(t *testing.T) {
	store := &meteredStore{inner: failingStore{err: errors.New("store down")}}
	m := newMetrics(store)
	ctx := context.Background()

	err := store.Put(ctx, realtimesecret.HashToken("ek_x"), realtimesecret.Record{ExpiresAt: time.Now().Add(time.Minute)})
	require.Error(t, err)
	assert.Equal(t, "store down", err.Error(), "the store's error text is kept")
	_, _, err = store.Get(ctx, realtimesecret.HashToken("ek_x"))
	require.Error(t, err)
	_, _, err = store.Get(ctx, realtimesecret.HashToken("ek_y"))
	require.Error(t, err)

	limiter := &meteredLimiter{inner: failingLimiter{}, errs: m.storeErrors}
	_, _, err = limiter.Allow(ctx, "web", realtimesecret.Rate{Requests: 1, Per: time.Second})
	require.Error(t, err)

	assert.InDelta(t, 1, counterValue(t, m.storeErrors.WithLabelValues(opPut)), 0)
	assert.InDelta(t, 2, counterValue(t, m.storeErrors.WithLabelValues(opGet)), 0)
	assert.InDelta(t, 1, counterValue(t, m.storeErrors.WithLabelValues(opRateLimit)), 0)
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, realtimesecret.Rate) (bool, time.Duration, error) {
	return false, 0, errors.New("limiter down")
}

func TestStoreFailureEndToEnd(t *testing.T) {
	// With strict_store off, a mint whose record cannot be stored still
	// answers and is counted; a later redemption of it is a store error
	// and passes on without attribution.
	store := &meteredStore{inner: failingStore{err: errors.New("store down")}}
	m := newMetrics(store)
	expires := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	core, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai",
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-x"}},
			Provider: realtimesecret.ProviderFunc(func(context.Context, *realtimesecret.MintRequest) (*realtimesecret.MintResponse, error) {
				return &realtimesecret.MintResponse{StatusCode: http.StatusOK, Header: http.Header{},
					Body: []byte(`{"value":"ek_abc","expires_at":` + expires + `}`)}, nil
			}),
		}},
		Store:    store,
		OnMint:   m.onMint,
		OnRedeem: m.onRedeem,
	})
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(`{"model":"openai/gpt-realtime"}`))
	req.Header.Set("Content-Type", "application/json")
	core.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var attributed bool
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, attributed = realtimesecret.FromContext(r.Context())
	})
	req = httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer ek_abc")
	core.Wrap(next).ServeHTTP(httptest.NewRecorder(), req)
	assert.False(t, attributed)

	assert.InDelta(t, 1, counterValue(t, m.mints.WithLabelValues("openai", "client_secrets", "200")), 0)
	assert.InDelta(t, 1, counterValue(t, m.storeErrors.WithLabelValues(opPut)), 0)
	assert.InDelta(t, 1, counterValue(t, m.storeErrors.WithLabelValues(opGet)), 0)
	assert.InDelta(t, 1, counterValue(t, m.redemptions.WithLabelValues(redeemStoreError)), 0)
}

func TestRedeemResult(t *testing.T) {
	tests := []struct {
		name string
		ev   realtimesecret.RedeemEvent
		want string
	}{
		{name: "found", ev: realtimesecret.RedeemEvent{Found: true}, want: redeemFound},
		{name: "not found", ev: realtimesecret.RedeemEvent{}, want: redeemNotFound},
		{name: "store error", ev: realtimesecret.RedeemEvent{Err: &storeError{err: errors.New("down")}}, want: redeemStoreError},
		{name: "sealed token that does not open", ev: realtimesecret.RedeemEvent{Err: errors.New("forged")}, want: redeemRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, redeemResult(tc.ev))
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
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	srv := s.httpServer(context.Background(), http.NotFoundHandler())
	assert.Equal(t, time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 2*time.Second, srv.ReadTimeout)
	assert.Equal(t, 40*time.Second, srv.WriteTimeout)
	assert.Equal(t, 4*time.Second, srv.IdleTimeout)
	assert.Equal(t, 4096, srv.MaxHeaderBytes)
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

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
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
			b, err := build(cfg, "", slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			assert.Equal(t, tc.want, b.core.SessionLifetime)
		})
	}
}
