package realtimesecret

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var authTokenSeeds = []string{
	`{}`,
	`{"uses":1,"expireTime":"2030-01-02T03:30:00Z","newSessionExpireTime":"2030-01-02T03:05:00Z","bidiGenerateContentSetup":{"model":"models/gemini-live-2.5-flash-preview","generationConfig":{"responseModalities":["AUDIO"]}},"fieldMask":"model,generation_config"}`,
	`{"uses":0}`,
	`{"uses":-3,"expire_time":null}`,
	`{"expire_time":"2030-01-02T03:10:00.123456789+02:00"}`,
	`{"bidi_generate_content_setup":{"model":"live"},"field_mask":"generation_config"}`,
	`{"expireTime":"2030-01-02T03:10:00Z","expire_time":"2030-01-02T03:10:00Z"}`,
	`{"bidiGenerateContentSetup":null,"fieldMask":null,"uses":null}`,
	`{"liveConnectConstraints":{}}`,
	`{"uses":1e3}`,
	`[]`,
}

// FuzzParseAuthToken runs the parser, the policy and normalize on any
// body: a body it accepts is a JSON object whose forwarded form is valid
// JSON, with the model where it was and the expiry the policy chose.
func FuzzParseAuthToken(f *testing.F) {
	for _, s := range authTokenSeeds {
		f.Add([]byte(s), int64(0), int64(600))
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc []byte, maxUses, maxTTL int64) {
		var b authTokenBody
		if parseAuthToken(doc, &b) != nil {
			return
		}
		var top map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(doc, &top), "accepted %q", doc)
		for name := range top {
			require.Contains(t, tokenKeys, name, "accepted an unknown member")
		}
		p := Principal{MaxUses: int(maxUses % 100), MaxTTL: time.Duration(maxTTL%7200) * time.Second}
		if p.MaxUses < 0 || p.MaxTTL < 0 {
			return
		}
		if b.check(p, now) != nil {
			return
		}
		if b.uses.Found() {
			require.True(t, b.usesValue >= 1 && b.usesValue <= int64(max(p.MaxUses, 1)), "uses %d", b.usesValue)
		}
		require.True(t, b.expiresAt.After(now))
		if p.MaxTTL > 0 {
			require.False(t, b.expiresAt.After(now.Add(p.MaxTTL+clockSkew)), "expires %s", b.expiresAt)
		}
		out := b.normalize("gemini-x")
		var fwd map[string]any
		require.NoError(t, json.Unmarshal(out, &fwd), "forwarded %q", out)
		if b.modelAt.Found() {
			setup := fwd["bidiGenerateContentSetup"]
			if setup == nil {
				setup = fwd["bidi_generate_content_setup"]
			}
			model := setup.(map[string]any)["model"]
			assert.True(t, model == "gemini-x" || model == "models/gemini-x", "model %v", model)
		}
		if !b.inject.IsZero() {
			at, ok := fwd["expireTime"].(string)
			if !ok {
				at, ok = fwd["expire_time"].(string)
			}
			require.True(t, ok, "forwarded %s", out)
			parsed, err := time.Parse(time.RFC3339, at)
			require.NoError(t, err)
			require.True(t, parsed.Equal(b.expiresAt))
		}
	})
}

func TestAuthTokenNormalizeKeepsTheClientsBytes(t *testing.T) {
	var b authTokenBody
	doc := `{ "fieldMask" : "model" , "bidiGenerateContentSetup" : { "model" : "models/live" , "x" : [1,2] } }`
	require.Nil(t, parseAuthToken([]byte(doc), &b))
	require.Nil(t, b.check(Principal{MaxTTL: time.Minute}, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	assert.Equal(t, `{"expireTime":"2030-01-02T03:05:05Z", "fieldMask" : "model" , "bidiGenerateContentSetup" : { "model" : "models/gemini-x" , "x" : [1,2] } }`,
		string(b.normalize("gemini-x")))

	require.Nil(t, parseAuthToken([]byte(`{"expire_time":null}`), &b))
	require.Nil(t, b.check(Principal{MaxTTL: time.Minute}, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	assert.Equal(t, `{"expire_time":"2030-01-02T03:05:05Z"}`, string(b.normalize("")))
}

func FuzzAuthTokenName(f *testing.F) {
	for _, s := range []string{`{"name":"auth_tokens/abc"}`, `{"name":"auth_tokens/"}`, `{"name":null}`, `{"name":"x","name":"y"}`, `<html>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, ok := authTokenName(body)
		if !ok {
			return
		}
		var v map[string]any
		require.NoError(t, json.Unmarshal(body, &v))
		require.Equal(t, v["name"], name)
		require.True(t, strings.HasPrefix(name, authTokenPrefix) && len(name) > len(authTokenPrefix))
	})
}
