package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// sdkClient is the official Go SDK pointed at base with apiKey, configured
// the way an application would configure it, but for the base URL.
func sdkClient(base, apiKey string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIKey(apiKey),
		option.WithRequestTimeout(10 * time.Second),
	}, opts...)...)
}

// minted is what every mint answer carries, whichever SDK method made it.
type minted struct {
	Value     string
	ExpiresAt int64
	Model     string // the model of the session in the answer
}

// mintCall mints through one SDK method with model as the caller wrote it.
type mintCall func(ctx context.Context, c openai.Client, model string) (minted, error)

func mintRealtime(ctx context.Context, c openai.Client, model string) (minted, error) {
	res, err := c.Realtime.ClientSecrets.New(ctx, realtime.ClientSecretNewParams{
		ExpiresAfter: realtime.ClientSecretNewParamsExpiresAfter{Anchor: "created_at", Seconds: openai.Int(120)},
		Session: realtime.ClientSecretNewParamsSessionUnion{OfRealtime: &realtime.RealtimeSessionCreateRequestParam{
			Model:        realtime.RealtimeSessionCreateRequestModel(model),
			Instructions: openai.String("You are a friendly assistant."),
		}},
	})
	if err != nil {
		return minted{}, err
	}
	return minted{Value: res.Value, ExpiresAt: res.ExpiresAt, Model: string(res.Session.AsRealtime().Model)}, nil
}

func mintTranscription(ctx context.Context, c openai.Client, model string) (minted, error) {
	res, err := c.Realtime.ClientSecrets.New(ctx, realtime.ClientSecretNewParams{
		ExpiresAfter: realtime.ClientSecretNewParamsExpiresAfter{Anchor: "created_at", Seconds: openai.Int(120)},
		Session: realtime.ClientSecretNewParamsSessionUnion{OfTranscription: &realtime.RealtimeTranscriptionSessionCreateRequestParam{
			Audio: realtime.RealtimeTranscriptionSessionAudioParam{Input: realtime.RealtimeTranscriptionSessionAudioInputParam{
				Transcription: realtime.AudioTranscriptionParam{
					Model:    realtime.AudioTranscriptionModel(model),
					Language: openai.String("en"),
				},
			}},
		}},
	})
	if err != nil {
		return minted{}, err
	}
	sess := res.Session.AsTranscription()
	return minted{Value: res.Value, ExpiresAt: res.ExpiresAt, Model: string(sess.Audio.Input.Transcription.Model)}, nil
}

func mintTranslation(ctx context.Context, c openai.Client, model string) (minted, error) {
	res, err := c.Realtime.Translations.ClientSecrets.New(ctx, realtime.TranslationClientSecretNewParams{
		RealtimeTranslationClientSecretCreateRequest: realtime.RealtimeTranslationClientSecretCreateRequestParam{
			ExpiresAfter: realtime.RealtimeTranslationClientSecretCreateRequestExpiresAfterParam{Anchor: "created_at", Seconds: openai.Int(120)},
			Session: realtime.RealtimeTranslationSessionCreateRequestParam{
				Model: model,
				Audio: realtime.RealtimeTranslationSessionCreateRequestAudioParam{
					Output: realtime.RealtimeTranslationSessionCreateRequestAudioOutputParam{Language: openai.String("es")},
				},
			},
		},
	})
	if err != nil {
		return minted{}, err
	}
	return minted{Value: res.Value, ExpiresAt: res.ExpiresAt, Model: res.Session.Model}, nil
}

// TestGoSDKMintsThroughMiddleware mints every GA kind of client secret with
// the official Go SDK, on the provider-scoped base URL and on /v1 with
// "provider/model", and checks both ends: what the SDK returned and what the
// fake upstream received.
func TestGoSDKMintsThroughMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		base      string // appended to the stack URL
		model     string // as the caller writes it
		mint      mintCall
		wantPath  string // upstream path
		wantParam string // where the upstream body carries the model
		wantKey   string // upstream key the middleware must select
		wantKeyID string
		wantModel string // normalized model the upstream must see
	}{
		{
			name: "realtime provider-scoped", base: "/openai/v1", model: "gpt-realtime", mint: mintRealtime,
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyRealtime, wantKeyID: "realtime", wantModel: "gpt-realtime",
		},
		{
			name: "realtime provider/model on /v1", base: "/v1", model: "openai/gpt-realtime-mini", mint: mintRealtime,
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyRealtime, wantKeyID: "realtime", wantModel: "gpt-realtime-mini",
		},
		{
			name: "realtime alias resolved", base: "/v1", model: "openai/realtime", mint: mintRealtime,
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyRealtime, wantKeyID: "realtime", wantModel: "gpt-realtime",
		},
		{
			name: "transcription provider-scoped", base: "/openai/v1", model: "gpt-4o-transcribe", mint: mintTranscription,
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.audio.input.transcription.model",
			wantKey: upstreamKeyTranscribe, wantKeyID: "transcribe", wantModel: "gpt-4o-transcribe",
		},
		{
			name: "transcription provider/model on /v1", base: "/v1", model: "openai/gpt-4o-mini-transcribe", mint: mintTranscription,
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.audio.input.transcription.model",
			wantKey: upstreamKeyTranscribe, wantKeyID: "transcribe", wantModel: "gpt-4o-mini-transcribe",
		},
		{
			name: "translation provider-scoped", base: "/openai/v1", model: "gpt-realtime-translate", mint: mintTranslation,
			wantPath: fakeupstream.PathTranslationClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyTranslate, wantKeyID: "translate", wantModel: "gpt-realtime-translate",
		},
		{
			name: "translation provider/model on /v1", base: "/v1", model: "openai/gpt-realtime-translate", mint: mintTranslation,
			wantPath: fakeupstream.PathTranslationClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyTranslate, wantKeyID: "translate", wantModel: "gpt-realtime-translate",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			client := sdkClient(st.URL+tc.base, vkWeb)
			before := time.Now().Unix()

			got, err := tc.mint(t.Context(), client, tc.model)
			requireNoAPIError(t, err)

			assert.True(t, strings.HasPrefix(got.Value, "ek_"), "value %q is not an ephemeral key", got.Value)
			assert.GreaterOrEqual(t, got.ExpiresAt, before+120, "expires_at honours the requested 120 s")
			assert.LessOrEqual(t, got.ExpiresAt, time.Now().Unix()+120)
			assert.Equal(t, tc.wantModel, got.Model, "the session in the answer names the upstream model")

			require.Equal(t, 1, st.Upstream.Count(), "exactly one upstream request per mint")
			req, ok := st.Upstream.Last()
			require.True(t, ok)
			assert.Equal(t, http.MethodPost, req.Method)
			assert.Equal(t, tc.wantPath, req.Path)
			assert.Equal(t, "Bearer "+tc.wantKey, req.Header.Get("Authorization"), "the selected upstream key")
			assert.Empty(t, req.Header.Values("X-Virtual-Key"))
			assert.NotContains(t, string(req.Body), vkWeb, "the virtual key never leaves the process")
			assert.Equal(t, tc.wantModel, jsonString(t, req.Body, tc.wantParam), "normalized model without the provider prefix")

			rec, found, err := st.Handler.Lookup(t.Context(), got.Value)
			require.NoError(t, err)
			require.True(t, found, "the minted secret is recorded for attribution")
			assert.Equal(t, tc.wantKeyID, rec.KeyID)
			assert.Equal(t, "web", rec.VirtualKeyID)
			assert.Equal(t, "openai", rec.Provider)
			assert.Equal(t, tc.wantModel, rec.Model)
			assert.Equal(t, got.ExpiresAt, rec.ExpiresAt.Unix())
		})
	}
}

// TestGoSDKBetaSessionsViaPost covers the beta endpoints, which SDK v3 no
// longer wraps, through the SDK's generic Post: the same auth, base URL and
// error handling an application using them would get. OpenAI has switched
// the beta API off (the fake answers it 400 beta_api_shape_disabled), so
// the middleware translates them onto the GA endpoint and the SDK reads
// the answer in the beta shape.
func TestGoSDKBetaSessionsViaPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		body      map[string]any
		wantPath  string
		wantParam string
		wantKey   string
		wantModel string
	}{
		{
			name: "beta session", path: "realtime/sessions",
			body:     map[string]any{"model": "openai/gpt-realtime", "voice": "alloy"},
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.model",
			wantKey: upstreamKeyRealtime, wantModel: "gpt-realtime",
		},
		{
			name: "beta transcription session", path: "realtime/transcription_sessions",
			body:     map[string]any{"input_audio_transcription": map[string]any{"model": "openai/gpt-4o-transcribe"}},
			wantPath: fakeupstream.PathClientSecrets, wantParam: "session.audio.input.transcription.model",
			wantKey: upstreamKeyTranscribe, wantModel: "gpt-4o-transcribe",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			client := sdkClient(st.URL+"/v1", vkWeb)

			var res struct {
				ClientSecret struct {
					Value     string `json:"value"`
					ExpiresAt int64  `json:"expires_at"`
				} `json:"client_secret"`
			}
			requireNoAPIError(t, client.Post(t.Context(), tc.path, tc.body, &res))

			assert.True(t, strings.HasPrefix(res.ClientSecret.Value, "ek_"))
			assert.Greater(t, res.ClientSecret.ExpiresAt, time.Now().Unix())
			req, ok := st.Upstream.Last()
			require.True(t, ok)
			assert.Equal(t, tc.wantPath, req.Path)
			assert.Equal(t, "Bearer "+tc.wantKey, req.Header.Get("Authorization"))
			assert.Equal(t, tc.wantModel, jsonString(t, req.Body, tc.wantParam))
		})
	}
}

// TestGoSDKErrors checks that every error class the middleware answers
// surfaces in the Go SDK as *openai.Error with the status, type, code and
// param the middleware wrote, and that none of them reached the upstream
// unless the upstream itself refused.
func TestGoSDKErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare may spend what the request needs to fail (a rate limit).
		prepare       func(t *testing.T, c openai.Client)
		base          string
		apiKey        string
		model         string
		opts          []option.RequestOption
		wantStatus    int
		wantType      string
		wantCode      string
		wantParam     string
		wantUpstream  int  // upstream requests expected, prepare's included
		wantRetryHint bool // a Retry-After header with positive seconds
	}{
		{
			name: "400 unknown provider names session.model", base: "/v1", apiKey: vkWeb, model: "nope/gpt-realtime",
			wantStatus: http.StatusBadRequest, wantType: "invalid_request_error", wantCode: "unknown_provider", wantParam: "session.model",
		},
		{
			name: "400 model without provider on /v1", base: "/v1", apiKey: vkWeb, model: "gpt-realtime",
			wantStatus: http.StatusBadRequest, wantType: "invalid_request_error", wantCode: "missing_provider", wantParam: "session.model",
		},
		{
			name: "400 model of the wrong type", base: "/openai/v1", apiKey: vkWeb, model: "gpt-realtime",
			opts:       []option.RequestOption{option.WithJSONSet("session.model", 42)},
			wantStatus: http.StatusBadRequest, wantType: "invalid_request_error", wantCode: "invalid_type", wantParam: "session.model",
		},
		{
			name: "400 no upstream key serves the model", base: "/openai/v1", apiKey: vkWeb, model: "gpt-unknown",
			wantStatus: http.StatusBadRequest, wantType: "invalid_request_error", wantCode: "model_not_available", wantParam: "session.model",
		},
		{
			name: "400 from the upstream passed through", base: "/openai/v1", apiKey: vkWeb, model: retiredModel,
			wantStatus: http.StatusBadRequest, wantType: "invalid_request_error", wantCode: "invalid_value", wantParam: "session.model",
			wantUpstream: 1,
		},
		{
			name: "401 unknown virtual key", base: "/openai/v1", apiKey: vkUnknown, model: "gpt-realtime",
			wantStatus: http.StatusUnauthorized, wantType: "authentication_error", wantCode: "invalid_api_key",
		},
		{
			name: "403 disabled virtual key", base: "/openai/v1", apiKey: vkDisabled, model: "gpt-realtime",
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "virtual_key_disabled",
		},
		{
			name: "403 model not allowed for the virtual key", base: "/v1", apiKey: vkNarrow, model: "openai/gpt-realtime-mini",
			wantStatus: http.StatusForbidden, wantType: "permission_error", wantCode: "model_not_allowed",
		},
		{
			name: "429 over the virtual key's rate", base: "/openai/v1", apiKey: vkRate, model: "gpt-realtime",
			prepare: func(t *testing.T, c openai.Client) {
				_, err := mintRealtime(t.Context(), c, "gpt-realtime")
				requireNoAPIError(t, err, "the first mint fits the rate")
			},
			wantStatus: http.StatusTooManyRequests, wantType: "rate_limit_error", wantCode: "rate_limit_exceeded",
			wantUpstream: 1, wantRetryHint: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			// No retries: the SDK retries 429 by default, and this test is
			// about what one answer looks like to the application.
			noRetry := option.WithMaxRetries(0)
			if tc.prepare != nil {
				tc.prepare(t, sdkClient(st.URL+tc.base, tc.apiKey, noRetry))
			}
			client := sdkClient(st.URL+tc.base, tc.apiKey, append([]option.RequestOption{noRetry}, tc.opts...)...)

			_, err := mintRealtime(t.Context(), client, tc.model)

			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.wantStatus, apiErr.StatusCode)
			assert.Equal(t, tc.wantType, apiErr.Type)
			assert.Equal(t, tc.wantCode, apiErr.Code)
			assert.Equal(t, tc.wantParam, apiErr.Param)
			assert.NotEmpty(t, apiErr.Message)
			assert.Equal(t, tc.wantUpstream, st.Upstream.Count(), "upstream requests")
			for _, secret := range []string{tc.apiKey, upstreamKeyRealtime, upstreamKeyTranscribe, upstreamKeyTranslate} {
				assert.NotContains(t, apiErr.RawJSON(), secret)
			}
			if tc.wantRetryHint {
				secs, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After is whole seconds")
				assert.Positive(t, secs)
			}
		})
	}
}

// TestGoSDKVirtualKeyHeader shows the alternative credential placement: an
// application that keeps the SDK's Authorization for something else can send
// the virtual key in X-Virtual-Key.
func TestGoSDKVirtualKeyHeader(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	client := sdkClient(st.URL+"/openai/v1", "not-a-virtual-key", option.WithHeader("X-Virtual-Key", vkWeb))

	got, err := mintRealtime(t.Context(), client, "gpt-realtime")
	requireNoAPIError(t, err)
	assert.True(t, strings.HasPrefix(got.Value, "ek_"))
	req, ok := st.Upstream.Last()
	require.True(t, ok)
	assert.Equal(t, "Bearer "+upstreamKeyRealtime, req.Header.Get("Authorization"))
	assert.Empty(t, req.Header.Values("X-Virtual-Key"))
	rec, found, err := st.Handler.Lookup(t.Context(), got.Value)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "web", rec.VirtualKeyID)
}

// requireNoAPIError is require.NoError that shows an API error's body, which
// the SDK's Error() leaves out.
func requireNoAPIError(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		require.Failf(t, "unexpected API error", "%d %s", apiErr.StatusCode, apiErr.RawJSON())
	}
	require.NoError(t, err, msgAndArgs...)
}

// jsonString returns the string at a dotted path of a JSON object.
func jsonString(t *testing.T, body []byte, path string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v), "upstream body is JSON")
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s: %q is not inside an object", path, k)
		v = m[k]
	}
	s, ok := v.(string)
	require.True(t, ok, "%s is %T, not a string", path, v)
	return s
}
