package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/gemini"
	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	upstreamKey = "AIza-upstream-key-0123456789"
	vk          = "vk-web-0123456789"
	path        = "/gemini/v1alpha/auth_tokens"
	liveModel   = "gemini-live-2.5-flash-preview"
)

// stack is the middleware with a gemini provider in front of a fake
// Gemini API, on a settable clock.
type stack struct {
	h      http.Handler
	core   *realtimesecret.Handler
	up     *fakegemini.Server
	next   *recorder
	now    time.Time
	events chan realtimesecret.MintEvent
}

type recorder struct{ last *http.Request }

func (n *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.last = r
	w.WriteHeader(http.StatusTeapot)
}

func newStack(t *testing.T, baseURL string, policy realtimesecret.VirtualKey, cfg gemini.Config) *stack {
	t.Helper()
	s := &stack{next: &recorder{}, now: time.Now().UTC().Truncate(time.Second), events: make(chan realtimesecret.MintEvent, 16)}
	clock := func() time.Time { return s.now }
	if baseURL == "" {
		s.up = fakegemini.New(fakegemini.Options{Keys: []string{upstreamKey}, Models: []string{liveModel}, Now: clock})
		srv := httptest.NewServer(s.up)
		t.Cleanup(srv.Close)
		baseURL = srv.URL
	}
	cfg.BaseURL = baseURL
	p, err := gemini.New(cfg)
	require.NoError(t, err)
	policy.ID, policy.Value = "web", vk
	core, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{Name: "gemini", Provider: p,
			Keys: []realtimesecret.Key{{ID: "g1", Value: upstreamKey}}, Aliases: map[string]string{"live": liveModel}}},
		VirtualKeys: []realtimesecret.VirtualKey{policy},
		Now:         clock,
		OnMint:      func(ev realtimesecret.MintEvent) { s.events <- ev },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = core.Close() })
	s.core, s.h = core, core.Wrap(s.next)
	return s
}

// create sends what @google/genai's authTokens.create sends: POST
// {baseUrl}/v1alpha/auth_tokens, the key in x-goog-api-key.
func (s *stack) create(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Goog-Api-Key", vk)
	r.Header.Set("X-Goog-Api-Client", "google-genai-sdk/1.30.0 gl-node/v22")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func (s *stack) at(d time.Duration) string { return s.now.Add(d).Format(time.RFC3339) }

type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type     string            `json:"@type"`
			Reason   string            `json:"reason"`
			Domain   string            `json:"domain"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	} `json:"error"`
}

func requireGoogleError(t *testing.T, w *httptest.ResponseRecorder, status int, grpc string) googleError {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	var e googleError
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	assert.Equal(t, status, e.Error.Code)
	assert.Equal(t, grpc, e.Error.Status)
	assert.NotEmpty(t, e.Error.Message)
	assert.NotContains(t, w.Body.String(), upstreamKey)
	return e
}

func reason(e googleError) string {
	if len(e.Error.Details) == 0 {
		return ""
	}
	return e.Error.Details[0].Reason
}

func TestMintThroughTheMiddleware(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{Models: []string{"live", liveModel}, MaxTTL: 10 * time.Minute, MaxUses: 2,
		RateLimit: realtimesecret.Rate{Requests: 2, Per: time.Minute}}, gemini.Config{})

	// As the SDK writes liveConnectConstraints: bidiGenerateContentSetup
	// with "models/", and a field mask of the setup's keys.
	w := s.create(t, `{"uses":2,"newSessionExpireTime":"`+s.at(30*time.Second)+`","bidiGenerateContentSetup":{"model":"models/live",`+
		`"generationConfig":{"responseModalities":["AUDIO"]},"systemInstruction":{"parts":[{"text":"Answer in English."}]}},"fieldMask":"model,generation_config,system_instruction"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var v struct{ Name string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	require.True(t, strings.HasPrefix(v.Name, gemini.TokenPrefix), v.Name)

	toks := s.up.Tokens()
	require.Len(t, toks, 1)
	assert.Equal(t, v.Name, toks[0].Name)
	assert.Equal(t, liveModel, toks[0].Model, "the alias resolved")
	assert.Equal(t, 2, toks[0].Uses)
	assert.Equal(t, s.now.Add(10*time.Minute), toks[0].Expire, "expireTime injected from max_ttl")
	reqs := s.up.Requests()
	assert.Equal(t, upstreamKey, reqs[0].Header.Get("X-Goog-Api-Key"))
	assert.Empty(t, reqs[0].Header.Get("X-Goog-Api-Client"), "not on the forward list")

	rec, ok, err := s.core.Lookup(context.Background(), v.Name)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, realtimesecret.Record{KeyID: "g1", VirtualKeyID: "web", Provider: "gemini", Model: liveModel,
		Endpoint: contract.EndpointAuthToken, ExpiresAt: s.now.Add(10 * time.Minute), PrincipalKind: "virtual_key"}, rec)
	ev := <-s.events
	assert.Equal(t, contract.EndpointAuthToken, ev.Endpoint)
	assert.Equal(t, "live", ev.Model)

	// snake_case, as the Python SDK writes it, within the policy.
	w = s.create(t, `{"expire_time":"`+s.at(5*time.Minute)+`","bidi_generate_content_setup":{"model":"models/`+liveModel+`"}}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, s.now.Add(5*time.Minute), s.up.Tokens()[1].Expire)

	// The rate limit (2 a minute), in Google's shape.
	e := requireGoogleError(t, s.create(t, `{"bidiGenerateContentSetup":{"model":"models/live"}}`), http.StatusTooManyRequests, "RESOURCE_EXHAUSTED")
	assert.Equal(t, "RATE_LIMIT_EXCEEDED", reason(e))
	assert.Equal(t, gemini.ErrorDomain, e.Error.Details[0].Domain)
	assert.Len(t, s.up.Tokens(), 2)
}

// TestPolicyRefusals: each request the policy refuses is a 4xx in
// Google's shape, and nothing reaches Google.
func TestPolicyRefusals(t *testing.T) {
	model := `"bidiGenerateContentSetup":{"model":"models/live"}`
	for _, tc := range []struct {
		name   string
		body   func(s *stack) string
		status int
		grpc   string
		reason string
		param  string
	}{
		{"uses 0", func(*stack) string { return `{` + model + `,"uses":0}` }, 400, "INVALID_ARGUMENT", "INVALID_VALUE", "uses"},
		{"uses negative", func(*stack) string { return `{` + model + `,"uses":-2}` }, 400, "INVALID_ARGUMENT", "INVALID_VALUE", "uses"},
		{"uses huge", func(*stack) string { return `{` + model + `,"uses":1e12}` }, 400, "INVALID_ARGUMENT", "INVALID_TYPE", "uses"},
		{"uses beyond the policy", func(*stack) string { return `{` + model + `,"uses":3}` }, 400, "INVALID_ARGUMENT", "USES_NOT_ALLOWED", "uses"},
		{"expireTime past", func(s *stack) string { return `{` + model + `,"expireTime":"` + s.at(-time.Minute) + `"}` }, 400, "INVALID_ARGUMENT", "INVALID_VALUE", "expireTime"},
		{"expireTime beyond max_ttl", func(s *stack) string { return `{` + model + `,"expireTime":"` + s.at(time.Hour) + `"}` }, 400, "INVALID_ARGUMENT", "EXPIRE_TIME_NOT_ALLOWED", "expireTime"},
		{"expireTime in seconds", func(*stack) string { return `{` + model + `,"expireTime":1900000000}` }, 400, "INVALID_ARGUMENT", "INVALID_TYPE", "expireTime"},
		{"expire_time in another format", func(s *stack) string {
			return `{` + model + `,"expire_time":"` + s.now.Add(time.Minute).Format(time.RFC850) + `"}`
		}, 400, "INVALID_ARGUMENT", "INVALID_VALUE", "expire_time"},
		{"newSessionExpireTime beyond a minute", func(s *stack) string { return `{` + model + `,"newSessionExpireTime":"` + s.at(5*time.Minute) + `"}` },
			400, "INVALID_ARGUMENT", "NEW_SESSION_EXPIRE_TIME_NOT_ALLOWED", "newSessionExpireTime"},
		{"a refused model", func(*stack) string {
			return `{"bidiGenerateContentSetup":{"model":"models/gemini-2.0-flash-live-001"}}`
		}, 403, "PERMISSION_DENIED", "MODEL_NOT_ALLOWED", ""},
		{"no model", func(*stack) string { return `{"uses":1}` }, 400, "INVALID_ARGUMENT", "MISSING_MODEL", "bidiGenerateContentSetup.model"},
		{"a model the mask leaves open", func(*stack) string { return `{` + model + `,"fieldMask":"generation_config"}` }, 400, "INVALID_ARGUMENT", "MODEL_NOT_LOCKED", "fieldMask"},
		{"the SDK's config names", func(*stack) string { return `{"liveConnectConstraints":{"model":"live"}}` }, 400, "INVALID_ARGUMENT", "UNKNOWN_PARAMETER", "liveConnectConstraints"},
		{"not JSON", func(*stack) string { return `{"uses":1` }, 400, "INVALID_ARGUMENT", "INVALID_JSON", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, "", realtimesecret.VirtualKey{Models: []string{"live"}, MaxTTL: 10 * time.Minute, MaxUses: 2}, gemini.Config{})
			e := requireGoogleError(t, s.create(t, tc.body(s)), tc.status, tc.grpc)
			assert.Equal(t, tc.reason, reason(e), e.Error.Message)
			if tc.param != "" {
				assert.Equal(t, tc.param, e.Error.Details[0].Metadata["param"])
			}
			assert.Zero(t, s.up.Count(), "nothing is sent to Google")
		})
	}
}

func TestVirtualKeyRefusals(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, gemini.Config{})
	for key, want := range map[string]string{"": "MISSING_API_KEY", "AIza-not-a-virtual-key": "INVALID_API_KEY"} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		if key != "" {
			r.Header.Set("X-Goog-Api-Key", key)
		}
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		e := requireGoogleError(t, w, http.StatusUnauthorized, "UNAUTHENTICATED")
		assert.Equal(t, want, reason(e))
	}
	assert.Zero(t, s.up.Count())
}

func TestOpenAIEndpointsAreUnsupported(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, gemini.Config{})
	for _, p := range []string{"/gemini/v1/realtime/client_secrets", "/gemini/v1/realtime/sessions"} {
		r := httptest.NewRequest(http.MethodPost, p, strings.NewReader(`{"model":"live"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+vk)
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), `"code":"unsupported_endpoint"`, "OpenAI's routes keep OpenAI's shape")
	}
	assert.Zero(t, s.up.Count())
}

func TestUpstreamFaults(t *testing.T) {
	for _, f := range faultupstream.Faults {
		t.Run(f.Name, func(t *testing.T) {
			status, grpc := http.StatusBadGateway, "UNAVAILABLE"
			if errors.Is(f.Want, contract.ErrUpstreamTimeout) {
				status, grpc = http.StatusGatewayTimeout, "DEADLINE_EXCEEDED"
			}
			s := newStack(t, f.Start(t), realtimesecret.VirtualKey{}, gemini.Config{Timeout: f.Timeout})
			requireGoogleError(t, s.create(t, `{}`), status, grpc)
			ev := <-s.events
			f.Check(t, ev.Err, upstreamKey, vk)
		})
	}
}

func TestUpstreamAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int
		grpc   string // "" when Google's body passes through
	}{
		{name: "Google's 400 passes through", status: 400, body: `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`, want: 400},
		{name: "an HTML 500 keeps its status", status: 500, body: `<html>oops</html>`, want: 500, grpc: "INTERNAL"},
		{name: "an HTML 503 keeps its status", status: 503, body: `<html>busy</html>`, want: 503, grpc: "UNAVAILABLE"},
		{name: "a 2xx in HTML", status: 200, body: `<html>ok</html>`, want: 502, grpc: "UNAVAILABLE"},
		{name: "a 2xx without a name", status: 200, body: `{"expireTime":"x"}`, want: 502, grpc: "UNAVAILABLE"},
		{name: "an echoed key is redacted", status: 400, body: `{"error":{"code":400,"message":"bad key ` + upstreamKey + `","status":"INVALID_ARGUMENT"}}`, want: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			s := newStack(t, srv.URL, realtimesecret.VirtualKey{}, gemini.Config{})
			w := s.create(t, `{}`)
			if tc.grpc == "" {
				require.Equal(t, tc.want, w.Code)
				assert.Equal(t, strings.ReplaceAll(tc.body, upstreamKey, "[REDACTED]"), w.Body.String())
				return
			}
			requireGoogleError(t, w, tc.want, tc.grpc)
		})
	}
}

// TestRedemptionIsAttributed: the Live WebSocket through the middleware,
// with the token as @google/genai presents it (?access_token=) or as the
// Python SDK does (Authorization: Token), reaches next with its record.
func TestRedemptionIsAttributed(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, gemini.Config{})
	w := s.create(t, `{"bidiGenerateContentSetup":{"model":"models/live"}}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var v struct{ Name string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	const live = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
	for name, r := range map[string]*http.Request{
		"query":  httptest.NewRequest(http.MethodGet, live+"?access_token="+v.Name, nil),
		"header": httptest.NewRequest(http.MethodGet, live, nil),
	} {
		if name == "header" {
			r.Header.Set("Authorization", "Token "+v.Name)
		}
		r.Header.Set("Upgrade", "websocket")
		s.next.last = nil
		s.h.ServeHTTP(httptest.NewRecorder(), r)
		require.NotNil(t, s.next.last, name)
		rec, ok := realtimesecret.FromContext(s.next.last.Context())
		require.True(t, ok, name)
		assert.Equal(t, "gemini", rec.Provider)
		assert.Equal(t, liveModel, rec.Model)
	}
}

func TestRenderError(t *testing.T) {
	p, err := gemini.New(gemini.Config{})
	require.NoError(t, err)
	b := p.RenderError(&contract.Error{Status: 429, Message: "slow down", Code: "rate_limit_exceeded", Param: "uses"})
	assert.JSONEq(t, `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[`+
		`{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"realtimesecret","metadata":{"param":"uses"}}]}}`, string(b))
	b = p.RenderError(&contract.Error{Status: 504, Message: "late"})
	assert.JSONEq(t, `{"error":{"code":504,"message":"late","status":"DEADLINE_EXCEEDED"}}`, string(b))
}

func TestNew(t *testing.T) {
	for _, cfg := range []gemini.Config{{BaseURL: "generativelanguage.googleapis.com"}, {BaseURL: "https://k:pw@x"}, {Timeout: -1}, {MaxResponseBytes: -1}} {
		_, err := gemini.New(cfg)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "pw")
	}
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		_, _ = io.WriteString(w, `{"name":"auth_tokens/x"}`)
	}))
	t.Cleanup(srv.Close)
	p, err := gemini.New(gemini.Config{BaseURL: srv.URL + "/v1alpha/"})
	require.NoError(t, err)
	_, err = p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointAuthToken, Key: &contract.Key{ID: "k", Value: "AIza"}, Body: []byte(`{}`)})
	require.NoError(t, err)
	assert.Equal(t, "/v1alpha/auth_tokens", got)
	_, err = p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointClientSecret, Key: &contract.Key{ID: "k", Value: "AIza"}})
	var e *contract.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, gemini.CodeUnsupportedEndpoint, e.Code)
}
