package xai_test

import (
	"bytes"
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

	"github.com/realtimesecret/realtimesecret/adapters/xai"
	"github.com/realtimesecret/realtimesecret/internal/fakexai"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	upstreamKey = "xai-upstream-key-0123456789"
	vk          = "vk-web-0123456789"
)

// stack is the middleware with an xai provider in front of a fake xAI.
type stack struct {
	h      http.Handler
	core   *realtimesecret.Handler
	up     *fakexai.Server
	next   *recorder
	events chan realtimesecret.MintEvent
}

type recorder struct{ last *http.Request }

func (n *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.last = r
	w.WriteHeader(http.StatusTeapot)
}

func newStack(t *testing.T, baseURL string, policy realtimesecret.VirtualKey, cfg xai.Config) *stack {
	t.Helper()
	s := &stack{next: &recorder{}, events: make(chan realtimesecret.MintEvent, 16)}
	if baseURL == "" {
		s.up = fakexai.New(fakexai.Options{Keys: []string{upstreamKey}})
		srv := httptest.NewServer(s.up)
		t.Cleanup(srv.Close)
		baseURL = srv.URL
	}
	cfg.BaseURL = baseURL
	p, err := xai.New(cfg)
	require.NoError(t, err)
	policy.ID, policy.Value = "web", vk
	core, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{Name: "xai", Provider: p,
			Keys: []realtimesecret.Key{{ID: "x1", Value: upstreamKey}}, Aliases: map[string]string{"grok": "grok-voice-latest"}}},
		VirtualKeys: []realtimesecret.VirtualKey{policy},
		OnMint:      func(ev realtimesecret.MintEvent) { s.events <- ev },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = core.Close() })
	s.core, s.h = core, core.Wrap(s.next)
	return s
}

func (s *stack) mint(t *testing.T, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vk)
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func requireError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) openAIError {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	var e openAIError
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	require.NotEmpty(t, e.Error.Message)
	if code != "" {
		require.NotNil(t, e.Error.Code, w.Body.String())
		assert.Equal(t, code, *e.Error.Code, e.Error.Message)
	}
	assert.NotContains(t, w.Body.String(), upstreamKey)
	return e
}

func TestMintThroughTheMiddleware(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{Models: []string{"grok", "grok-voice-latest"}, MaxTTL: 5 * time.Minute,
		RateLimit: realtimesecret.Rate{Requests: 3, Per: time.Minute}}, xai.Config{})
	for _, tc := range []struct {
		name, path, body, sent string
	}{
		{"scoped, expiry clamped", "/xai/v1/realtime/client_secrets",
			`{"session":{"type":"realtime","model":"grok"},"expires_after":{"anchor":"created_at","seconds":900}}`, `{"expires_after":{"seconds":300}}`},
		{"unscoped, xai/model, expiry injected", "/v1/realtime/client_secrets", `{"model":"xai/grok-voice-latest"}`, `{"expires_after":{"seconds":300}}`},
		{"a shorter expiry kept", "/xai/v1/realtime/client_secrets", `{"session":{"model":"grok"},"expires_after":{"seconds":60}}`, `{"expires_after":{"seconds":60}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := s.mint(t, tc.path, tc.body)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var v struct {
				Value     string `json:"value"`
				ExpiresAt int64  `json:"expires_at"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
			assert.True(t, strings.HasPrefix(v.Value, xai.SecretPrefix), v.Value)

			reqs := s.up.Requests()
			last := reqs[len(reqs)-1]
			assert.JSONEq(t, tc.sent, string(last.Body))
			assert.Equal(t, "Bearer "+upstreamKey, last.Header.Get("Authorization"))

			rec, ok, err := s.core.Lookup(context.Background(), v.Value)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, realtimesecret.Record{KeyID: "x1", VirtualKeyID: "web", Provider: "xai", Model: "grok-voice-latest",
				Endpoint: contract.EndpointClientSecret, ExpiresAt: time.Unix(v.ExpiresAt, 0), PrincipalKind: "virtual_key"}, rec)
			ev := <-s.events
			assert.Equal(t, http.StatusOK, ev.Status)
			assert.Equal(t, "xai", ev.Provider)
		})
	}
	// The rate limit (3 a minute) holds.
	w := s.mint(t, "/xai/v1/realtime/client_secrets", `{"model":"grok"}`)
	requireError(t, w, http.StatusTooManyRequests, "rate_limit_exceeded")
	// A model outside the virtual key's list is refused before xAI.
	n := s.up.Count()
	w = s.mint(t, "/xai/v1/realtime/client_secrets", `{"model":"grok-2"}`)
	requireError(t, w, http.StatusForbidden, "model_not_allowed")
	assert.Equal(t, n, s.up.Count())
}

// TestSessionSettingsRefused: what an xAI secret cannot carry is a 400
// that names it, and nothing reaches xAI.
func TestSessionSettingsRefused(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, xai.Config{})
	for _, tc := range []struct {
		name, body, param, names string
	}{
		{"instructions and voice", `{"session":{"model":"grok","instructions":"be brief","voice":"eve"}}`, "session.instructions", "session.instructions, session.voice"},
		{"audio", `{"session":{"type":"realtime","model":"grok","audio":{"output":{"voice":"eve"}}}}`, "session.audio", "session.audio"},
		{"tools", `{"session":{"model":"grok","tools":[]}}`, "session.tools", "session.tools"},
		{"a transcription secret", `{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"x"}}}}}`, "session.type", "realtime"},
		{"another anchor", `{"model":"grok","expires_after":{"anchor":"first_use","seconds":60}}`, "expires_after.anchor", "created_at"},
		{"an unknown expiry member", `{"model":"grok","expires_after":{"seconds":60,"max_uses":1}}`, "expires_after.max_uses", "expires_after.max_uses"},
		{"a fractional expiry", `{"model":"grok","expires_after":{"seconds":60.5}}`, "expires_after.seconds", "whole number"},
		{"an unknown top-level member", `{"model":"grok","metadata":{"a":"b"}}`, "metadata", "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := s.mint(t, "/xai/v1/realtime/client_secrets", tc.body)
			e := requireError(t, w, http.StatusBadRequest, xai.CodeUnsupportedSessionSetting)
			require.NotNil(t, e.Error.Param)
			assert.Equal(t, tc.param, *e.Error.Param)
			assert.Contains(t, e.Error.Message, tc.names)
			assert.Zero(t, s.up.Count(), "nothing is sent to xAI")
		})
	}
}

func TestUnsupportedEndpoints(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, xai.Config{})
	for path, body := range map[string]string{
		"/xai/v1/realtime/sessions":                    `{"model":"grok"}`,
		"/xai/v1/realtime/transcription_sessions":      `{"input_audio_transcription":{"model":"x"}}`,
		"/xai/v1/realtime/translations/client_secrets": `{"session":{"model":"grok"}}`,
		"/xai/v1/live/sessions":                        `{"session":{"model":"grok"},"transport":{"type":"webrtc","sdp":"v=0\r\n"}}`,
		"/xai/v1alpha/auth_tokens":                     `{}`,
	} {
		w := s.mint(t, path, body)
		if path == "/xai/v1alpha/auth_tokens" {
			assert.Equal(t, http.StatusTeapot, w.Code, "no such route for xAI: it passes on")
			continue
		}
		requireError(t, w, http.StatusBadRequest, xai.CodeUnsupportedEndpoint)
	}
	assert.Zero(t, s.up.Count())
}

func TestUpstreamFaults(t *testing.T) {
	for _, f := range faultupstream.Faults {
		t.Run(f.Name, func(t *testing.T) {
			status, code := http.StatusBadGateway, "upstream_unavailable"
			if errors.Is(f.Want, contract.ErrUpstreamTimeout) {
				status, code = http.StatusGatewayTimeout, "upstream_timeout"
			}
			s := newStack(t, f.Start(t), realtimesecret.VirtualKey{}, xai.Config{Timeout: f.Timeout})
			w := s.mint(t, "/xai/v1/realtime/client_secrets", `{"model":"grok"}`)
			requireError(t, w, status, code)
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
		code   string
		msg    string
	}{
		{name: "xAI's 400 keeps its message", status: 400, body: `{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***89."}`,
			want: 400, msg: "Incorrect API key provided: xa***89."},
		{name: "an echoed key is redacted", status: 401, body: `{"code":"Unauthorized","error":"bad key ` + upstreamKey + `"}`, want: 401, msg: "bad key [REDACTED]"},
		{name: "an HTML 503 keeps its status", status: 503, body: `<html>busy</html>`, want: 503, code: "upstream_error"},
		{name: "a 429 with a numeric code", status: 429, body: `{"code":429,"error":"You ran out of credits."}`, want: 429, msg: "You ran out of credits."},
		{name: "a 2xx in HTML", status: 200, body: `<html>ok</html>`, want: 502, code: "invalid_upstream_response"},
		{name: "a 2xx without a value", status: 200, body: `{"expires_at":1}`, want: 502, code: "invalid_upstream_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			s := newStack(t, srv.URL, realtimesecret.VirtualKey{}, xai.Config{})
			w := s.mint(t, "/xai/v1/realtime/client_secrets", `{"model":"grok"}`)
			e := requireError(t, w, tc.want, tc.code)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, e.Error.Message)
			}
		})
	}
}

// TestRedemptionIsAttributed: a WebSocket that presents the secret, in
// xAI's subprotocol as a browser does or as a bearer, reaches next with
// its record.
func TestRedemptionIsAttributed(t *testing.T) {
	s := newStack(t, "", realtimesecret.VirtualKey{}, xai.Config{})
	w := s.mint(t, "/xai/v1/realtime/client_secrets", `{"model":"grok"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var v struct{ Value string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))

	for name, h := range map[string]http.Header{
		"subprotocol": {"Sec-Websocket-Protocol": {"realtime, " + xai.Subprotocol + v.Value}},
		"bearer":      {"Authorization": {"Bearer " + v.Value}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/v1/realtime?model=grok-voice-latest", nil)
		for k, vs := range h {
			r.Header[k] = vs
		}
		r.Header.Set("Upgrade", "websocket")
		s.h.ServeHTTP(httptest.NewRecorder(), r)
		require.NotNil(t, s.next.last, name)
		rec, ok := realtimesecret.FromContext(s.next.last.Context())
		require.True(t, ok, name)
		assert.Equal(t, "xai", rec.Provider, name)
		assert.Equal(t, "web", rec.VirtualKeyID, name)
		s.next.last = nil
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []xai.Config{
		{BaseURL: "api.x.ai"},
		{BaseURL: "https://user:pw@api.x.ai"},
		{Timeout: -time.Second},
		{MaxResponseBytes: -1},
	} {
		_, err := xai.New(cfg)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "xai: "), err.Error())
		assert.NotContains(t, err.Error(), "pw")
	}
	p, err := xai.New(xai.Config{BaseURL: "https://api.x.ai/v1/"})
	require.NoError(t, err)
	_, err = p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointClientSecret})
	require.Error(t, err)
}

func TestMintBodyNeverHoldsTheKey(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, `{"value":"xai-realtime-client-secret-1","expires_at":1}`)
	}))
	t.Cleanup(srv.Close)
	p, err := xai.New(xai.Config{BaseURL: srv.URL})
	require.NoError(t, err)
	resp, err := p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointClientSecret,
		Key: &contract.Key{ID: "k", Value: upstreamKey}, Body: []byte(`{"session":{"type":"realtime","model":"m"}}`)})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{}`, string(got))
	assert.False(t, bytes.Contains(got, []byte(upstreamKey)))
}
