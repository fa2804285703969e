package realtimesecret_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// TestProviderAliases: a provider's Aliases apply to every key, and a key's
// own entry (compared case-insensitively) wins. Every key is picked in turn
// (one enabled at a time), so no key can send the client's name upstream.
func TestProviderAliases(t *testing.T) {
	keys := []realtimesecret.Key{
		{ID: "plain", Value: "sk-a"},
		{ID: "own", Value: "sk-b", Aliases: map[string]string{"GPT-Realtime": "own-deployment"}},
		{ID: "other", Value: "sk-c", Aliases: map[string]string{"mini": "mini-deployment"}},
	}
	tests := []struct {
		key   string
		model string
		want  string
	}{
		{key: "plain", model: "gpt-realtime", want: "shared-deployment"},
		{key: "plain", model: "GPT-REALTIME", want: "shared-deployment"},
		{key: "own", model: "gpt-realtime", want: "own-deployment"},
		{key: "other", model: "gpt-realtime", want: "shared-deployment"},
		{key: "other", model: "mini", want: "mini-deployment"},
		{key: "plain", model: "unaliased", want: "unaliased"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"/"+tc.model, func(t *testing.T) {
			p := newFakeProvider()
			cfg := baseConfig(p)
			cfg.Providers[0].Aliases = map[string]string{"gpt-realtime": "shared-deployment"}
			cfg.Providers[0].Keys = append([]realtimesecret.Key(nil), keys...)
			for i := range cfg.Providers[0].Keys {
				cfg.Providers[0].Keys[i].Disabled = cfg.Providers[0].Keys[i].ID != tc.key
			}
			h := realtimesecret.Middleware(cfg)(&nextRecorder{})
			body := `{"session":{"type":"realtime","model":"openai/` + tc.model + `"}}`
			mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", body, "Authorization", "Bearer "+vkWeb))
			var sent struct {
				Session struct{ Model string } `json:"session"`
			}
			require.NoError(t, json.Unmarshal(p.last(t).Body, &sent))
			assert.Equal(t, tc.want, sent.Session.Model)
			assert.Equal(t, tc.key, p.last(t).Key.ID)
		})
	}
}

// TestProviderAliasesNotShared: New copies the provider's map.
func TestProviderAliasesNotShared(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	aliases := map[string]string{"gpt-realtime": "deployment-1"}
	cfg.Providers[0].Aliases = aliases
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	aliases["gpt-realtime"] = "changed"
	mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	assert.JSONEq(t, `{"session":{"type":"realtime","model":"deployment-1"}}`, string(p.last(t).Body))
}
