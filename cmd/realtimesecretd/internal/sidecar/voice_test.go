package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
	"github.com/realtimesecret/realtimesecret/internal/fakexai"
)

const (
	xaiKey    = "xai-upstream-key-0123456789"
	geminiKey = "AIza-upstream-key-0123456789"
	grok      = "grok-voice-latest"
	live      = "gemini-live-2.5-flash-preview"
)

// voiceYAML configures an xai and a gemini provider, named after their
// types, and a virtual key whose policy covers both.
const voiceYAML = `
upstream: ${PROXY_URL}
providers:
  xai:
    base_url: ${XAI_URL}
    keys: [{id: x1, value: "${XAI_API_KEY}"}]
  gemini:
    base_url: ${GEMINI_URL}
    keys: [{id: g1, value: "${GEMINI_API_KEY}"}]
virtual_keys:
  - id: web
    value: ${VK_WEB}
    models: [grok-voice-latest, gemini-live-2.5-flash-preview]
    max_ttl: 5m
    max_uses: 2
    rate_limit: {requests: 4, per: 1m}
`

type voice struct {
	url    string
	xai    *fakexai.Server
	gemini *fakegemini.Server
	proxy  *fakeProxy
	vars   map[string]string
}

func startVoice(t *testing.T) *voice {
	t.Helper()
	v := &voice{xai: fakexai.New(fakexai.Options{Keys: []string{xaiKey}}),
		gemini: fakegemini.New(fakegemini.Options{Keys: []string{geminiKey}, Models: []string{live}}), proxy: newFakeProxy(t)}
	xs, gs := httptest.NewServer(v.xai), httptest.NewServer(v.gemini)
	t.Cleanup(xs.Close)
	t.Cleanup(gs.Close)
	v.vars = map[string]string{"XAI_URL": xs.URL, "GEMINI_URL": gs.URL, "PROXY_URL": v.proxy.URL,
		"XAI_API_KEY": xaiKey, "GEMINI_API_KEY": geminiKey, "VK_WEB": virtualKey}
	cfg, err := sidecar.Parse([]byte(voiceYAML), env(v.vars))
	require.NoError(t, err)
	srv, err := sidecar.New(cfg, sidecar.Options{})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	v.url = hs.URL
	return v
}

// TestVoiceProvidersMintThroughTheSidecar mints an xAI secret and a
// Gemini token with a virtual key's models, lifetime, uses and rate
// limit, and attributes their redemptions on the proxied WebSocket path.
func TestVoiceProvidersMintThroughTheSidecar(t *testing.T) {
	v := startVoice(t)
	bearer := http.Header{"Authorization": {"Bearer " + virtualKey}, "Content-Type": {"application/json"}}
	goog := http.Header{"X-Goog-Api-Key": {virtualKey}, "Content-Type": {"application/json"}}

	// xAI (rate 1 of 4): the expiry clamped to max_ttl, nothing else sent.
	resp, body := do(t, http.MethodPost, v.url+"/xai/v1/realtime/client_secrets", bearer, `{"model":"grok-voice-latest","expires_after":{"seconds":900}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var secret struct{ Value string }
	require.NoError(t, json.Unmarshal(body, &secret))
	require.True(t, strings.HasPrefix(secret.Value, fakexai.SecretPrefix))
	reqs := v.xai.Requests()
	require.Len(t, reqs, 1)
	assert.JSONEq(t, `{"expires_after":{"seconds":300}}`, string(reqs[0].Body))

	// A session setting (rate 2 of 4: refused by the adapter, after the
	// rate), and a model outside the key's list (refused before it).
	resp, body = do(t, http.MethodPost, v.url+"/v1/realtime/client_secrets", bearer, `{"session":{"model":"xai/grok-voice-latest","voice":"eve"}}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"code":"unsupported_session_setting"`)
	assert.Contains(t, string(body), "session.voice")
	resp, body = do(t, http.MethodPost, v.url+"/xai/v1/realtime/client_secrets", bearer, `{"model":"grok-2"}`)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
	assert.Len(t, v.xai.Requests(), 1, "nothing more reached xAI")

	// Gemini (rate 3 of 4), as @google/genai sends it: expireTime injected
	// from max_ttl, the uses the key allows.
	resp, body = do(t, http.MethodPost, v.url+"/gemini/v1alpha/auth_tokens", goog,
		`{"uses":2,"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"},"fieldMask":"model"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var token struct{ Name string }
	require.NoError(t, json.Unmarshal(body, &token))
	toks := v.gemini.Tokens()
	require.Len(t, toks, 1)
	assert.Equal(t, token.Name, toks[0].Name)
	assert.Equal(t, 2, toks[0].Uses)
	assert.Equal(t, live, toks[0].Model)
	assert.WithinDuration(t, time.Now().Add(5*time.Minute), toks[0].Expire, 10*time.Second)

	// More uses than the key allows: Google's shape, not counted.
	resp, body = do(t, http.MethodPost, v.url+"/gemini/v1alpha/auth_tokens", goog, `{"uses":3,"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"status":"INVALID_ARGUMENT"`)
	// Rate 4 of 4, then the limit, in Google's shape.
	resp, _ = do(t, http.MethodPost, v.url+"/gemini/v1alpha/auth_tokens", goog, `{"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body = do(t, http.MethodPost, v.url+"/gemini/v1alpha/auth_tokens", goog, `{"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}}`)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"status":"RESOURCE_EXHAUSTED"`)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Len(t, v.gemini.Tokens(), 2)

	// Redemptions through the sidecar reach the existing proxy attributed.
	for name, tc := range map[string]struct {
		path     string
		header   http.Header
		provider string
	}{
		"xAI subprotocol": {"/xai-proxy/v1/realtime?model=grok-voice-latest",
			http.Header{"Sec-Websocket-Protocol": {"xai-client-secret." + secret.Value}}, "xai"},
		"Gemini access_token": {"/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=" + token.Name,
			nil, "gemini"},
	} {
		_, _ = do(t, http.MethodGet, v.url+tc.path, tc.header, "")
		got := v.proxy.last(t)
		assert.Equal(t, tc.provider, got.Header.Get(sidecar.HeaderProvider), name)
		assert.Equal(t, "web", got.Header.Get(sidecar.HeaderVirtualKeyID), name)
	}
	assert.NotContains(t, v.proxy.last(t).Header.Get("X-Goog-Api-Key"), geminiKey)
}

func TestVoiceProvidersConfig(t *testing.T) {
	vars := map[string]string{"K": "key-0123456789", "VK_WEB": virtualKey}
	cfg, err := sidecar.Parse([]byte(`
providers:
  xai: {keys: [{id: a, value: "${K}"}]}
  gemini: {keys: [{id: a, value: "${K}"}]}
  grok: {type: xai, base_url: "https://api.x.ai/v1", keys: [{id: a, value: "${K}"}]}
virtual_keys: [{id: web, value: "${VK_WEB}", max_uses: 3}]
`), env(vars))
	require.NoError(t, err, "xai and gemini take their type from their names")
	_, err = sidecar.New(cfg, sidecar.Options{})
	require.NoError(t, err)

	for _, tc := range []struct{ yaml, want string }{
		{`providers: {xai: {endpoint: "https://x", keys: [{id: a, value: k}]}}`, "endpoint and api_version are for type azure"},
		{`providers: {g: {type: gemini, keys: [{id: a, bearer_token: k}]}}`, "bearer_token is for type azure"},
		{`providers: {v: {type: voice, keys: [{id: a, value: k}]}}`, "openai, azure, xai or gemini"},
		{`providers: {v: {keys: [{id: a, value: k}]}}`, "openai, azure, xai or gemini"},
		{`providers: {xai: {keys: [{id: a, value: k}]}}` + "\nvirtual_keys: [{id: web, value: v, max_uses: -1}]", "must not be negative"},
		{`providers: {xai: {base_url: "api.x.ai", keys: [{id: a, value: k}]}}`, "BaseURL"},
	} {
		cfg, err := sidecar.Parse([]byte(tc.yaml+"\nallow_anonymous: true\n"), env(nil))
		if err == nil {
			_, err = sidecar.New(cfg, sidecar.Options{})
		}
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}

// TestVoiceRoutesListed: -check and the start-up log name each
// provider's routes.
func TestVoiceRoutesListed(t *testing.T) {
	path := writeConfig(t, "listen: 127.0.0.1:0\npath_prefix: /api\n"+strings.Replace(voiceYAML, "upstream: ${PROXY_URL}\n", "", 1)+
		"  - id: other\n    value: vk-other-0123456789\n")
	vars := map[string]string{"XAI_URL": "https://api.x.ai", "GEMINI_URL": "https://generativelanguage.googleapis.com",
		"XAI_API_KEY": xaiKey, "GEMINI_API_KEY": geminiKey, "VK_WEB": virtualKey}
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, sidecar.Run(context.Background(), []string{"-config", path, "-check"}, env(vars), &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "provider xai (xai): POST /api/xai/v1/realtime/client_secrets; and on /api/v1/... with the model written xai/<model>\n")
	assert.Contains(t, stdout.String(), "provider gemini (gemini): POST /api/gemini/v1alpha/auth_tokens\n")

	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exit := make(chan int, 1)
	go func() { exit <- sidecar.Run(ctx, []string{"-config", path}, env(vars), &bytes.Buffer{}, logs) }()
	eventually(t, func() bool { return len(logs.lines(t, "provider routes")) == 2 }, "the routes are logged")
	lines := logs.lines(t, "provider routes")
	assert.Equal(t, "xai", lines[0]["provider"])
	assert.Equal(t, []any{"/api/xai/v1/realtime/client_secrets"}, lines[0]["routes"])
	assert.Equal(t, "gemini", lines[1]["type"])
	assert.Equal(t, []any{"/api/gemini/v1alpha/auth_tokens"}, lines[1]["routes"])
	cancel()
	assert.Equal(t, 0, receive(t, exit, "Run to return"))
	assert.NotContains(t, logs.String(), geminiKey)
}
