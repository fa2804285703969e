package fakeupstream_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

func TestMintShapes(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-test"}, Now: fixedNow, ServeBeta: true})
	now := testNow.Unix()

	tests := []struct {
		name    string
		path    string
		fixture string
		check   func(t *testing.T, o obj)
	}{
		{
			name: "GA client secret", path: fakeupstream.PathClientSecrets, fixture: "ga_client_secret",
			check: func(t *testing.T, o obj) {
				assert.Regexp(t, secretRE, o.at(t, "value"))
				assert.Equal(t, now+600, o.int(t, "expires_at"))
				assert.Equal(t, "realtime", o.at(t, "session", "type"))
				assert.Equal(t, "realtime.session", o.at(t, "session", "object"))
				assert.Regexp(t, sessionRE, o.at(t, "session", "id"))
				assert.Equal(t, "gpt-realtime", o.at(t, "session", "model"))
				assert.Equal(t, "You are a friendly assistant.", o.at(t, "session", "instructions"))
				assert.Equal(t, "marin", o.at(t, "session", "audio", "output", "voice"))
				assert.Equal(t, []any{}, o.at(t, "session", "tools"), "default filled in")
				assert.Equal(t, int64(0), o.int(t, "session", "expires_at"))
			},
		},
		{
			name: "GA transcription", path: fakeupstream.PathClientSecrets, fixture: "ga_transcription",
			check: func(t *testing.T, o obj) {
				assert.Regexp(t, secretRE, o.at(t, "value"))
				assert.Equal(t, now+600, o.int(t, "expires_at"))
				assert.Equal(t, "transcription", o.at(t, "session", "type"))
				assert.Equal(t, "realtime.transcription_session", o.at(t, "session", "object"))
				assert.Equal(t, "gpt-4o-transcribe", o.at(t, "session", "audio", "input", "transcription", "model"))
				assert.False(t, o.has("session", "model"))
			},
		},
		{
			name: "GA translation", path: fakeupstream.PathTranslationClientSecrets, fixture: "translation",
			check: func(t *testing.T, o obj) {
				assert.Regexp(t, secretRE, o.at(t, "value"))
				assert.Equal(t, now+600, o.int(t, "expires_at"))
				assert.Equal(t, "translation", o.at(t, "session", "type"))
				assert.Equal(t, "gpt-realtime-translate", o.at(t, "session", "model"))
				assert.Equal(t, now+600, o.int(t, "session", "expires_at"))
				assert.Equal(t, "es", o.at(t, "session", "audio", "output", "language"))
			},
		},
		{
			name: "beta session", path: fakeupstream.PathSessions, fixture: "beta_session",
			check: func(t *testing.T, o obj) {
				assert.Regexp(t, sessionRE, o.at(t, "id"))
				assert.Equal(t, "realtime.session", o.at(t, "object"))
				assert.Equal(t, "gpt-realtime", o.at(t, "model"))
				assert.Equal(t, "You are a friendly assistant.", o.at(t, "instructions"))
				assert.Equal(t, "pcm16", o.at(t, "input_audio_format"), "default filled in")
				assert.Regexp(t, secretRE, o.at(t, "client_secret", "value"))
				assert.Equal(t, now+120, o.int(t, "client_secret", "expires_at"))
				assert.Len(t, o.at(t, "client_secret"), 2, "the request's client_secret is not echoed")
			},
		},
		{
			name: "beta transcription session", path: fakeupstream.PathTranscriptionSessions,
			fixture: "beta_transcription_session",
			check: func(t *testing.T, o obj) {
				assert.Regexp(t, sessionRE, o.at(t, "id"))
				assert.Equal(t, "realtime.transcription_session", o.at(t, "object"))
				assert.Equal(t, "gpt-4o-transcribe", o.at(t, "input_audio_transcription", "model"))
				assert.Regexp(t, secretRE, o.at(t, "client_secret", "value"))
				assert.Equal(t, now+300, o.int(t, "client_secret", "expires_at"))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := post(t, up, tc.path, "sk-test", fixture(t, tc.fixture))
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Regexp(t, `^req_[0-9a-f]{32}$`, rec.Header().Get("X-Request-Id"))
			assert.NotEmpty(t, rec.Header().Get("Set-Cookie"))
			tc.check(t, decode(t, rec.Body.Bytes()))
		})
	}
}

func TestMintDefaults(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Now: fixedNow, ServeBeta: true})

	rec := post(t, up, fakeupstream.PathClientSecrets, "k", `{}`)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	o := decode(t, rec.Body.Bytes())
	assert.Equal(t, "gpt-realtime", o.at(t, "session", "model"))
	assert.Equal(t, "realtime", o.at(t, "session", "type"))

	rec = post(t, up, fakeupstream.PathSessions, "k", `{}`)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "gpt-4o-realtime-preview", decode(t, rec.Body.Bytes()).at(t, "model"))

	rec = post(t, up, fakeupstream.PathTranscriptionSessions, "k", `{"input_audio_transcription":null}`)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
}

func TestMintEchoesModelBytes(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{})
	// Escapes and non-ASCII come back as the same string.
	model := "ft:gpt-4o:org/x \"é\"\u2028"
	body := `{"session":{"type":"realtime","model":"ft:gpt-4o:org/x \"\u00e9\"\u2028","x-extra":{"a":[1,2]}}}`
	rec := post(t, up, fakeupstream.PathClientSecrets, "k", body)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	o := decode(t, rec.Body.Bytes())
	assert.Equal(t, model, o.at(t, "session", "model"))
	assert.Equal(t, map[string]any{"a": []any{json.Number("1"), json.Number("2")}}, o.at(t, "session", "x-extra"))
}

func TestSecretsAreFresh(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{})
	seen := map[string]bool{}
	for range 50 {
		rec := post(t, up, fakeupstream.PathClientSecrets, "k", `{"session":{"type":"realtime"}}`)
		require.Equal(t, http.StatusOK, rec.Code)
		v, ok := decode(t, rec.Body.Bytes()).at(t, "value").(string)
		require.True(t, ok)
		require.False(t, seen[v], "repeated secret")
		seen[v] = true
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := testNow.Unix()
	tests := []struct {
		name string
		ttl  time.Duration
		path string
		body string
		want int64 // expires_at
	}{
		{name: "default TTL", path: fakeupstream.PathClientSecrets, body: `{}`, want: now + 600},
		{name: "TTL option", ttl: 90 * time.Second, path: fakeupstream.PathClientSecrets, body: `{}`, want: now + 90},
		{name: "negative TTL mints expired", ttl: -time.Minute, path: fakeupstream.PathSessions, body: `{}`, want: now - 60},
		{
			name: "GA expires_after wins over TTL", ttl: time.Hour, path: fakeupstream.PathClientSecrets,
			body: `{"expires_after":{"anchor":"created_at","seconds":30}}`, want: now + 30,
		},
		{
			name: "GA expires_after without anchor", path: fakeupstream.PathClientSecrets,
			body: `{"expires_after":{"seconds":7200}}`, want: now + 7200,
		},
		{
			name: "GA null expires_after", path: fakeupstream.PathClientSecrets,
			body: `{"expires_after":null}`, want: now + 600,
		},
		{
			name: "translation expires_after", path: fakeupstream.PathTranslationClientSecrets,
			body: `{"expires_after":{"seconds":10},"session":{"model":"m"}}`, want: now + 10,
		},
		{
			name: "beta client_secret.expires_after", path: fakeupstream.PathSessions,
			body: `{"model":"m","client_secret":{"expires_after":{"anchor":"created_at","seconds":45}}}`, want: now + 45,
		},
		{
			name: "beta transcription client_secret.expires_at", path: fakeupstream.PathTranscriptionSessions,
			body: `{"client_secret":{"expires_at":{"anchor":"created_at","seconds":3600}}}`, want: now + 3600,
		},
		{
			name: "beta ignores a GA-style expires_after", path: fakeupstream.PathSessions,
			body: `{"expires_after":{"seconds":30}}`, want: now + 600,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := fakeupstream.New(fakeupstream.Options{TTL: tc.ttl, Now: fixedNow, ServeBeta: true})
			rec := post(t, up, tc.path, "k", tc.body)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			o := decode(t, rec.Body.Bytes())
			if o.has("client_secret") {
				assert.Equal(t, tc.want, o.int(t, "client_secret", "expires_at"))
			} else {
				assert.Equal(t, tc.want, o.int(t, "expires_at"))
			}
		})
	}
}

func TestExpiryFollowsClock(t *testing.T) {
	t.Parallel()
	clock := testNow
	up := fakeupstream.New(fakeupstream.Options{Now: func() time.Time { return clock }})
	rec := post(t, up, fakeupstream.PathClientSecrets, "k", `{}`)
	first := decode(t, rec.Body.Bytes()).int(t, "expires_at")
	clock = clock.Add(time.Hour)
	rec = post(t, up, fakeupstream.PathClientSecrets, "k", `{}`)
	assert.Equal(t, first+3600, decode(t, rec.Body.Bytes()).int(t, "expires_at"))

	wall := fakeupstream.New(fakeupstream.Options{})
	rec = post(t, wall, fakeupstream.PathClientSecrets, "k", `{}`)
	got := decode(t, rec.Body.Bytes()).int(t, "expires_at")
	assert.InDelta(t, time.Now().Add(fakeupstream.DefaultTTL).Unix(), got, 5, "expires_at is in the future")
}

func TestMintRefusals(t *testing.T) {
	t.Parallel()
	const (
		ga    = fakeupstream.PathClientSecrets
		tr    = fakeupstream.PathTranslationClientSecrets
		beta  = fakeupstream.PathSessions
		btr   = fakeupstream.PathTranscriptionSessions
		sBelo = "integer_below_min_value"
		sAbov = "integer_above_max_value"
	)
	tests := []struct {
		name  string
		path  string
		body  string
		param string
		code  string
	}{
		{name: "empty body", path: ga, body: ``},
		{name: "not JSON", path: ga, body: `{"session":`},
		{name: "trailing data", path: beta, body: `{} {}`},
		{name: "array", path: ga, body: `[]`, code: "invalid_type"},
		{name: "string", path: btr, body: `"x"`, code: "invalid_type"},
		{name: "GA unknown top-level model", path: ga, body: `{"model":"gpt-realtime"}`, param: "model", code: "unknown_parameter"},
		{name: "GA session not an object", path: ga, body: `{"session":"x"}`, param: "session", code: "invalid_type"},
		{name: "GA session without type", path: ga, body: `{"session":{"model":"gpt-realtime"}}`, param: "session.type", code: "missing_required_parameter"},
		{name: "GA unknown type", path: ga, body: `{"session":{"type":"chat"}}`, param: "session.type", code: "invalid_value"},
		{name: "GA type not a string", path: ga, body: `{"session":{"type":1}}`, param: "session.type", code: "invalid_type"},
		{name: "GA model not a string", path: ga, body: `{"session":{"type":"realtime","model":42}}`, param: "session.model", code: "invalid_type"},
		{
			name: "GA transcription model not a string", path: ga,
			body:  `{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":["x"]}}}}}`,
			param: "session.audio.input.transcription.model", code: "invalid_type",
		},
		{name: "GA seconds too small", path: ga, body: `{"expires_after":{"seconds":9}}`, param: "expires_after.seconds", code: sBelo},
		{name: "GA seconds negative", path: ga, body: `{"expires_after":{"seconds":-1}}`, param: "expires_after.seconds", code: sBelo},
		{name: "GA seconds too large", path: ga, body: `{"expires_after":{"seconds":7201}}`, param: "expires_after.seconds", code: sAbov},
		{name: "GA seconds huge", path: ga, body: `{"expires_after":{"seconds":99999999999999999999}}`, param: "expires_after.seconds", code: sAbov},
		{name: "GA seconds decimal", path: ga, body: `{"expires_after":{"seconds":60.5}}`, param: "expires_after.seconds", code: "invalid_type"},
		{name: "GA seconds string", path: ga, body: `{"expires_after":{"seconds":"60"}}`, param: "expires_after.seconds", code: "invalid_type"},
		{name: "GA bad anchor", path: ga, body: `{"expires_after":{"anchor":"now","seconds":60}}`, param: "expires_after.anchor", code: "invalid_value"},
		{name: "GA expires_after not an object", path: ga, body: `{"expires_after":60}`, param: "expires_after", code: "invalid_type"},
		{name: "translation without session", path: tr, body: `{}`, param: "session", code: "missing_required_parameter"},
		{name: "translation unknown member", path: tr, body: `{"session":{"model":"m"},"voice":"x"}`, param: "voice", code: "unknown_parameter"},
		{name: "translation without model", path: tr, body: `{"session":{}}`, param: "session.model", code: "missing_required_parameter"},
		{name: "beta model not a string", path: beta, body: `{"model":true}`, param: "model", code: "invalid_type"},
		{name: "beta client_secret not an object", path: beta, body: `{"client_secret":"x"}`, param: "client_secret", code: "invalid_type"},
		{
			name: "beta seconds too large", path: beta, body: `{"client_secret":{"expires_after":{"seconds":7201}}}`,
			param: "client_secret.expires_after.seconds", code: sAbov,
		},
		{
			name: "transcription seconds too small", path: btr, body: `{"client_secret":{"expires_at":{"seconds":1}}}`,
			param: "client_secret.expires_at.seconds", code: sBelo,
		},
		{
			name: "transcription settings not an object", path: btr, body: `{"input_audio_transcription":"whisper-1"}`,
			param: "input_audio_transcription", code: "invalid_type",
		},
	}
	up := fakeupstream.New(fakeupstream.Options{ServeBeta: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := post(t, up, tc.path, "k", tc.body)
			assertAPIError(t, rec, http.StatusBadRequest, tc.param, tc.code)
		})
	}
}

func TestModelsAllowlist(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Models: []string{"gpt-realtime", "gpt-4o-realtime-preview"}, ServeBeta: true})

	rec := post(t, up, fakeupstream.PathClientSecrets, "k", `{"session":{"type":"realtime","model":"gpt-nope"}}`)
	o := assertAPIError(t, rec, http.StatusBadRequest, "session.model", "invalid_value")
	assert.Equal(t, "Invalid value: 'gpt-nope'. Supported values are: 'gpt-realtime' and 'gpt-4o-realtime-preview'.",
		o.at(t, "error", "message"))

	rec = post(t, up, fakeupstream.PathSessions, "k", `{"model":"openai/gpt-realtime"}`)
	assertAPIError(t, rec, http.StatusBadRequest, "model", "invalid_value")

	rec = post(t, up, fakeupstream.PathClientSecrets, "k", `{"session":{"type":"realtime","model":"gpt-realtime"}}`)
	assert.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	rec = post(t, up, fakeupstream.PathSessions, "k", `{}`)
	assert.Equal(t, http.StatusOK, rec.Code, "default model is allowed: %s", rec.Body)
}

// TestBetaSwitchedOff: by default the beta routes answer what OpenAI
// answers since it switched the beta API off, whatever the body, once
// the key is accepted; the GA routes are unaffected.
func TestBetaSwitchedOff(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-test"}})
	const want = `{"error":{"message":"The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",` +
		`"type":"invalid_request_error","param":null,"code":"beta_api_shape_disabled"}}`
	for _, path := range []string{fakeupstream.PathSessions, fakeupstream.PathTranscriptionSessions} {
		for _, body := range []string{fixture(t, "beta_session"), fixture(t, "beta_transcription_session"), `{}`, `not json`} {
			rec := post(t, up, path, "sk-test", body)
			assertAPIError(t, rec, http.StatusBadRequest, "", "beta_api_shape_disabled")
			assert.JSONEq(t, want, rec.Body.String())
		}
		assertAPIError(t, post(t, up, path, "", `{}`), http.StatusUnauthorized, "", "invalid_api_key")
	}
	rec := post(t, up, fakeupstream.PathClientSecrets, "sk-test", fixture(t, "ga_client_secret"))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
