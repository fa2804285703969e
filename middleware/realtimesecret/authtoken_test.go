package realtimesecret_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// tokenProvider is a Gemini-like provider: it serves EndpointAuthToken
// under its scope, renders errors in Google's shape and presents its
// secrets as Google's SDKs do.
type tokenProvider struct {
	mu       sync.Mutex
	requests []contract.MintRequest
	n        int
	reply    func(req *contract.MintRequest) (*contract.Reply, error)
}

var (
	_ contract.ProviderEndpoints = (*tokenProvider)(nil)
	_ contract.ErrorRenderer     = (*tokenProvider)(nil)
	_ contract.SecretFormatter   = (*tokenProvider)(nil)
)

func (p *tokenProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	p.mu.Lock()
	cp := *req
	cp.Body = append([]byte(nil), req.Body...)
	p.requests = append(p.requests, cp)
	p.n++
	n := p.n
	p.mu.Unlock()
	if p.reply != nil {
		return p.reply(req)
	}
	if req.Endpoint != contract.EndpointAuthToken {
		return nil, &contract.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_endpoint", Message: "no"}
	}
	return &contract.Reply{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"name":"auth_tokens/tok` + strconv.Itoa(n) + `"}`)}, nil
}

func (p *tokenProvider) ProviderEndpoints() []contract.Endpoint {
	return []contract.Endpoint{contract.EndpointAuthToken, contract.EndpointClientSecret}
}

func (p *tokenProvider) RenderError(e *contract.Error) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": e.Status, "message": e.Message, "status": "GOOGLE_" + e.Code}})
	return b
}

func (p *tokenProvider) SecretFormat() contract.SecretFormat {
	return contract.SecretFormat{Prefix: "auth_tokens/", AuthScheme: "Token", QueryParam: "access_token"}
}

func (p *tokenProvider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

func (p *tokenProvider) last(t *testing.T) map[string]any {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.requests)
	var v map[string]any
	require.NoError(t, json.Unmarshal(p.requests[len(p.requests)-1].Body, &v))
	return v
}

// tokenStack is a Handler with an openai provider and a gemini one, and
// a settable clock.
type tokenStack struct {
	h      *realtimesecret.Handler
	gemini *tokenProvider
	openai *fakeProvider
	clock  *fakeClock
	next   *nextRecorder
	events chan realtimesecret.MintEvent
}

var tokenNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newTokenStack(t *testing.T, vk realtimesecret.VirtualKey) *tokenStack {
	t.Helper()
	s := &tokenStack{gemini: &tokenProvider{}, openai: newFakeProvider(), clock: &fakeClock{t: tokenNow}, next: &nextRecorder{},
		events: make(chan realtimesecret.MintEvent, 16)}
	s.openai.now = s.clock.Now
	if vk.ID == "" {
		vk.ID = "web"
	}
	vk.Value = vkWeb
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{
			{Name: "openai", Provider: s.openai, Keys: []realtimesecret.Key{{ID: "primary", Value: upstreamKey}}},
			{Name: "gemini", Provider: s.gemini, Keys: []realtimesecret.Key{{ID: "g1", Value: "AIza-upstream-secret", BlockedModels: []string{"blocked"},
				Aliases: map[string]string{"live": "gemini-live-2.5-flash-preview"}}}},
		},
		VirtualKeys: []realtimesecret.VirtualKey{vk},
		Now:         s.clock.Now,
		OnMint:      func(ev realtimesecret.MintEvent) { s.events <- ev },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	s.h = h
	return s
}

func (s *tokenStack) post(t *testing.T, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, s.h.Wrap(s.next), http.MethodPost, path, body, append([]string{"X-Goog-Api-Key", vkWeb}, header...)...)
}

// googleError is Google's error shape, as tokenProvider renders it.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

func requireGoogleError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) googleError {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var e googleError
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	assert.Equal(t, status, e.Error.Code)
	assert.Equal(t, "GOOGLE_"+code, e.Error.Status, e.Error.Message)
	assert.NotEmpty(t, e.Error.Message)
	return e
}

const tokenPath = "/gemini/v1alpha/auth_tokens"

func ts(d time.Duration) string { return tokenNow.Add(d).Format(time.RFC3339) }

func TestAuthTokenRouteExistsOnlyUnderItsProvider(t *testing.T) {
	s := newTokenStack(t, realtimesecret.VirtualKey{})
	body := `{"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}}`

	w := s.post(t, tokenPath, body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"name":"auth_tokens/tok1"}`, w.Body.String())
	ev := <-s.events
	assert.Equal(t, contract.EndpointAuthToken, ev.Endpoint)
	assert.Equal(t, "gemini", ev.Provider)
	assert.Equal(t, "gemini-live-2.5-flash-preview", ev.Model)
	assert.Equal(t, "web", ev.VirtualKeyID)

	for _, path := range []string{"/v1alpha/auth_tokens", "/openai/v1alpha/auth_tokens"} {
		w := s.post(t, path, body)
		assert.Equal(t, nextStatus, w.Code, "%s is no route: it passes to next", path)
	}
	assert.Equal(t, 1, s.gemini.count())

	// A GET on the route is refused in the provider's shape.
	w = do(t, s.h.Wrap(s.next), http.MethodGet, tokenPath, "")
	requireGoogleError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", w.Header().Get("Allow"))

	// The OpenAI routes under the scope keep OpenAI's shape.
	w = do(t, s.h.Wrap(s.next), http.MethodPost, "/gemini/v1/realtime/sessions", `{"model":"x"}`, "Authorization", "Bearer "+vkWeb)
	requireAPIError(t, w, http.StatusBadRequest)
}

func TestAuthTokenForwardsGooglesBody(t *testing.T) {
	s := newTokenStack(t, realtimesecret.VirtualKey{MaxTTL: 10 * time.Minute, MaxUses: 2})
	w := s.post(t, tokenPath, `{"uses":2,"bidiGenerateContentSetup":{"model":"models/live","generationConfig":{"temperature":0.2}},"fieldMask":"model,generation_config"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	sent := s.gemini.last(t)
	assert.Equal(t, map[string]any{
		"uses":                     float64(2),
		"bidiGenerateContentSetup": map[string]any{"model": "models/gemini-live-2.5-flash-preview", "generationConfig": map[string]any{"temperature": 0.2}},
		"fieldMask":                "model,generation_config",
		"expireTime":               ts(10 * time.Minute), // injected: MaxTTL is below Google's 30 minutes
	}, sent)

	rec, ok, err := s.h.Lookup(context.Background(), "auth_tokens/tok1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "gemini", rec.Provider)
	assert.Equal(t, "gemini-live-2.5-flash-preview", rec.Model)
	assert.Equal(t, tokenNow.Add(10*time.Minute), rec.ExpiresAt)

	// snake_case, as the Python SDK writes it, and a bare model name.
	w = s.post(t, tokenPath, `{"expire_time":"`+ts(5*time.Minute)+`","bidi_generate_content_setup":{"model":"live"}}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, map[string]any{"expire_time": ts(5 * time.Minute), "bidi_generate_content_setup": map[string]any{"model": "gemini-live-2.5-flash-preview"}},
		s.gemini.last(t))
	rec, ok, err = s.h.Lookup(context.Background(), "auth_tokens/tok2")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, tokenNow.Add(5*time.Minute), rec.ExpiresAt)
}

func TestAuthTokenWithoutMaxTTLKeepsGooglesDefault(t *testing.T) {
	s := newTokenStack(t, realtimesecret.VirtualKey{})
	w := s.post(t, tokenPath, `{}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, map[string]any{}, s.gemini.last(t), "nothing injected")
	rec, ok, err := s.h.Lookup(context.Background(), "auth_tokens/tok1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, tokenNow.Add(30*time.Minute), rec.ExpiresAt)
	assert.Empty(t, rec.Model)
}

// TestAuthTokenRefusals: each bad request is a 4xx in Google's shape and
// nothing reaches the upstream.
func TestAuthTokenRefusals(t *testing.T) {
	model := `"bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview"}`
	for _, tc := range []struct {
		name   string
		vk     realtimesecret.VirtualKey
		body   string
		header []string
		status int
		code   string
	}{
		{name: "not JSON", body: `{"uses":`, status: 400, code: "invalid_json"},
		{name: "an array", body: `[]`, status: 400, code: "invalid_json"},
		{name: "uses 0 is unlimited", body: `{"uses":0}`, status: 400, code: "invalid_value"},
		{name: "uses negative", body: `{"uses":-1}`, status: 400, code: "invalid_value"},
		{name: "uses huge", body: `{"uses":99999999999999}`, status: 400, code: "invalid_value"},
		{name: "uses a fraction", body: `{"uses":1.5}`, status: 400, code: "invalid_type"},
		{name: "uses a string", body: `{"uses":"1"}`, status: 400, code: "invalid_type"},
		{name: "uses above the policy", body: `{"uses":2}`, status: 400, code: "uses_not_allowed"},
		{name: "uses above a raised policy", vk: realtimesecret.VirtualKey{MaxUses: 3}, body: `{"uses":4}`, status: 400, code: "uses_not_allowed"},
		{name: "uses twice", body: `{"uses":1,"uses":1}`, status: 400, code: "duplicate_key"},
		{name: "expireTime in the past", body: `{"expireTime":"` + ts(-time.Second) + `"}`, status: 400, code: "invalid_value"},
		{name: "expireTime now", body: `{"expireTime":"` + ts(0) + `"}`, status: 400, code: "invalid_value"},
		{name: "expireTime as unix seconds", body: `{"expireTime":` + strconv.FormatInt(tokenNow.Add(time.Minute).Unix(), 10) + `}`, status: 400, code: "invalid_type"},
		{name: "expireTime in another format", body: `{"expireTime":"` + tokenNow.Add(time.Minute).Format(time.RFC1123) + `"}`, status: 400, code: "invalid_value"},
		{name: "expireTime a date", body: `{"expireTime":"2030-01-03"}`, status: 400, code: "invalid_value"},
		{name: "expireTime beyond the policy", vk: realtimesecret.VirtualKey{MaxTTL: 10 * time.Minute}, body: `{"expireTime":"` + ts(11*time.Minute) + `"}`, status: 400, code: "expire_time_not_allowed"},
		{name: "expireTime both spellings", body: `{"expireTime":"` + ts(time.Minute) + `","expire_time":"` + ts(time.Minute) + `"}`, status: 400, code: "duplicate_key"},
		{name: "newSessionExpireTime in the past", body: `{"newSessionExpireTime":"` + ts(-time.Minute) + `"}`, status: 400, code: "invalid_value"},
		{name: "newSessionExpireTime beyond a minute", body: `{"newSessionExpireTime":"` + ts(2*time.Minute) + `"}`, status: 400, code: "new_session_expire_time_not_allowed"},
		{name: "newSessionExpireTime after expireTime", body: `{"expireTime":"` + ts(20*time.Second) + `","new_session_expire_time":"` + ts(50*time.Second) + `"}`, status: 400, code: "invalid_value"},
		{name: "a refused model", vk: realtimesecret.VirtualKey{Models: []string{"gemini-live-2.5-flash-preview"}}, body: `{"bidiGenerateContentSetup":{"model":"models/gemini-2.0-flash-live-001"}}`, status: 403, code: "model_not_allowed"},
		{name: "no model when the policy lists models", vk: realtimesecret.VirtualKey{Models: []string{"gemini-live-2.5-flash-preview"}}, body: `{}`, status: 400, code: "missing_model"},
		{name: "a model outside the field mask", body: `{` + model + `,"fieldMask":"generation_config"}`, status: 400, code: "model_not_locked"},
		{name: "a field mask of another type", body: `{` + model + `,"fieldMask":["model"]}`, status: 400, code: "invalid_type"},
		{name: "a setup of another type", body: `{"bidiGenerateContentSetup":"models/x"}`, status: 400, code: "invalid_type"},
		{name: "a model of another type", body: `{"bidiGenerateContentSetup":{"model":7}}`, status: 400, code: "invalid_type"},
		{name: "an empty model", body: `{"bidiGenerateContentSetup":{"model":"models/"}}`, status: 400, code: "invalid_value"},
		{name: "the model twice", body: `{"bidiGenerateContentSetup":{"model":"models/a","model":"models/b"}}`, status: 400, code: "duplicate_key"},
		{name: "the SDK's config names", body: `{"liveConnectConstraints":{"model":"x"}}`, status: 400, code: "unknown_parameter"},
		{name: "an unknown field", body: `{"unlimited":true}`, status: 400, code: "unknown_parameter"},
		{name: "a model no key serves", body: `{"bidiGenerateContentSetup":{"model":"models/blocked"}}`, status: 400, code: "model_not_available"},
		{name: "no virtual key", header: []string{"X-Goog-Api-Key", ""}, body: `{}`, status: 401, code: "missing_api_key"},
		{name: "a wrong virtual key", header: []string{"X-Goog-Api-Key", "AIza-not-a-virtual-key"}, body: `{}`, status: 401, code: "invalid_api_key"},
		{name: "a disabled virtual key", vk: realtimesecret.VirtualKey{Disabled: true}, body: `{}`, status: 403, code: "virtual_key_disabled"},
		{name: "the provider not allowed", vk: realtimesecret.VirtualKey{Providers: []string{"openai"}}, body: `{}`, status: 403, code: "provider_not_allowed"},
		{name: "not JSON content", header: []string{"Content-Type", "text/plain"}, body: `{}`, status: 400, code: "invalid_content_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTokenStack(t, tc.vk)
			w := s.post(t, tokenPath, tc.body, tc.header...)
			requireGoogleError(t, w, tc.status, tc.code)
			assert.Zero(t, s.gemini.count(), "nothing is sent upstream")
		})
	}
}

func TestAuthTokenRateLimitInGooglesShape(t *testing.T) {
	s := newTokenStack(t, realtimesecret.VirtualKey{RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Minute}})
	require.Equal(t, http.StatusOK, s.post(t, tokenPath, `{}`).Code)
	w := s.post(t, tokenPath, `{}`)
	requireGoogleError(t, w, http.StatusTooManyRequests, "rate_limit_exceeded")
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Equal(t, 1, s.gemini.count())
}

func TestAuthTokenUpstreamAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  *contract.Reply
		err    error
		status int
		code   string // "" when the upstream's body passes through
	}{
		{name: "Google's error passes through", reply: &contract.Reply{StatusCode: 400,
			Body: []byte(`{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}`)}, status: 400},
		{name: "an HTML 503 keeps its status", reply: &contract.Reply{StatusCode: 503, Body: []byte(`<html>down</html>`)}, status: 503, code: "upstream_error"},
		{name: "a 2xx without a name", reply: &contract.Reply{StatusCode: 200, Body: []byte(`{"token":"x"}`)}, status: 502, code: "invalid_upstream_response"},
		{name: "a name of another kind", reply: &contract.Reply{StatusCode: 200, Body: []byte(`{"name":"tokens/x"}`)}, status: 502, code: "invalid_upstream_response"},
		{name: "a 2xx in HTML", reply: &contract.Reply{StatusCode: 200, Body: []byte(`<html>ok</html>`)}, status: 502, code: "invalid_upstream_response"},
		{name: "refused", err: contract.ErrUpstreamUnavailable, status: 502, code: "upstream_unavailable"},
		{name: "slow", err: contract.ErrUpstreamTimeout, status: 504, code: "upstream_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTokenStack(t, realtimesecret.VirtualKey{})
			s.gemini.reply = func(*contract.MintRequest) (*contract.Reply, error) { return tc.reply, tc.err }
			w := s.post(t, tokenPath, `{}`)
			if tc.code == "" {
				require.Equal(t, tc.status, w.Code)
				assert.JSONEq(t, string(tc.reply.Body), w.Body.String())
				return
			}
			requireGoogleError(t, w, tc.status, tc.code)
		})
	}
}

// TestAuthTokenRedemptionIsAttributed: a Live connection that presents
// the token, in ?access_token= as @google/genai does or as "Authorization:
// Token" as the Python SDK does, reaches next with its record.
func TestAuthTokenRedemptionIsAttributed(t *testing.T) {
	s := newTokenStack(t, realtimesecret.VirtualKey{})
	require.Equal(t, http.StatusOK, s.post(t, tokenPath, `{"bidiGenerateContentSetup":{"model":"models/live"}}`).Code)
	const ws = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
	for _, tc := range []struct {
		name, target string
		header       []string
		found        bool
	}{
		{name: "query, as the JS SDK writes it", target: ws + "?access_token=auth_tokens/tok1", found: true},
		{name: "query, escaped", target: ws + "?alt=json&access_token=auth_tokens%2Ftok1", found: true},
		{name: "Authorization: Token", target: ws, header: []string{"Authorization", "Token auth_tokens/tok1"}, found: true},
		{name: "an unknown token", target: ws + "?access_token=auth_tokens/other"},
		{name: "an API key", target: ws + "?key=AIza-something"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s.h.Wrap(s.next), http.MethodGet, tc.target, "", tc.header...)
			require.Equal(t, nextStatus, w.Code)
			rec, ok := realtimesecret.FromContext(s.next.last(t).Context())
			require.Equal(t, tc.found, ok)
			if ok {
				assert.Equal(t, "gemini", rec.Provider)
				assert.Equal(t, "gemini-live-2.5-flash-preview", rec.Model)
				assert.Equal(t, "web", rec.VirtualKeyID)
			}
		})
	}
}

// TestAuthTokenIsNotSealed: with SealKeys, a Gemini token keeps Google's
// name (the SDKs pick the Live endpoint by its prefix) and is stored.
func TestAuthTokenIsNotSealed(t *testing.T) {
	p := &tokenProvider{}
	key, err := realtimesecret.ParseSealKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	require.NoError(t, err)
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{Name: "gemini", Provider: p, Keys: []realtimesecret.Key{{ID: "g1", Value: "AIza-x"}}}},
		SealKeys:  []realtimesecret.SealKey{key},
	})
	require.NoError(t, err)
	w := do(t, h, http.MethodPost, tokenPath, `{}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"name":"auth_tokens/tok1"}`, w.Body.String())
	_, ok, err := h.Lookup(context.Background(), "auth_tokens/tok1")
	require.NoError(t, err)
	assert.True(t, ok)
}
