package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/fakexai"
)

// Provider keys and virtual keys of the xAI and Gemini suites.
const (
	providersOpenAIKey = "sk-e2e-providers-openai"
	providersXAIKey    = "xai-e2e-providers-upstream-key"
	providersGeminiKey = "AIza-e2e-providers-upstream-key"

	vkVoice       = "vk-e2e-voice"        // models, max_ttl 5m, max_uses 2, a generous rate limit
	vkVoiceXAI1   = "vk-e2e-voice-xai-1"  // the same policy, one mint per hour
	vkVoiceGem1   = "vk-e2e-voice-gem-1"  // the same policy, one mint per hour
	vkVoiceAbsent = "vk-e2e-voice-absent" // not configured: 401
	vkVoiceOne    = "vk-e2e-voice-one"    // the same policy, max_sessions: 1

	grokModel   = "grok-voice-latest"
	geminiModel = "gemini-live-2.5-flash-preview"

	voiceMaxTTL  = 5 * time.Minute // the virtual keys' max_ttl
	voiceMaxUses = 2               // vkVoice's max_uses
)

// providersSidecarYAML configures realtimesecretd with an OpenAI, an xAI
// and a Gemini provider, each pointed at its fake on loopback, and virtual
// keys whose policy (models, max_ttl, max_uses, rate_limit) spans them.
// Every other request goes to upstream, the stand-in for the existing
// proxy, where redemptions arrive attributed.
// log_flush_interval: 0 writes every line as it is logged, so the test
// reads every line the sidecar wrote about its requests.
const providersSidecarYAML = `
listen: 127.0.0.1:0
upstream: ${E2E_PROXY_URL}
log_flush_interval: 0s
providers:
  openai:
    base_url: ${E2E_OPENAI_URL}
    keys: [{id: o1, value: "${E2E_OPENAI_KEY}"}]
  xai:
    type: xai
    base_url: ${E2E_XAI_URL}
    keys: [{id: x1, value: "${E2E_XAI_KEY}"}]
  gemini:
    type: gemini
    base_url: ${E2E_GEMINI_URL}
    keys: [{id: g1, value: "${E2E_GEMINI_KEY}"}]
virtual_keys:
  - id: voice
    value: ${E2E_VK_VOICE}
    models: [gpt-realtime, grok-voice-latest, gemini-live-2.5-flash-preview]
    max_ttl: 5m
    max_uses: 2
    rate_limit: {requests: 100, per: 1h}
  - id: voice-xai-1
    value: ${E2E_VK_VOICE_XAI_1}
    models: [grok-voice-latest]
    max_ttl: 5m
    rate_limit: {requests: 1, per: 1h}
  - id: voice-gemini-1
    value: ${E2E_VK_VOICE_GEM_1}
    models: [gemini-live-2.5-flash-preview]
    max_ttl: 5m
    rate_limit: {requests: 1, per: 1h}
  - id: voice-one
    value: ${E2E_VK_VOICE_ONE}
    models: [grok-voice-latest, gemini-live-2.5-flash-preview]
    max_ttl: 5m
    max_sessions: 1
`

// voiceStack is realtimesecretd in front of the three fakes.
type voiceStack struct {
	sc     *sidecarProc
	openai *fakeupstream.Server
	xai    *fakexai.Server
	gemini *fakegemini.Server
	proxy  *existingProxy
	// fakesURL serves what the fakes received, for the node suite:
	// GET /xai/requests, /xai/minted, /gemini/requests, /gemini/tokens,
	// /openai/requests, /proxy/requests.
	fakesURL string
}

// startVoiceStack starts the fakes and the sidecar binary. On cleanup,
// after the sidecar has drained and exited (so its every line is read),
// it checks that no virtual key and no provider key is in its log.
func startVoiceStack(t *testing.T) *voiceStack {
	t.Helper()
	return startVoiceStackWith(t, "")
}

// startVoiceStackWith is startVoiceStack with extraYAML appended to the
// configuration and env added to the sidecar's environment.
func startVoiceStackWith(t *testing.T, extraYAML string, env ...string) *voiceStack {
	t.Helper()
	v := &voiceStack{
		openai: fakeupstream.New(fakeupstream.Options{Keys: []string{providersOpenAIKey}, Models: []string{"gpt-realtime"}}),
		xai:    fakexai.New(fakexai.Options{Keys: []string{providersXAIKey}}),
		gemini: fakegemini.New(fakegemini.Options{Keys: []string{providersGeminiKey}, Models: []string{geminiModel}}),
		proxy:  &existingProxy{},
	}
	servers := map[string]*httptest.Server{}
	for name, h := range map[string]http.Handler{"openai": v.openai, "xai": v.xai, "gemini": v.gemini, "proxy": v.proxy} {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		servers[name] = s
	}
	fakes := httptest.NewServer(v.fakesHandler())
	t.Cleanup(fakes.Close)
	v.fakesURL = fakes.URL

	// Registered before startSidecar's own cleanup, so it runs after it:
	// the sidecar has exited and its log is complete.
	t.Cleanup(func() {
		if v.sc == nil {
			return
		}
		logs := v.sc.logs.String()
		assert.Contains(t, logs, `"provider":"xai"`, "the sidecar logged the xAI mints")
		assert.Contains(t, logs, `"provider":"gemini"`, "the sidecar logged the Gemini mints")
		for _, secret := range []string{vkVoice, vkVoiceXAI1, vkVoiceGem1, vkVoiceAbsent, vkVoiceOne,
			providersOpenAIKey, providersXAIKey, providersGeminiKey} {
			assert.NotContains(t, logs, secret, "no virtual key or provider key in the sidecar's log")
		}
		// README: "no log, error or panic carries a key or a minted token".
		minted := v.xai.Minted()
		for _, tok := range v.gemini.Tokens() {
			minted = append(minted, tok.Name)
		}
		for _, secret := range minted {
			assert.NotContains(t, logs, secret, "no minted secret or token in the sidecar's log")
		}
	})
	v.sc = startSidecar(t, buildSidecar(t), providersSidecarYAML+extraYAML, append([]string{
		"E2E_OPENAI_URL=" + servers["openai"].URL, "E2E_OPENAI_KEY=" + providersOpenAIKey,
		"E2E_XAI_URL=" + servers["xai"].URL, "E2E_XAI_KEY=" + providersXAIKey,
		"E2E_GEMINI_URL=" + servers["gemini"].URL, "E2E_GEMINI_KEY=" + providersGeminiKey,
		"E2E_VK_VOICE=" + vkVoice, "E2E_VK_VOICE_XAI_1=" + vkVoiceXAI1, "E2E_VK_VOICE_GEM_1=" + vkVoiceGem1,
		"E2E_VK_VOICE_ONE=" + vkVoiceOne,
		"E2E_PROXY_URL=" + servers["proxy"].URL,
	}, env...)...)
	return v
}

// fakeRequest is what the fakes' log reports of one request.
type fakeRequest struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
	Body    json.RawMessage     `json:"body"`
}

func toFakeRequest(method, path, query string, h http.Header, body []byte) fakeRequest {
	raw := json.RawMessage(body)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(string(body))
	}
	return fakeRequest{Method: method, Path: path, Query: query, Headers: h, Body: raw}
}

// fakesHandler serves the fakes' records as JSON.
func (v *voiceStack) fakesHandler() http.Handler {
	mux := http.NewServeMux()
	serve := func(path string, records func() any) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(records())
		})
	}
	serve("/xai/requests", func() any {
		out := []fakeRequest{}
		for _, r := range v.xai.Requests() {
			out = append(out, toFakeRequest(r.Method, r.Path, "", r.Header, r.Body))
		}
		return out
	})
	serve("/xai/minted", func() any { return append([]string{}, v.xai.Minted()...) })
	serve("/gemini/requests", func() any {
		out := []fakeRequest{}
		for _, r := range v.gemini.Requests() {
			out = append(out, toFakeRequest(r.Method, r.Path, r.RawQuery, r.Header, r.Body))
		}
		return out
	})
	serve("/gemini/tokens", func() any {
		type token struct {
			Name          string    `json:"name"`
			Uses          int       `json:"uses"`
			Expire        time.Time `json:"expire"`
			NewSession    time.Time `json:"new_session"`
			Model         string    `json:"model"`
			FieldMask     string    `json:"field_mask"`
			RequestedKeys []string  `json:"requested_keys"`
		}
		out := []token{}
		for _, tok := range v.gemini.Tokens() {
			out = append(out, token{tok.Name, tok.Uses, tok.Expire, tok.NewSession, tok.Model, tok.FieldMask, tok.RequestedKeys})
		}
		return out
	})
	serve("/proxy/requests", func() any { return v.proxy.requests() })
	serve("/openai/requests", func() any {
		out := []fakeRequest{}
		for _, r := range v.openai.Requests() {
			out = append(out, toFakeRequest(r.Method, r.Path, "", r.Header, r.Body))
		}
		return out
	})
	return mux
}

// existingProxy stands in for the proxy realtimesecretd passes every
// request that is not a mint to (its upstream). It records what arrives,
// attribution headers included, and plays the provider's end of a Live
// or Realtime WebSocket: for Gemini's BidiGenerateContent it reads the
// client's setup message and answers setupComplete, as Google does; for
// any other WebSocket it sends one event first. Its answer to a plain
// request is 404.
type existingProxy struct {
	mu   sync.Mutex
	seen []proxiedRequest
}

// proxiedRequest is one request the existing proxy received.
type proxiedRequest struct {
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Query       string              `json:"query"`
	Headers     map[string][]string `json:"headers"`
	Subprotocol string              `json:"subprotocol"`   // the one the WebSocket was accepted with
	FirstClient json.RawMessage     `json:"first_message"` // the client's first WebSocket message
}

func (p *existingProxy) requests() []proxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxiedRequest{}, p.seen...)
}

func (p *existingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	i := len(p.seen)
	p.seen = append(p.seen, proxiedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: r.Header.Clone()})
	p.mu.Unlock()
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.NotFound(w, r)
		return
	}
	var offered []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for item := range strings.SplitSeq(v, ",") {
			offered = append(offered, strings.TrimSpace(item))
		}
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: offered})
	if err != nil {
		return
	}
	defer func() { _ = c.CloseNow() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.mu.Lock()
	p.seen[i].Subprotocol = c.Subprotocol()
	p.mu.Unlock()
	if strings.Contains(r.URL.Path, "BidiGenerateContent") {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.seen[i].FirstClient = json.RawMessage(msg)
		p.mu.Unlock()
		if c.Write(ctx, websocket.MessageText, []byte(`{"setupComplete":{}}`)) != nil {
			return
		}
	} else if c.Write(ctx, websocket.MessageText, []byte(`{"type":"conversation.created","event_id":"event_e2e"}`)) != nil {
		return
	}
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

// TestNodeSDKProviders runs node/providers.test.mjs: the official OpenAI
// Node SDK (openai) minting xAI secrets and Google's Gen AI SDK
// (@google/genai) minting Gemini Live auth tokens, each with its base URL
// set to the realtimesecretd binary and a virtual key as its API key. As
// TestNodeSDK, Go owns the processes and node is its child, on the Node.js
// package-lock.json pins (@google/genai and openai v7 want node >= 22).
func TestNodeSDKProviders(t *testing.T) {
	t.Parallel()
	node, err := filepath.Abs(filepath.Join("node", "node_modules", ".bin", "node"))
	require.NoError(t, err)
	for _, pkg := range []string{"openai", filepath.Join("@google", "genai")} {
		if _, err := os.Stat(filepath.Join("node", "node_modules", pkg, "package.json")); err != nil {
			missingTool(t, "node/node_modules/%s is not installed: run npm ci in internal/e2e/node", pkg)
		}
	}
	if _, err := os.Stat(node); err != nil {
		missingTool(t, "the pinned Node.js is missing from node/node_modules: run npm ci in internal/e2e/node")
	}

	v := startVoiceStack(t)
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "--test-timeout=60000", "providers.test.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(),
		"E2E_SIDECAR_URL="+v.sc.URL,
		"E2E_FAKES_URL="+v.fakesURL,
		"E2E_VK_VOICE="+vkVoice,
		"E2E_VK_VOICE_XAI_1="+vkVoiceXAI1,
		"E2E_VK_VOICE_GEM_1="+vkVoiceGem1,
		"E2E_VK_VOICE_ABSENT="+vkVoiceAbsent,
		"E2E_VK_VOICE_ONE="+vkVoiceOne,
		"E2E_OPENAI_KEY="+providersOpenAIKey,
		"E2E_XAI_KEY="+providersXAIKey,
		"E2E_GEMINI_KEY="+providersGeminiKey,
		"E2E_MAX_TTL_SECONDS=300",
		"E2E_MAX_USES=2",
		"NO_COLOR=1",
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Run(), "node --test providers.test.mjs failed; its report is above")

	// The Go side checks too, so that a node suite that asserted nothing
	// could not pass: the mints it expects to succeed reached the fakes,
	// with the provider keys, and no refusal did.
	minted := v.xai.Minted()
	assert.Len(t, minted, 7, "xAI secrets the node suite minted")
	for _, r := range v.xai.Requests() {
		assert.Equal(t, "Bearer "+providersXAIKey, r.Header.Get("Authorization"))
		assert.Equal(t, fakexai.PathClientSecrets, r.Path)
	}
	assert.Len(t, v.xai.Requests(), len(minted), "every request xAI received was a mint it answered")
	tokens := v.gemini.Tokens()
	assert.Len(t, tokens, 8, "Gemini tokens the node suite minted")
	assert.Len(t, v.gemini.Requests(), len(tokens), "every request Gemini received was a mint it answered")
	for _, r := range v.gemini.Requests() {
		assert.Equal(t, providersGeminiKey, r.Header.Get("X-Goog-Api-Key"))
		assert.Empty(t, r.Header.Get("Authorization"))
	}
	for _, tok := range tokens {
		assert.Equal(t, geminiModel, tok.Model, "every token is locked to the allowed model")
		assert.WithinDuration(t, time.Now(), tok.Expire, voiceMaxTTL+10*time.Second)
		assert.LessOrEqual(t, tok.Uses, voiceMaxUses)
		assert.Positive(t, tok.Uses)
	}
	assert.Equal(t, 1, v.openai.Count(), "the one OpenAI mint")
}

// TestGoSDKXAI mints xAI client secrets with the official Go SDK, its base
// URL set to the realtimesecretd binary's /xai/v1/ (and /v1/ with the model
// written xai/<model>), its API key a virtual key: the secret is xAI's,
// the lifetime is clamped to the key's max_ttl, the key's models and rate
// limit hold, a session setting xAI does not take is refused, and xAI
// received only what it accepts, with the provider key.
func TestGoSDKXAI(t *testing.T) {
	t.Parallel()
	v := startVoiceStack(t)
	noRetry := option.WithMaxRetries(0)

	mint := func(base, apiKey, model string, seconds int64, instructions string) (*realtime.ClientSecretNewResponse, error) {
		params := realtime.ClientSecretNewParams{
			Session: realtime.ClientSecretNewParamsSessionUnion{OfRealtime: &realtime.RealtimeSessionCreateRequestParam{
				Model: realtime.RealtimeSessionCreateRequestModel(model),
			}},
		}
		if seconds > 0 {
			params.ExpiresAfter = realtime.ClientSecretNewParamsExpiresAfter{Anchor: "created_at", Seconds: openai.Int(seconds)}
		}
		if instructions != "" {
			params.Session.OfRealtime.Instructions = openai.String(instructions)
		}
		c := sdkClient(v.sc.URL+base, apiKey, noRetry)
		return c.Realtime.ClientSecrets.New(t.Context(), params)
	}
	lastBody := func() string {
		reqs := v.xai.Requests()
		require.NotEmpty(t, reqs)
		last := reqs[len(reqs)-1]
		assert.Equal(t, http.MethodPost, last.Method)
		assert.Equal(t, fakexai.PathClientSecrets, last.Path)
		assert.Equal(t, "Bearer "+providersXAIKey, last.Header.Get("Authorization"), "the provider key, not the virtual key")
		for name, values := range last.Header {
			for _, value := range values {
				assert.NotContains(t, value, "vk-e2e-", "header %s carries no virtual key to xAI", name)
			}
		}
		return string(last.Body)
	}

	for _, tc := range []struct {
		name, base, model string
		seconds           int64 // 0: none asked
		wantSeconds       int64 // what xAI is sent
	}{
		{name: "provider-scoped, within max_ttl", base: "/xai/v1/", model: grokModel, seconds: 120, wantSeconds: 120},
		{name: "provider-scoped, clamped to max_ttl", base: "/xai/v1/", model: grokModel, seconds: 3000, wantSeconds: 300},
		{name: "xai/<model> on /v1, no expiry: max_ttl injected", base: "/v1/", model: "xai/" + grokModel, wantSeconds: 300},
	} {
		before := time.Now().Unix()
		res, err := mint(tc.base, vkVoice, tc.model, tc.seconds, "")
		requireNoAPIError(t, err)
		assert.True(t, strings.HasPrefix(res.Value, fakexai.SecretPrefix), "%s: an xAI secret: %q", tc.name, res.Value)
		assert.Equal(t, res.Value, v.xai.Minted()[len(v.xai.Minted())-1], "%s: the secret xAI minted, handed back as it is", tc.name)
		assert.GreaterOrEqual(t, res.ExpiresAt, before+tc.wantSeconds-1, tc.name)
		assert.LessOrEqual(t, res.ExpiresAt, time.Now().Unix()+tc.wantSeconds+1, tc.name)
		assert.JSONEq(t, `{"expires_after":{"seconds":`+strconv.FormatInt(tc.wantSeconds, 10)+`}}`, lastBody(),
			"%s: xAI is sent expires_after.seconds only", tc.name)
	}
	require.Equal(t, 3, v.xai.Count())

	// Refusals: each an SDK error with the middleware's status and code,
	// and nothing sent to xAI.
	for _, tc := range []struct {
		name, base, apiKey, model, instructions string
		status                                  int
		code                                    string
	}{
		{name: "model outside the key's models", base: "/xai/v1/", apiKey: vkVoice, model: "grok-3-voice",
			status: http.StatusForbidden, code: "model_not_allowed"},
		{name: "xai/<model> outside the key's models on /v1", base: "/v1/", apiKey: vkVoice, model: "xai/grok-3-voice",
			status: http.StatusForbidden, code: "model_not_allowed"},
		{name: "a session setting xAI does not take", base: "/xai/v1/", apiKey: vkVoice, model: grokModel,
			instructions: "You are a friendly assistant.", status: http.StatusBadRequest, code: "unsupported_session_setting"},
		{name: "unknown virtual key", base: "/xai/v1/", apiKey: vkVoiceAbsent, model: grokModel,
			status: http.StatusUnauthorized, code: "invalid_api_key"},
	} {
		_, err := mint(tc.base, tc.apiKey, tc.model, 60, tc.instructions)
		var apiErr *openai.Error
		require.ErrorAs(t, err, &apiErr, tc.name)
		assert.Equal(t, tc.status, apiErr.StatusCode, "%s: %s", tc.name, apiErr.RawJSON())
		assert.Equal(t, tc.code, apiErr.Code, "%s: %s", tc.name, apiErr.RawJSON())
		if tc.code == "unsupported_session_setting" {
			assert.Contains(t, apiErr.Message, "session.instructions", "the refusal names the setting")
		}
	}
	assert.Equal(t, 3, v.xai.Count(), "no refused mint reached xAI")

	// The rate limit: one mint an hour, then 429.
	_, err := mint("/xai/v1/", vkVoiceXAI1, grokModel, 60, "")
	requireNoAPIError(t, err)
	_, err = mint("/xai/v1/", vkVoiceXAI1, grokModel, 60, "")
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode, apiErr.RawJSON())
	assert.NotEmpty(t, apiErr.Response.Header.Get("Retry-After"))
	assert.Equal(t, 4, v.xai.Count(), "the mint over the rate limit did not reach xAI")
	assert.Len(t, v.xai.Minted(), 4)
}

// TestGoSDKXAISealed mints an xAI secret with the official Go SDK through
// a sidecar with seal_keys, and redeems it as xAI's browser guide does, in
// the WebSocket subprotocol "xai-client-secret.<secret>", through the
// sidecar's proxied path (docs/providers.md: "With seal_keys, clients
// receive ek_rs_... instead; xai-client-secret.ek_rs_... is opened and
// replaced by the upstream secret on its way to the existing proxy"). The
// provider end accepts the subprotocol it is offered, as a server must for
// a browser that offers one; the client must see the protocol it offered,
// never the upstream secret.
func TestGoSDKXAISealed(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	v := startVoiceStackWith(t, "seal_keys: [\"${E2E_SEAL_KEY}\"]\n", "E2E_SEAL_KEY="+base64.StdEncoding.EncodeToString(key))

	c := sdkClient(v.sc.URL+"/xai/v1/", vkVoice, option.WithMaxRetries(0))
	res, err := c.Realtime.ClientSecrets.New(t.Context(), realtime.ClientSecretNewParams{
		ExpiresAfter: realtime.ClientSecretNewParamsExpiresAfter{Anchor: "created_at", Seconds: openai.Int(120)},
		Session: realtime.ClientSecretNewParamsSessionUnion{OfRealtime: &realtime.RealtimeSessionCreateRequestParam{
			Model: realtime.RealtimeSessionCreateRequestModel(grokModel),
		}},
	})
	requireNoAPIError(t, err)
	minted := v.xai.Minted()
	require.Len(t, minted, 1)
	require.True(t, strings.HasPrefix(res.Value, "ek_rs_"), "a sealed secret: %q", res.Value)
	assert.NotContains(t, res.Value, minted[0], "the client never holds xAI's secret")
	assert.InDelta(t, time.Now().Unix()+120, res.ExpiresAt, 5)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	offered := "xai-client-secret." + res.Value
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(v.sc.URL, "http")+"/xai-proxy/v1/realtime?model="+grokModel,
		&websocket.DialOptions{Subprotocols: []string{offered}})
	proxied := v.proxy.requests()
	require.NotEmpty(t, proxied, "the redemption reached the existing proxy")
	last := proxied[len(proxied)-1]
	assert.Equal(t, "/xai-proxy/v1/realtime", last.Path)
	assert.Equal(t, []string{"xai-client-secret." + minted[0]}, last.Headers["Sec-Websocket-Protocol"],
		"the sealed secret is replaced by xAI's on its way upstream")
	assert.Equal(t, []string{"xai"}, last.Headers["X-Realtime-Provider"])
	assert.Equal(t, []string{"voice"}, last.Headers["X-Realtime-Virtual-Key-Id"])
	if resp != nil {
		for _, v := range resp.Header.Values("Sec-WebSocket-Protocol") {
			assert.NotContains(t, v, minted[0], "the upstream secret must not reach the client in the handshake answer")
		}
	}
	require.NoError(t, err, "the client's WebSocket opens with the protocol it offered")
	defer func() { _ = conn.CloseNow() }()
	assert.Equal(t, offered, conn.Subprotocol())
	_, msg, err := conn.Read(ctx)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"conversation.created","event_id":"event_e2e"}`, string(msg))
	require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))
}
