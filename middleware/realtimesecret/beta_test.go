package realtimesecret_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// gaReplier answers like OpenAI's GA endpoint: a client secret and the
// session the request asked for, with some of OpenAI's members added.
func gaReplier(p *fakeProvider) func(req *contract.MintRequest) (*contract.Reply, error) {
	return func(req *contract.MintRequest) (*contract.Reply, error) {
		var in struct {
			Session map[string]json.RawMessage `json:"session"`
		}
		if err := json.Unmarshal(req.Body, &in); err != nil {
			return &contract.Reply{StatusCode: 400, Body: []byte(`{"error":{"message":"not JSON","type":"invalid_request_error"}}`)}, nil
		}
		session := map[string]json.RawMessage{"object": json.RawMessage(`"realtime.session"`), "id": json.RawMessage(`"sess_1"`),
			"expires_at": json.RawMessage(`0`), "truncation": json.RawMessage(`"auto"`)}
		for k, v := range in.Session {
			session[k] = v
		}
		token := newToken()
		p.mu.Lock()
		p.minted = append(p.minted, token)
		p.mu.Unlock()
		body, err := json.Marshal(map[string]any{"value": token, "expires_at": p.now().Add(p.ttl).Unix(), "session": session})
		return &contract.Reply{StatusCode: http.StatusOK, Header: http.Header{"X-Request-Id": {"req_1"}}, Body: body}, err
	}
}

// translatingConfig is baseConfig with the provider translating beta
// mints, as the OpenAI and Azure adapters do by default.
func translatingConfig(p contract.Provider) realtimesecret.Config {
	cfg := baseConfig(p)
	cfg.Providers[0].Beta = contract.BetaTranslate
	return cfg
}

// TestBetaMintTranslated mints at the beta routes of a provider that
// translates: the provider is sent the GA request, the client gets the
// beta answer, and its token is attributed.
func TestBetaMintTranslated(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, wantGA, wantBeta string
		endpoint                           realtimesecret.Endpoint
	}{
		{
			name: "session", path: "/v1/realtime/sessions", endpoint: contract.EndpointSession,
			body: `{"model":"openai/gpt-realtime","modalities":["audio","text"],"instructions":"You are a friendly assistant.",` +
				`"voice":"alloy","input_audio_format":"g711_ulaw","client_secret":{"expires_after":{"anchor":"created_at","seconds":120}}}`,
			wantGA: `{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","model":"gpt-realtime",` +
				`"output_modalities":["audio"],"instructions":"You are a friendly assistant.",` +
				`"audio":{"output":{"voice":"alloy"},"input":{"format":{"type":"audio/pcmu"}}}}}`,
			wantBeta: `{"id":"sess_1","object":"realtime.session","model":"gpt-realtime","modalities":["audio","text"],` +
				`"instructions":"You are a friendly assistant.","voice":"alloy","input_audio_format":"g711_ulaw"}`,
		},
		{
			name: "transcription session", path: "/openai/v1/realtime/transcription_sessions", endpoint: contract.EndpointTranscriptionSession,
			body: `{"input_audio_format":"pcm16","input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"},` +
				`"turn_detection":{"type":"server_vad"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":300}}}`,
			wantGA: `{"expires_after":{"anchor":"created_at","seconds":300},"session":{"type":"transcription","audio":{"input":{` +
				`"turn_detection":{"type":"server_vad"},"format":{"type":"audio/pcm","rate":24000},` +
				`"transcription":{"model":"gpt-4o-transcribe","language":"en"}}}}}`,
			wantBeta: `{"id":"sess_1","object":"realtime.session","turn_detection":{"type":"server_vad"},"input_audio_format":"pcm16",` +
				`"input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			p.reply = gaReplier(p)
			h, err := realtimesecret.New(translatingConfig(p))
			require.NoError(t, err)
			next := &nextRecorder{}
			srv := h.Wrap(next)

			w := do(t, srv, http.MethodPost, tc.path, tc.body, "Authorization", "Bearer "+vkWeb)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			sent := p.last(t)
			assert.Equal(t, contract.EndpointClientSecret, sent.Endpoint, "sent to the GA endpoint")
			assert.JSONEq(t, tc.wantGA, string(sent.Body))

			var got map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			var secret struct {
				Value     string `json:"value"`
				ExpiresAt int64  `json:"expires_at"`
			}
			require.NoError(t, json.Unmarshal(got["client_secret"], &secret), w.Body.String())
			require.Len(t, p.minted, 1)
			assert.Equal(t, p.minted[0], secret.Value)
			assert.InDelta(t, time.Now().Add(10*time.Minute).Unix(), secret.ExpiresAt, 5)
			delete(got, "client_secret")
			rest, err := json.Marshal(got)
			require.NoError(t, err)
			assert.JSONEq(t, tc.wantBeta, string(rest), "the beta answer, GA-only members dropped")
			assert.Equal(t, "req_1", w.Header().Get("X-Request-Id"))

			rec, ok, err := h.Lookup(t.Context(), secret.Value)
			require.NoError(t, err)
			require.True(t, ok, "the token is attributed")
			assert.Equal(t, "web", rec.VirtualKeyID)
			assert.Equal(t, secret.ExpiresAt, rec.ExpiresAt.Unix())
			assert.Equal(t, tc.endpoint, rec.Endpoint, "the record names the route the client used")

			w = do(t, srv, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+secret.Value)
			require.Equal(t, nextStatus, w.Code)
			attributed, ok := realtimesecret.FromContext(next.last(t).Context())
			require.True(t, ok)
			assert.Equal(t, rec, attributed)
		})
	}
}

func TestBetaMintTranslatedSealed(t *testing.T) {
	p := newFakeProvider()
	p.reply = gaReplier(p)
	cfg := translatingConfig(p)
	cfg.SealKeys = []realtimesecret.SealKey{sealKey1}
	next := &nextRecorder{}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	node := h.Wrap(next)
	w := do(t, node, http.MethodPost, "/v1/realtime/sessions", `{"model":"openai/gpt-realtime"}`, "Authorization", "Bearer "+vkWeb)
	sealed := mintedValue(t, w)
	require.True(t, strings.HasPrefix(sealed, "ek_rs_"), w.Body.String())
	require.Len(t, p.minted, 1)
	assert.NotContains(t, w.Body.String(), p.minted[0], "the upstream token never reaches the client")

	w = do(t, node, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+sealed)
	require.Equal(t, nextStatus, w.Code)
	r := next.last(t)
	rec, ok := realtimesecret.FromContext(r.Context())
	require.True(t, ok)
	assert.Equal(t, contract.EndpointSession, rec.Endpoint)
	assert.Equal(t, "Bearer "+p.minted[0], r.Header.Get("Authorization"), "next sees the upstream token")
}

// betaDefaulter is a fakeProvider whose adapter declares a Beta default,
// as adapters/openai and adapters/azure do.
type betaDefaulter struct {
	*fakeProvider
	mode string
}

func (b betaDefaulter) BetaDefault() string { return b.mode }

// TestBetaMode checks which beta mints are translated: ProviderConfig.Beta
// when set, else the adapter's BetaDefault, else none.
func TestBetaMode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		beta      string
		adapter   func(*fakeProvider) contract.Provider
		translate bool
	}{
		{"adapter without a default", "", func(p *fakeProvider) contract.Provider { return p }, false},
		{"adapter default translate", "", func(p *fakeProvider) contract.Provider { return betaDefaulter{p, contract.BetaTranslate} }, true},
		{"adapter default forward", "", func(p *fakeProvider) contract.Provider { return betaDefaulter{p, contract.BetaForward} }, false},
		{"adapter default unknown", "", func(p *fakeProvider) contract.Provider { return betaDefaulter{p, "sideways"} }, false},
		{"forward over the adapter's translate", contract.BetaForward,
			func(p *fakeProvider) contract.Provider { return betaDefaulter{p, contract.BetaTranslate} }, false},
		{"translate over no default", contract.BetaTranslate, func(p *fakeProvider) contract.Provider { return p }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			cfg := baseConfig(tc.adapter(p))
			cfg.Providers[0].Beta = tc.beta
			h := realtimesecret.Middleware(cfg)(&nextRecorder{})
			for _, ep := range []realtimesecret.Endpoint{contract.EndpointSession, contract.EndpointTranscriptionSession} {
				body, beta := `{"model":"openai/gpt-realtime"}`, `{"model":"gpt-realtime"}`
				if ep == contract.EndpointTranscriptionSession {
					body, beta = `{"input_audio_transcription":{"model":"openai/whisper-1"}}`, `{"input_audio_transcription":{"model":"whisper-1"}}`
				}
				w := do(t, h, http.MethodPost, ep.Path(), body, "Authorization", "Bearer "+vkWeb)
				assert.True(t, strings.HasPrefix(mintedValue(t, w), "ek_"))
				if tc.translate {
					assert.Equal(t, contract.EndpointClientSecret, p.last(t).Endpoint)
					assert.Contains(t, string(p.last(t).Body), `"session":{"type":`)
				} else {
					assert.Equal(t, ep, p.last(t).Endpoint)
					assert.Equal(t, beta, string(p.last(t).Body), "forwarded as it is, but for the model")
				}
			}
		})
	}
}

// TestBetaMintForwardedKeepsBetaFields: a forwarded beta mint carries what
// translation refuses, for a vendor that still serves it.
func TestBetaMintForwardedKeepsBetaFields(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(betaDefaulter{p, contract.BetaTranslate})
	cfg.Providers[0].Beta = contract.BetaForward
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	w := do(t, h, http.MethodPost, "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","temperature":0.7}`, "Authorization", "Bearer "+vkWeb)
	assert.True(t, strings.HasPrefix(mintedValue(t, w), "ek_"))
	assert.Equal(t, contract.EndpointSession, p.last(t).Endpoint)
	assert.JSONEq(t, `{"model":"gpt-realtime","temperature":0.7}`, string(p.last(t).Body))
}

func TestBetaMintRefused(t *testing.T) {
	for _, tc := range []struct{ name, path, body, param, code string }{
		{"GA and beta mixed", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","voice":"alloy","audio":{"output":{"voice":"marin"}}}`, "audio", "mixed_api_shapes"},
		{"GA session in a beta body", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","session":{"instructions":"x"}}`, "session", "mixed_api_shapes"},
		{"no GA equivalent", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","temperature":0.7}`, "temperature", "unsupported_parameter"},
		{"repeated key", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","voice":"alloy","voice":"ash"}`, "", "duplicate_key"},
		{"wrong type", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","modalities":"audio"}`, "modalities", "invalid_type"},
		{"wrong value", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","output_audio_format":"mp3"}`, "output_audio_format", "invalid_value"},
		{"transcription modalities", "/v1/realtime/transcription_sessions",
			`{"input_audio_transcription":{"model":"openai/whisper-1"},"modalities":["text"]}`, "modalities", "unsupported_parameter"},
		{"transcription GA mixed", "/v1/realtime/transcription_sessions",
			`{"input_audio_transcription":{"model":"openai/whisper-1"},"audio":{"input":{}}}`, "audio", "mixed_api_shapes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			h := realtimesecret.Middleware(translatingConfig(p))(&nextRecorder{})
			w := do(t, h, http.MethodPost, tc.path, tc.body, "Authorization", "Bearer "+vkWeb)
			e := requireAPIError(t, w, http.StatusBadRequest)
			require.NotNil(t, e.Error.Code)
			assert.Equal(t, tc.code, *e.Error.Code, e.Error.Message)
			if tc.param != "" {
				require.NotNil(t, e.Error.Param)
				assert.Equal(t, tc.param, *e.Error.Param)
			}
			assert.Zero(t, p.count(), "nothing is sent upstream")
		})
	}
}

// TestBetaMintExpiry: a virtual key's MaxTTL is applied to the beta expiry
// before it moves to the GA one, clamped or injected.
func TestBetaMintExpiry(t *testing.T) {
	for _, tc := range []struct{ name, path, body string }{
		{"session injected", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime"}`},
		{"session clamped", "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","client_secret":{"expires_after":{"anchor":"created_at","seconds":3600}}}`},
		{"transcription injected", "/v1/realtime/transcription_sessions", `{"input_audio_transcription":{"model":"openai/whisper-1"}}`},
		{"transcription clamped", "/v1/realtime/transcription_sessions",
			`{"input_audio_transcription":{"model":"openai/whisper-1"},"client_secret":{"expires_at":{"anchor":"created_at","seconds":3600}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			p.reply = gaReplier(p)
			cfg := translatingConfig(p)
			cfg.VirtualKeys[0].MaxTTL = time.Minute
			h := realtimesecret.Middleware(cfg)(&nextRecorder{})
			w := do(t, h, http.MethodPost, tc.path, tc.body, "Authorization", "Bearer "+vkWeb)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var sent struct {
				ExpiresAfter struct {
					Anchor  string `json:"anchor"`
					Seconds int    `json:"seconds"`
				} `json:"expires_after"`
			}
			require.NoError(t, json.Unmarshal(p.last(t).Body, &sent))
			assert.Equal(t, "created_at", sent.ExpiresAfter.Anchor)
			assert.Equal(t, 60, sent.ExpiresAfter.Seconds, string(p.last(t).Body))
		})
	}
}

func TestBetaMintUpstreamAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int
		param  string
	}{
		{"error param renamed to the beta path", 400,
			`{"error":{"message":"Invalid value: 'nova'.","type":"invalid_request_error","param":"session.audio.output.voice","code":"invalid_value"}}`,
			400, "voice"},
		{"error param of the expiry", 400,
			`{"error":{"message":"too long","type":"invalid_request_error","param":"expires_after.seconds","code":"integer_above_max_value"}}`,
			400, "client_secret.expires_after.seconds"},
		{"untranslatable 2xx", 200, `["ek_1"]`, 502, ""},
		{"2xx without a secret", 200, `{"session":{"type":"realtime"}}`, 502, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProvider()
			p.reply = func(*contract.MintRequest) (*contract.Reply, error) {
				return &contract.Reply{StatusCode: tc.status, Header: http.Header{}, Body: []byte(tc.body)}, nil
			}
			h := realtimesecret.Middleware(translatingConfig(p))(&nextRecorder{})
			w := do(t, h, http.MethodPost, "/v1/realtime/sessions", `{"model":"openai/gpt-realtime","voice":"nova"}`, "Authorization", "Bearer "+vkWeb)
			e := requireAPIError(t, w, tc.want)
			if tc.param != "" {
				require.NotNil(t, e.Error.Param)
				assert.Equal(t, tc.param, *e.Error.Param)
			}
		})
	}
}

func TestBetaConfig(t *testing.T) {
	for _, beta := range []string{"", contract.BetaTranslate, contract.BetaForward} {
		cfg := baseConfig(newFakeProvider())
		cfg.Providers[0].Beta = beta
		_, err := realtimesecret.New(cfg)
		assert.NoError(t, err, beta)
	}
	cfg := baseConfig(newFakeProvider())
	cfg.Providers[0].Beta = "Forward"
	_, err := realtimesecret.New(cfg)
	require.ErrorIs(t, err, realtimesecret.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `"translate" or "forward"`)
}
