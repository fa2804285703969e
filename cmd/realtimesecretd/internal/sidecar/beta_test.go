package sidecar_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// TestBetaMintsTranslatedOntoGA mints at the beta routes through the
// sidecar in front of the fake upstream, which answers beta requests as
// OpenAI does now (400 beta_api_shape_disabled): the client gets 200 in
// the beta shape, the fake was sent a GA request, and the secret works: it
// opens a WebRTC call at the fake, which accepts only the secrets it minted.
func TestBetaMintsTranslatedOntoGA(t *testing.T) {
	h := start(t, options{})
	// The existing proxy passes calls on to the upstream, as it would to OpenAI.
	h.Proxy.Mux.Handle("POST /v1/realtime/calls", h.Fake)
	offer, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "offer.sdp"))
	require.NoError(t, err)

	for _, tc := range []struct {
		name, path, body string
		wantSession      string   // session.type sent to the fake
		wantBeta         []string // members of the beta answer besides client_secret
	}{
		{
			name: "session", path: "/v1/realtime/sessions",
			body: `{"model":"openai/gpt-realtime","modalities":["audio","text"],"instructions":"You are a friendly assistant.",` +
				`"voice":"alloy","input_audio_format":"pcm16","turn_detection":null,` +
				`"client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}}`,
			wantSession: "realtime",
			wantBeta: []string{"id", "object", "model", "modalities", "instructions", "voice", "input_audio_format",
				"turn_detection", "tools", "tool_choice", "max_response_output_tokens", "tracing"},
		},
		{
			name: "transcription session", path: "/openai/v1/realtime/transcription_sessions",
			body: `{"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"},` +
				`"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200},` +
				`"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}}`,
			wantSession: "transcription",
			wantBeta:    []string{"id", "object", "turn_detection", "input_audio_format", "input_audio_transcription"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, h.URL+tc.path, http.Header{
				"Authorization": {"Bearer " + virtualKey},
				"Content-Type":  {"application/json"},
			}, tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

			// What reached the fake: a GA client secret request.
			sent, ok := h.Fake.Last()
			require.True(t, ok)
			assert.Equal(t, fakeupstream.PathClientSecrets, sent.Path)
			var ga map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(sent.Body, &ga), string(sent.Body))
			assert.ElementsMatch(t, []string{"expires_after", "session"}, keysOf(ga), string(sent.Body))
			var session struct {
				Type  string                     `json:"type"`
				Audio map[string]json.RawMessage `json:"audio"`
			}
			require.NoError(t, json.Unmarshal(ga["session"], &session))
			assert.Equal(t, tc.wantSession, session.Type)
			assert.Contains(t, session.Audio, "input", "the beta audio members moved below session.audio")

			// What the client got: the beta shape.
			var beta map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(body, &beta))
			assert.NotContains(t, beta, "value", "no GA member in a beta answer")
			assert.NotContains(t, beta, "session")
			for _, m := range tc.wantBeta {
				assert.Contains(t, beta, m, string(body))
			}
			var secret struct {
				Value     string `json:"value"`
				ExpiresAt int64  `json:"expires_at"`
			}
			require.NoError(t, json.Unmarshal(beta["client_secret"], &secret), string(body))
			require.True(t, strings.HasPrefix(secret.Value, "ek_"), secret.Value)
			assert.Greater(t, secret.ExpiresAt, time.Now().Unix())
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

			// The secret works: the fake opens a call with it.
			resp, answer := do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{
				"Authorization": {"Bearer " + secret.Value},
				"Content-Type":  {"application/sdp"},
			}, string(offer))
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
			assert.True(t, strings.HasPrefix(string(answer), "v=0"), "an SDP answer")
			got := h.Proxy.last(t)
			assert.Equal(t, "web", got.Header.Get(sidecar.HeaderVirtualKeyID), "the secret is attributed")
			assert.Equal(t, "primary", got.Header.Get(sidecar.HeaderKeyID))
		})
	}
	h.awaitMetrics(t,
		`realtimesecret_mints_total{endpoint="sessions",provider="openai",status="200"} 1`,
		`realtimesecret_mints_total{endpoint="transcription_sessions",provider="openai",status="200"} 1`)
}

// TestBetaMintsRefusedBeforeUpstream: a beta body that cannot be
// translated (GA and beta members mixed, a repeated member, a wrong type,
// a member GA has no place for) is a 400 naming it, and nothing reaches the
// fake upstream.
func TestBetaMintsRefusedBeforeUpstream(t *testing.T) {
	h := start(t, options{})
	for _, tc := range []struct{ name, path, body, code, param string }{
		{"GA and beta mixed", "/v1/realtime/sessions",
			`{"model":"openai/gpt-realtime","voice":"alloy","audio":{"output":{"voice":"marin"}}}`, "mixed_api_shapes", "audio"},
		{"repeated member", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","voice":"alloy","voice":"ash"}`, "duplicate_key", ""},
		{"wrong type", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","voice":["alloy"]}`, "invalid_type", "voice"},
		{"no GA equivalent", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","temperature":0.8}`, "unsupported_parameter", "temperature"},
		{"transcription mixed", "/openai/v1/realtime/transcription_sessions",
			`{"input_audio_transcription":{"model":"whisper-1"},"session":{"type":"transcription"}}`, "mixed_api_shapes", "session"},
		{"transcription wrong format", "/openai/v1/realtime/transcription_sessions",
			`{"input_audio_transcription":{"model":"whisper-1"},"input_audio_format":"mp3"}`, "invalid_value", "input_audio_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Fake.Count()
			resp, body := do(t, http.MethodPost, h.URL+tc.path, http.Header{
				"Authorization": {"Bearer " + virtualKey},
				"Content-Type":  {"application/json"},
			}, tc.body)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
			var e struct {
				Error struct {
					Code  string  `json:"code"`
					Param *string `json:"param"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, tc.code, e.Error.Code, string(body))
			if tc.param != "" {
				require.NotNil(t, e.Error.Param)
				assert.Equal(t, tc.param, *e.Error.Param)
			}
			assert.Equal(t, before, h.Fake.Count(), "nothing reached the upstream")
		})
	}
}

// TestBetaForwardFromYAML: beta: forward sends a beta mint as it is, so a
// vendor that still serves beta answers it; OpenAI's answer (the fake's by
// default) comes back as it is.
func TestBetaForwardFromYAML(t *testing.T) {
	for _, serveBeta := range []bool{true, false} {
		fake := fakeupstream.New(fakeupstream.Options{Keys: []string{upstreamKey}, ServeBeta: serveBeta})
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		vars := baseEnv()
		vars["FAKE_URL"] = srv.URL
		cfg, err := sidecar.Parse([]byte(`
providers:
  vendor:
    type: openai
    base_url: ${FAKE_URL}
    beta: forward
    keys: [{id: primary, value: "${OPENAI_API_KEY}"}]
virtual_keys: [{id: web, value: "${VK_WEB}"}]
`), env(vars))
		require.NoError(t, err)
		assert.Equal(t, "forward", cfg.Providers["vendor"].Beta)
		s, err := sidecar.New(cfg, sidecar.Options{})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/vendor/v1/realtime/sessions", strings.NewReader(`{"model":"gpt-realtime","temperature":0.7}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+virtualKey)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)

		sent, ok := fake.Last()
		require.True(t, ok)
		assert.Equal(t, fakeupstream.PathSessions, sent.Path)
		assert.JSONEq(t, `{"model":"gpt-realtime","temperature":0.7}`, string(sent.Body))
		if serveBeta {
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), `"client_secret":{"value":"ek_`)
			continue
		}
		require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
		assert.Contains(t, w.Body.String(), `"code":"beta_api_shape_disabled"`)
	}
}

func TestBetaConfigErrors(t *testing.T) {
	_, err := sidecar.Parse([]byte(`
providers:
  openai:
    beta: sideways
    keys: [{id: primary, value: "${OPENAI_API_KEY}"}]
virtual_keys: [{id: web, value: "${VK_WEB}"}]
`), env(baseEnv()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 4: providers.openai.beta "sideways": want translate or forward`)
}

func TestBetaDefaultByType(t *testing.T) {
	vars := baseEnv()
	cfg, err := sidecar.Parse([]byte(`
providers:
  openai: {keys: [{id: a, value: "${OPENAI_API_KEY}"}]}
  azure: {endpoint: "https://r.openai.azure.com", keys: [{id: b, value: k}]}
  xai: {keys: [{id: c, value: k}]}
virtual_keys: [{id: web, value: "${VK_WEB}"}]
`), env(vars))
	require.NoError(t, err)
	assert.Equal(t, "translate", cfg.Providers["openai"].Beta)
	assert.Equal(t, "translate", cfg.Providers["azure"].Beta)
	assert.Empty(t, cfg.Providers["xai"].Beta, "xAI serves no beta routes: its adapter answers them")
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
