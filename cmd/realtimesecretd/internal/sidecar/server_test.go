package sidecar_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

var attributionHeaders = []string{sidecar.HeaderKeyID, sidecar.HeaderVirtualKeyID, sidecar.HeaderProvider, sidecar.HeaderModel}

func TestMintEndToEnd(t *testing.T) {
	h := start(t, options{})

	resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", http.Header{
		"Authorization": {"Bearer " + virtualKey},
		"Content-Type":  {"application/json"},
		"Cookie":        {"session=abc"},
	}, mintBody)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out struct {
		Value     string `json:"value"`
		ExpiresAt int64  `json:"expires_at"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	assert.True(t, strings.HasPrefix(out.Value, "ek_"), out.Value)
	assert.Positive(t, out.ExpiresAt)

	t.Run("upstream saw the provider key, never the caller's credentials", func(t *testing.T) {
		got, ok := h.Fake.Last()
		require.True(t, ok)
		assert.Equal(t, "/v1/realtime/client_secrets", got.Path)
		assert.Equal(t, "Bearer "+upstreamKey, got.Header.Get("Authorization"))
		assert.Empty(t, got.Header.Get("Cookie"))
		for name, vs := range got.Header {
			for _, v := range vs {
				assert.NotContains(t, v, virtualKey, "header %s", name)
			}
		}
		assert.JSONEq(t, `{"session":{"type":"realtime","model":"gpt-realtime"}}`, string(got.Body))
	})
	t.Run("one JSON log line, no secret in any line", func(t *testing.T) {
		lines := h.Logs.await(t, "realtime mint", 1)
		l := lines[0]
		assert.Equal(t, "openai", l["provider"])
		assert.Equal(t, "client_secrets", l["endpoint"])
		assert.InDelta(t, 200, l["status"], 0)
		assert.Equal(t, "web", l["virtual_key_id"])
		assert.Equal(t, "primary", l["key_id"])
		assert.IsType(t, float64(0), l["duration_ms"], "durations are milliseconds, as numbers")
		assert.IsType(t, float64(0), l["upstream_duration_ms"])
		logs := h.Logs.String()
		for _, secret := range []string{upstreamKey, virtualKey, out.Value} {
			assert.NotContains(t, logs, secret)
		}
	})
	t.Run("metrics count the mint", func(t *testing.T) {
		m := h.awaitMetrics(t,
			`realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1`,
			`realtimesecret_upstream_duration_seconds_count{endpoint="client_secrets",provider="openai"} 1`,
			`realtimesecret_stored_records 1`)
		assert.Contains(t, m, "go_goroutines")
	})
	t.Run("the mint did not reach the existing proxy", func(t *testing.T) {
		assert.Zero(t, h.Proxy.count())
	})
}

func TestMintRefusals(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{name: "no virtual key", header: http.Header{"Content-Type": {"application/json"}}, status: http.StatusUnauthorized},
		{name: "wrong virtual key", header: http.Header{"Content-Type": {"application/json"}, "X-Virtual-Key": {"vk-wrong"}}, status: http.StatusUnauthorized},
		{name: "not JSON", header: http.Header{"Content-Type": {"text/plain"}, "X-Virtual-Key": {virtualKey}}, status: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", tc.header, mintBody)
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
		})
	}
	assert.Zero(t, h.Fake.Count(), "a refused mint never reaches the upstream")
	// The virtual key is checked from the headers before the body is read,
	// so a 401 names no provider (nor does the 400 of a body not JSON).
	h.awaitMetrics(t,
		`realtimesecret_mints_total{endpoint="client_secrets",provider="",status="401"} 2`,
		`realtimesecret_mints_total{endpoint="client_secrets",provider="",status="400"} 1`)
}

func TestProxyAttribution(t *testing.T) {
	h := start(t, options{})
	token := h.mint(t)
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n\x00\xfe binary-safe"

	resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/calls?model=gpt-realtime", http.Header{
		"Authorization":             {"Bearer " + token},
		"Content-Type":              {"application/sdp"},
		"X-Realtime-Key-Id":         {"spoofed"},
		"X-Realtime-Virtual-Key-Id": {"spoofed"},
		"X-Realtime-Model":          {"spoofed"},
		"X-Realtime-Other":          {"spoofed"},
	}, sdp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, proxyAnswer, string(body), "the proxy's answer comes back byte for byte")
	assert.Equal(t, "proxy", resp.Header.Get("X-From"))

	got := h.Proxy.last(t)
	assert.Equal(t, "/v1/realtime/calls", got.Path)
	assert.Equal(t, sdp, string(got.Body), "the body reaches the proxy byte for byte")
	assert.Equal(t, "Bearer "+token, got.Header.Get("Authorization"), "the token passes on unchanged")
	assert.Equal(t, "primary", got.Header.Get(sidecar.HeaderKeyID))
	assert.Equal(t, "web", got.Header.Get(sidecar.HeaderVirtualKeyID))
	assert.Equal(t, "openai", got.Header.Get(sidecar.HeaderProvider))
	assert.Equal(t, "gpt-realtime", got.Header.Get(sidecar.HeaderModel))
	for _, name := range attributionHeaders {
		assert.Len(t, got.Header.Values(name), 1, "one value of %s: the spoofed one is gone", name)
	}
	assert.Empty(t, got.Header.Values("X-Realtime-Other"), "every client X-Realtime-* header is removed")
	assert.NotEmpty(t, got.Header.Get("X-Forwarded-For"))

	assertMetric(t, h.metrics(t), `realtimesecret_redemptions_total{result="found"} 1`)
}

func TestProxyWithoutKnownToken(t *testing.T) {
	h := start(t, options{})
	tests := []struct {
		name   string
		header http.Header
	}{
		{name: "unknown ephemeral token", header: http.Header{"Authorization": {"Bearer ek_unknown0123456789"}}},
		{name: "ordinary API key", header: http.Header{"Authorization": {"Bearer sk-someone-else"}}},
		{name: "no credentials", header: http.Header{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.header.Set("X-Realtime-Key-Id", "spoofed")
			tc.header.Set("X-Realtime-Provider", "spoofed")
			tc.header.Set("x-realtime-model", "spoofed")
			resp, _ := do(t, http.MethodGet, h.URL+"/v1/models", tc.header, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			got := h.Proxy.last(t)
			for name := range got.Header {
				assert.False(t, strings.HasPrefix(strings.ToLower(name), "x-realtime-"), "header %s reached the proxy", name)
			}
			assert.Equal(t, tc.header.Get("Authorization"), got.Header.Get("Authorization"))
		})
	}
	assertMetric(t, h.metrics(t), `realtimesecret_redemptions_total{result="not_found"} 1`)
}

func TestProxyWebSocket(t *testing.T) {
	h := start(t, options{})
	token := h.mint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	//nolint:bodyclose // the body is nil on success: coder/websocket says never to close it
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.URL, "http")+"/v1/realtime?model=gpt-realtime",
		&websocket.DialOptions{
			Subprotocols: []string{"realtime", "openai-insecure-api-key." + token},
			HTTPHeader:   http.Header{"X-Realtime-Key-Id": {"spoofed"}},
		})
	require.NoError(t, err)
	defer func() { _ = c.CloseNow() }()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "realtime", c.Subprotocol())

	for _, msg := range []string{`{"type":"session.update"}`, "second"} {
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
		typ, echo, err := c.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, websocket.MessageText, typ)
		assert.Equal(t, msg, string(echo))
	}

	got := h.Proxy.last(t)
	assert.Equal(t, "/v1/realtime", got.Path)
	assert.Equal(t, []string{"primary"}, got.Header.Values(sidecar.HeaderKeyID))
	assert.Equal(t, "web", got.Header.Get(sidecar.HeaderVirtualKeyID))
	assert.Equal(t, "openai", got.Header.Get(sidecar.HeaderProvider))
	assert.Equal(t, "gpt-realtime", got.Header.Get(sidecar.HeaderModel))
	assert.Contains(t, got.Header.Get("Sec-Websocket-Protocol"), "openai-insecure-api-key."+token)
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
}

func TestProxyStreamsAsItArrives(t *testing.T) {
	// write_timeout is far below the stream's length: a proxied response
	// is bounded by proxy_timeout (none here), not by the mint limits.
	// The limits leave a loaded machine a second to get the request to the
	// handler, which then lifts them.
	h := start(t, options{
		extra: "server: {write_timeout: 1s, read_timeout: 1s}\n",
		env:   map[string]string{"PROVIDER_TIMEOUT": "500ms"},
	})
	release := make(chan struct{})
	h.Proxy.Mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		// Past write_timeout and read_timeout.
		time.Sleep(1500 * time.Millisecond)
		_, _ = io.WriteString(w, "data: second\n\n")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err, "the first event arrives while the proxy still holds the stream open")
	assert.Equal(t, "data: first\n", line)
	close(release)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "\ndata: second\n\n", string(rest))
}

func TestNoUpstream(t *testing.T) {
	h := start(t, options{noUpstream: true})
	resp, body := do(t, http.MethodGet, h.URL+"/v1/models", nil, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"error":{"message":"no such route: this sidecar has no upstream configured, so it serves only the realtime mint and session routes",`+
		`"type":"invalid_request_error","param":null,"code":"not_found"}}`, string(body))
	h.mint(t)
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	h := start(t, options{noUpstream: true, env: map[string]string{"PROXY_URL": down}})

	resp, body := do(t, http.MethodGet, h.URL+"/v1/models?api-key=sk-in-a-query", nil, "")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	var e struct {
		Error struct {
			Message, Type, Code string
		}
	}
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, "upstream_unavailable", e.Error.Code)
	lines := h.Logs.lines(t, "upstream proxy request failed")
	require.Len(t, lines, 1)
	assert.Equal(t, "/v1/models", lines[0]["path"])
	assert.NotContains(t, h.Logs.String(), "sk-in-a-query", "the query never reaches the log")
}

func TestAdminEndpoints(t *testing.T) {
	h := start(t, options{})
	for _, tc := range []struct{ path, body string }{
		{"/healthz", `{"status":"ok"}`},
		{"/readyz", `{"status":"ready","governance":"fail_closed"}`},
	} {
		resp, body := do(t, http.MethodGet, h.URL+tc.path, nil, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, tc.path)
		assert.JSONEq(t, tc.body, string(body))
	}
	resp, _ := do(t, http.MethodPost, h.URL+"/healthz", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	assert.Zero(t, h.Proxy.count(), "admin paths are not proxied")
}

func TestAdminPathsMove(t *testing.T) {
	h := start(t, options{extra: "admin: {metrics_path: /-/metrics, health_path: /-/healthz}\n"})
	resp, body := do(t, http.MethodGet, h.URL+"/-/metrics", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "realtimesecret_redemptions_total")

	// The old paths belong to the existing proxy again.
	for _, path := range []string{"/metrics", "/healthz"} {
		resp, body = do(t, http.MethodGet, h.URL+path, nil, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, proxyAnswer, string(body))
		assert.Equal(t, path, h.Proxy.last(t).Path)
	}
}

func TestAdminListener(t *testing.T) {
	h := start(t, options{adminListen: true})
	require.NotEqual(t, h.URL, h.Admin)
	h.mint(t)
	h.awaitMetrics(t, `realtimesecret_mints_total{endpoint="client_secrets",provider="openai",status="200"} 1`)
	resp, _ := do(t, http.MethodGet, h.Admin+"/readyz", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, body := do(t, http.MethodGet, h.URL+"/metrics", nil, "")
	assert.Equal(t, proxyAnswer, string(body), "the main listener proxies /metrics")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, http.MethodPost, h.Admin+"/v1/realtime/client_secrets", nil, mintBody)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the admin listener does not mint")
}

func TestSealedTokens(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	h := start(t, options{extra: "seal_keys:\n  - ${SEAL_KEY}\n", env: map[string]string{"SEAL_KEY": base64.StdEncoding.EncodeToString(key)}})
	token := h.mint(t)
	require.True(t, strings.HasPrefix(token, "ek_rs_"), token)

	resp, _ := do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{"Authorization": {"Bearer " + token}}, "sdp")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := h.Proxy.last(t)
	assert.Equal(t, "primary", got.Header.Get(sidecar.HeaderKeyID))
	upstream := strings.TrimPrefix(got.Header.Get("Authorization"), "Bearer ")
	assert.True(t, strings.HasPrefix(upstream, "ek_") && !strings.HasPrefix(upstream, "ek_rs_"),
		"the proxy receives the upstream secret, not the sealed one")

	n := h.Proxy.count()
	resp, _ = do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{"Authorization": {"Bearer ek_rs_forged"}}, "sdp")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, n, h.Proxy.count(), "a forged sealed token never reaches the proxy")

	m := h.metrics(t)
	assertMetric(t, m, `realtimesecret_redemptions_total{result="found"} 1`)
	assertMetric(t, m, `realtimesecret_redemptions_total{result="rejected"} 1`)
	assertMetric(t, m, `realtimesecret_store_errors_total{op="get"} 0`)
}
