package sidecar_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
)

// redisYAML puts the sidecar's records and rate limits in Redis.
const redisYAML = `
store:
  type: redis
  url: ${REDIS_TEST_URL}
  prefix: ${REDIS_TEST_PREFIX}
  timeout: 1s
`

// redisOptions configures a harness on the Redis at url with prefix, plus
// extra YAML.
func redisOptions(url, prefix, extra string) options {
	return options{
		extra: redisYAML + extra,
		env:   map[string]string{"REDIS_TEST_URL": url, "REDIS_TEST_PREFIX": prefix},
	}
}

func TestRedisStoreConfig(t *testing.T) {
	const password = "redis-password-0123456789"
	tests := []struct {
		name  string
		store string
		want  []string // in the error of Parse, or of New
	}{
		{name: "url missing", store: "{type: redis}", want: []string{"store.url is required"}},
		{name: "url from an empty variable", store: "{type: redis, url: \"${EMPTY:-}\"}", want: []string{"store.url is required"}},
		{name: "url scheme", store: "{type: redis, url: \"http://u:" + password + "@127.0.0.1:6379\"}", want: []string{"store.url", "invalid redis URL"}},
		{name: "url port", store: "{type: redis, url: \"redis://u:" + password + "@127.0.0.1:port\"}", want: []string{"store.url", "invalid redis URL"}},
		{name: "unknown key", store: "{type: redis, url: \"redis://127.0.0.1\", db: 1}", want: []string{"db"}},
		{name: "timeout not a duration", store: "{type: redis, url: \"redis://127.0.0.1\", timeout: 5}", want: []string{"duration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sidecar.Parse([]byte(minimalYAML+"store: "+tc.store+"\n"), env(baseEnv()))
			if err == nil {
				_, err = sidecar.New(cfg, sidecar.Options{})
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), password)
		})
	}
}

func TestRedisStoreConfigDefaults(t *testing.T) {
	cfg, err := sidecar.Parse([]byte(minimalYAML+"store: {type: redis, url: \"redis://127.0.0.1:1/0\"}\n"), env(baseEnv()))
	require.NoError(t, err)
	assert.Empty(t, cfg.Store.Prefix, "empty: the store's default applies")
	assert.Zero(t, cfg.Store.Timeout, "zero: the store's default applies")
	assert.NotContains(t, cfg.Store.URL.String(), "127.0.0.1", "the URL prints redacted")
	// Start-up does not need Redis up: /readyz says when it is.
	_, err = sidecar.New(cfg, sidecar.Options{})
	require.NoError(t, err)
}

// TestTwoSidecarsOnOneRedis mints on one sidecar and redeems on another, as
// behind a load balancer: the second attributes the token from Redis.
func TestTwoSidecarsOnOneRedis(t *testing.T) {
	c := redistest.Client(t)
	url, prefix := redistest.URL(t), redistest.Prefix(t, c)
	a := start(t, redisOptions(url, prefix, ""))
	b := start(t, redisOptions(url, prefix, ""))
	token := a.mint(t)

	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
	}{
		{name: "WebRTC", method: http.MethodPost, path: "/v1/realtime/calls",
			header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/sdp"}}},
		{name: "WebSocket subprotocol", method: http.MethodGet, path: "/v1/realtime/other",
			header: http.Header{"Sec-Websocket-Protocol": {"realtime, openai-insecure-api-key." + token}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, b.URL+tc.path, tc.header, "v=0")
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			got := b.Proxy.last(t)
			assert.Equal(t, tc.path, got.Path)
			assert.Equal(t, "primary", got.Header.Get(sidecar.HeaderKeyID))
			assert.Equal(t, "web", got.Header.Get(sidecar.HeaderVirtualKeyID))
			assert.Equal(t, "openai", got.Header.Get(sidecar.HeaderProvider))
			assert.Equal(t, "gpt-realtime", got.Header.Get(sidecar.HeaderModel))
		})
	}
	assertMetric(t, b.metrics(t), `realtimesecret_redemptions_total{result="found"} 2`)
	assertMetric(t, a.metrics(t), `realtimesecret_redemptions_total{result="found"} 0`)
}

// TestReadyzFollowsRedis stops the sidecar's Redis and starts it again:
// /readyz answers 503 while it is down and 200 once it is back, mints go
// on (best effort) or answer 503 (strict), and the same process attributes
// again afterwards.
func TestReadyzFollowsRedis(t *testing.T) {
	srv := redistest.StartServer(t)
	h := start(t, redisOptions(srv.URL(), "", ""))
	strict := start(t, redisOptions(srv.URL(), "", "strict_store: true\n"))
	ready := func(h *harness) int {
		resp, _ := do(t, http.MethodGet, h.Admin+"/readyz", nil, "")
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, ready(h))

	srv.Stop()
	assert.Equal(t, http.StatusServiceUnavailable, ready(h))
	assert.Equal(t, http.StatusServiceUnavailable, ready(strict))
	token := h.mint(t) // best effort: minted, not attributed
	resp, body := do(t, http.MethodPost, strict.URL+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer " + virtualKey},
		"Content-Type":  {"application/json"},
	}, mintBody)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), `"store_unavailable"`)
	resp, _ = do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{"Authorization": {"Bearer " + token}}, "sdp")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a redemption passes on while Redis is down")
	assert.Empty(t, h.Proxy.last(t).Header.Get(sidecar.HeaderKeyID))
	m := h.metrics(t)
	assertMetric(t, m, `realtimesecret_store_errors_total{op="put"} 1`)
	assertMetric(t, m, `realtimesecret_store_errors_total{op="get"} 1`)
	assertMetric(t, m, `realtimesecret_redemptions_total{result="store_error"} 1`)

	srv.Start()
	eventually(t, func() bool { return ready(h) == http.StatusOK && ready(strict) == http.StatusOK },
		"/readyz did not come back with Redis")
	token = strict.mint(t)
	resp, _ = do(t, http.MethodPost, strict.URL+"/v1/realtime/calls", http.Header{"Authorization": {"Bearer " + token}}, "sdp")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "primary", strict.Proxy.last(t).Header.Get(sidecar.HeaderKeyID))
}
