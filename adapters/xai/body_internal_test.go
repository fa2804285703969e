package xai

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzClientSecretBody: whatever the body, a body accepted becomes
// {"expires_after":{"seconds":N}} with N >= 1, or {}; a refusal is a 400
// with a param.
func FuzzClientSecretBody(f *testing.F) {
	for _, s := range []string{
		`{"session":{"type":"realtime","model":"grok"},"expires_after":{"anchor":"created_at","seconds":300}}`,
		`{"session":{"model":"grok","voice":"eve"}}`, `{}`, `{"expires_after":null}`, `{"expires_after":{"seconds":1e3}}`,
		`{"session":null,"expires_after":{"seconds":-1}}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, e := clientSecretBody(body)
		if e != nil {
			require.Equal(t, 400, e.Status)
			require.NotEmpty(t, e.Message)
			require.Nil(t, out)
			return
		}
		var v struct {
			ExpiresAfter *struct {
				Seconds int64 `json:"seconds"`
			} `json:"expires_after"`
		}
		require.NoError(t, json.Unmarshal(out, &v), "%s", out)
		var all map[string]map[string]json.Number
		require.NoError(t, json.Unmarshal(out, &all), "%s", out)
		if v.ExpiresAfter == nil {
			require.Equal(t, `{}`, string(out))
			return
		}
		require.GreaterOrEqual(t, v.ExpiresAfter.Seconds, int64(1))
		require.Len(t, all["expires_after"], 1)
	})
}

// FuzzMapError: any upstream body becomes an OpenAI-shaped error without
// the key.
func FuzzMapError(f *testing.F) {
	for _, s := range []string{`{"code":"x","error":"y"}`, `{"error":{"message":"m"}}`, `<html>`, ``, `{"error":"` + "\xff" + `"}`} {
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		out := mapError(status, body, "xai-secret-key")
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(out, &e), "%s", out)
		require.NotEmpty(t, e.Error.Message)
		require.NotEmpty(t, e.Error.Type)
		require.NotContains(t, string(out), "xai-secret-key")
		require.LessOrEqual(t, len(e.Error.Message), maxMessageBytes)
	})
}
