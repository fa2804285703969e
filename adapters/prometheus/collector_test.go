package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// The names, help texts, labels and buckets are the sidecar's: dashboards
// and alerts written for realtimesecretd work for library users unchanged.
func TestCollectorExposition(t *testing.T) {
	c := rsprom.New()
	c.OnMint(realtimesecret.MintEvent{Provider: "openai", Endpoint: contract.EndpointClientSecret, Status: 200,
		VirtualKeyID: "web", KeyID: "primary", UpstreamDuration: 70 * time.Millisecond})
	c.OnMint(realtimesecret.MintEvent{Provider: "azure", Endpoint: contract.EndpointSession, Status: 504,
		UpstreamDuration: 31 * time.Second})
	c.OnMint(realtimesecret.MintEvent{Endpoint: contract.EndpointClientSecret, Status: 401, Code: "invalid_api_key"})
	c.OnSession(realtimesecret.SessionEvent{Provider: "openai", Endpoint: contract.EndpointLiveSession, Status: 429, Code: "too_many_sessions"})
	c.OnSession(realtimesecret.SessionEvent{Provider: "openai", Endpoint: contract.EndpointLiveSession, Status: 429, Code: "rate_limit_exceeded"})
	c.OnSession(realtimesecret.SessionEvent{Provider: "openai", Endpoint: contract.EndpointCall, SessionID: "rtc_1", Status: 201,
		VirtualKeyID: "web", KeyID: "primary", UpstreamDuration: 200 * time.Millisecond})
	c.OnRedeem(realtimesecret.RedeemEvent{Found: true})
	c.OnRedeem(realtimesecret.RedeemEvent{})

	const want = `
# HELP realtimesecret_mint_errors_total Errors the middleware answered on the mint routes, by endpoint and error code (rate_limit_exceeded, invalid_api_key, ...).
# TYPE realtimesecret_mint_errors_total counter
realtimesecret_mint_errors_total{code="invalid_api_key",endpoint="client_secrets"} 1
# HELP realtimesecret_mints_total Requests to the mint routes, by provider, endpoint and HTTP status answered.
# TYPE realtimesecret_mints_total counter
realtimesecret_mints_total{endpoint="client_secrets",provider="",status="401"} 1
realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1
realtimesecret_mints_total{endpoint="sessions",provider="azure",status="504"} 1
# HELP realtimesecret_redemptions_total Passed-through requests that carried an ephemeral token, by result: found, not_found, store_error, rejected.
# TYPE realtimesecret_redemptions_total counter
realtimesecret_redemptions_total{result="found"} 1
realtimesecret_redemptions_total{result="not_found"} 1
realtimesecret_redemptions_total{result="rejected"} 0
realtimesecret_redemptions_total{result="store_error"} 0
# HELP realtimesecret_session_request_errors_total Errors the middleware answered on the brokered session routes, by endpoint and error code (too_many_sessions, session_not_found, ...).
# TYPE realtimesecret_session_request_errors_total counter
realtimesecret_session_request_errors_total{code="rate_limit_exceeded",endpoint="live_sessions"} 1
realtimesecret_session_request_errors_total{code="too_many_sessions",endpoint="live_sessions"} 1
# HELP realtimesecret_session_requests_total Requests to the brokered session routes (creations and hang-ups), by provider, endpoint and HTTP status answered.
# TYPE realtimesecret_session_requests_total counter
realtimesecret_session_requests_total{endpoint="calls",provider="openai",status="201"} 1
realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="429"} 2
# HELP realtimesecret_store_errors_total Token store and rate limiter failures, by operation: put, get, rate_limit.
# TYPE realtimesecret_store_errors_total counter
realtimesecret_store_errors_total{op="get"} 0
realtimesecret_store_errors_total{op="put"} 0
realtimesecret_store_errors_total{op="rate_limit"} 0
# HELP realtimesecret_upstream_duration_seconds Time the provider took to answer a mint or a session request, by provider and endpoint.
# TYPE realtimesecret_upstream_duration_seconds histogram
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="0.05"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="0.1"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="0.25"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="0.5"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="1"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="2"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="4"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="8"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="15"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="30"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="calls",provider="openai",le="+Inf"} 1
realtimesecret_upstream_duration_seconds_sum{endpoint="calls",provider="openai"} 0.2
realtimesecret_upstream_duration_seconds_count{endpoint="calls",provider="openai"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="0.05"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="0.1"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="0.25"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="0.5"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="1"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="2"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="4"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="8"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="15"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="30"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="client_secrets",provider="openai",le="+Inf"} 1
realtimesecret_upstream_duration_seconds_sum{endpoint="client_secrets",provider="openai"} 0.07
realtimesecret_upstream_duration_seconds_count{endpoint="client_secrets",provider="openai"} 1
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="0.05"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="0.1"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="0.25"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="0.5"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="1"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="2"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="4"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="8"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="15"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="30"} 0
realtimesecret_upstream_duration_seconds_bucket{endpoint="sessions",provider="azure",le="+Inf"} 1
realtimesecret_upstream_duration_seconds_sum{endpoint="sessions",provider="azure"} 31
realtimesecret_upstream_duration_seconds_count{endpoint="sessions",provider="azure"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems, "metric names and help follow Prometheus conventions")
}

func TestCollectorRegisters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := rsprom.New()
	require.NoError(t, reg.Register(c))
	c.Store(memory.NewStore()) // after registration: the gauge was described up front
	_, err := reg.Gather()
	require.NoError(t, err, "a pedantic registry accepts what the collector describes and collects")
	require.Error(t, reg.Register(rsprom.New()), "a second collector with the same names is refused, not merged")
}

func TestRedeemResult(t *testing.T) {
	tests := []struct {
		name string
		ev   realtimesecret.RedeemEvent
		want string
	}{
		{name: "found", ev: realtimesecret.RedeemEvent{Found: true}, want: rsprom.RedeemFound},
		{name: "not found", ev: realtimesecret.RedeemEvent{}, want: rsprom.RedeemNotFound},
		{name: "store error", ev: realtimesecret.RedeemEvent{Err: errors.New("dial tcp: connection refused")}, want: rsprom.RedeemStoreError},
		{name: "sealed token that does not open", ev: realtimesecret.RedeemEvent{Err: fmt.Errorf("%w: forged", realtimesecret.ErrInvalidSealedToken)}, want: rsprom.RedeemRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, rsprom.RedeemResult(tc.ev))
		})
	}
}

// failingStore fails every call with err (nil: succeeds, finding nothing).
type failingStore struct{ err error }

func (s failingStore) Put(context.Context, contract.TokenHash, realtimesecret.Record) error {
	return s.err
}

func (s failingStore) Get(context.Context, contract.TokenHash) (realtimesecret.Record, bool, error) {
	return realtimesecret.Record{}, false, s.err
}

// pingingStore is a failingStore that can be pinged.
type pingingStore struct{ failingStore }

func (s pingingStore) Ping(context.Context) error { return s.err }

type failingLimiter struct{ err error }

func (l failingLimiter) Allow(context.Context, string, realtimesecret.Rate) (bool, time.Duration, error) {
	return false, 0, l.err
}

func TestStoreAndLimiterErrorsCounted(t *testing.T) {
	down := errors.New("store down")
	c := rsprom.New()
	store := c.Store(failingStore{err: down})
	ctx := context.Background()

	err := store.Put(ctx, contract.HashToken("ek_x"), realtimesecret.Record{ExpiresAt: time.Now().Add(time.Minute)})
	require.ErrorIs(t, err, down)
	assert.Equal(t, "store down", err.Error(), "the store's error is returned unchanged")
	_, _, err = store.Get(ctx, contract.HashToken("ek_x"))
	require.ErrorIs(t, err, down)
	_, _, err = store.Get(ctx, contract.HashToken("ek_y"))
	require.ErrorIs(t, err, down)

	limiter := c.RateLimiter(failingLimiter{err: errors.New("limiter down")})
	_, _, err = limiter.Allow(ctx, "web", realtimesecret.Rate{Requests: 1, Per: time.Second})
	require.EqualError(t, err, "limiter down")

	const want = `
# HELP realtimesecret_store_errors_total Token store and rate limiter failures, by operation: put, get, rate_limit.
# TYPE realtimesecret_store_errors_total counter
realtimesecret_store_errors_total{op="get"} 2
realtimesecret_store_errors_total{op="put"} 1
realtimesecret_store_errors_total{op="rate_limit"} 1
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "realtimesecret_store_errors_total"))

	// Calls that succeed count nothing.
	ok := c.Store(failingStore{})
	require.NoError(t, ok.Put(ctx, contract.HashToken("ek_z"), realtimesecret.Record{}))
	_, _, err = c.RateLimiter(failingLimiter{}).Allow(ctx, "web", realtimesecret.Rate{Requests: 1, Per: time.Second})
	require.NoError(t, err)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "realtimesecret_store_errors_total"))
}

func TestStoreKeepsSessionRegistry(t *testing.T) {
	c := rsprom.New()
	_, ok := c.Store(memory.NewStore()).(contract.SessionRegistry)
	assert.False(t, ok)
	type registryStore struct {
		*memory.Store
		*memory.SessionRegistry
	}
	inner := registryStore{memory.NewStore(), memory.NewSessionRegistry()}
	wrapped := c.Store(inner)
	r, ok := wrapped.(contract.SessionRegistry)
	require.True(t, ok, "the middleware must still find the store's registry")
	acquired, err := r.Acquire(context.Background(), "web", "lease", 1, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, acquired)
	held, err := inner.Acquire(context.Background(), "web", "other", 1, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, held, "the wrapper's registry is the store's own")
	_, ok = wrapped.(contract.Pinger)
	assert.False(t, ok)
}

func TestStoreKeepsPinger(t *testing.T) {
	down := errors.New("redis down")
	c := rsprom.New()

	_, ok := c.Store(failingStore{}).(contract.Pinger)
	assert.False(t, ok, "a store that cannot be pinged does not become one")

	p, ok := c.Store(pingingStore{failingStore{err: down}}).(contract.Pinger)
	require.True(t, ok, "a Pinger stays a Pinger")
	require.ErrorIs(t, p.Ping(context.Background()), down)
}

func TestStoredRecords(t *testing.T) {
	c := rsprom.New()
	assert.Equal(t, 0, testutil.CollectAndCount(c, "realtimesecret_stored_records"), "no store, no gauge")

	c.Store(failingStore{})
	assert.Equal(t, 0, testutil.CollectAndCount(c, "realtimesecret_stored_records"), "a store without Len, no gauge")

	mem := memory.NewStore()
	store := c.Store(mem)
	for i := range 3 {
		require.NoError(t, store.Put(context.Background(), contract.HashToken("ek_"+strconv.Itoa(i)),
			realtimesecret.Record{ExpiresAt: time.Now().Add(time.Minute)}))
	}
	const want = `
# HELP realtimesecret_stored_records Token records held by the store, expired ones not yet swept included.
# TYPE realtimesecret_stored_records gauge
realtimesecret_stored_records 3
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "realtimesecret_stored_records"))
}

// Through the middleware: a record that cannot be stored still mints (best
// effort), its redemption is a store error, and a sealed token that does not
// open is rejected. No label or value holds a secret.
func TestCollectorThroughMiddleware(t *testing.T) {
	c := rsprom.New()
	expires := strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)
	provider := realtimesecrettest.ProviderFunc(func(context.Context, *contract.MintRequest) (*contract.Reply, error) {
		return &contract.Reply{StatusCode: http.StatusOK, Header: http.Header{},
			Body: []byte(`{"value":"ek_minted_token_value","expires_at":` + expires + `}`)}, nil
	})
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai", Provider: provider,
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-provider-secret"}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-virtual-secret"}},
		Store:       c.Store(failingStore{err: errors.New("store down")}),
		OnMint:      c.OnMint,
		OnRedeem:    c.OnRedeem,
	})
	require.NoError(t, err)
	app := h.Wrap(http.NotFoundHandler())

	req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(`{"model":"openai/gpt-realtime"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer vk-virtual-secret")
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	req = httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer ek_minted_token_value")
	app.ServeHTTP(httptest.NewRecorder(), req)

	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	const want = `
# HELP realtimesecret_mints_total Requests to the mint routes, by provider, endpoint and HTTP status answered.
# TYPE realtimesecret_mints_total counter
realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1
# HELP realtimesecret_redemptions_total Passed-through requests that carried an ephemeral token, by result: found, not_found, store_error, rejected.
# TYPE realtimesecret_redemptions_total counter
realtimesecret_redemptions_total{result="found"} 0
realtimesecret_redemptions_total{result="not_found"} 0
realtimesecret_redemptions_total{result="rejected"} 0
realtimesecret_redemptions_total{result="store_error"} 1
# HELP realtimesecret_store_errors_total Token store and rate limiter failures, by operation: put, get, rate_limit.
# TYPE realtimesecret_store_errors_total counter
realtimesecret_store_errors_total{op="get"} 1
realtimesecret_store_errors_total{op="put"} 1
realtimesecret_store_errors_total{op="rate_limit"} 0
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"realtimesecret_mints_total", "realtimesecret_redemptions_total", "realtimesecret_store_errors_total"))

	srv := httptest.NewServer(promhandler(reg))
	defer srv.Close()
	body := scrape(t, srv.URL)
	for _, secret := range []string{"sk-provider-secret", "vk-virtual-secret", "ek_minted_token_value", "web", "primary"} {
		assert.NotContains(t, body, secret, "metrics carry no key, token or caller identity")
	}
}

func TestSealedRejected(t *testing.T) {
	c := rsprom.New()
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name: "openai", Provider: realtimesecrettest.ProviderFunc(func(context.Context, *contract.MintRequest) (*contract.Reply, error) {
				return nil, errors.New("not called")
			}),
			Keys: []realtimesecret.Key{{ID: "primary", Value: "sk-x"}},
		}},
		SealKeys: []realtimesecret.SealKey{make([]byte, 32)},
		OnRedeem: c.OnRedeem,
	})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
	req.Header.Set("Authorization", "Bearer ek_rs_forged")
	rec := httptest.NewRecorder()
	h.Wrap(http.NotFoundHandler()).ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)

	const want = `
# HELP realtimesecret_redemptions_total Passed-through requests that carried an ephemeral token, by result: found, not_found, store_error, rejected.
# TYPE realtimesecret_redemptions_total counter
realtimesecret_redemptions_total{result="found"} 0
realtimesecret_redemptions_total{result="not_found"} 0
realtimesecret_redemptions_total{result="rejected"} 1
realtimesecret_redemptions_total{result="store_error"} 0
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), "realtimesecret_redemptions_total"))
}
