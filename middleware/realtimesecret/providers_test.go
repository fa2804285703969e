package realtimesecret_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// TestDefaultProvider: on /v1/... a model without a configured-provider
// prefix goes to DefaultProvider; unset, it stays a 400.
func TestDefaultProvider(t *testing.T) {
	tests := []struct {
		name         string
		defaultTo    string
		path         string
		model        string
		status       int
		wantProvider string // which fake provider minted
		wantModel    string // as sent upstream
		code         string
	}{
		{name: "bare model goes to the default", defaultTo: "azure", path: "/v1/realtime/client_secrets",
			model: "gpt-realtime", status: 200, wantProvider: "azure", wantModel: "gpt-realtime"},
		{name: "a configured prefix still chooses", defaultTo: "azure", path: "/v1/realtime/client_secrets",
			model: "openai/gpt-realtime", status: 200, wantProvider: "openai", wantModel: "gpt-realtime"},
		{name: "an unconfigured prefix is part of the model", defaultTo: "azure", path: "/v1/realtime/client_secrets",
			model: "org/model-x", status: 200, wantProvider: "azure", wantModel: "org/model-x"},
		{name: "a scoped route keeps its provider", defaultTo: "azure", path: "/openai/v1/realtime/client_secrets",
			model: "gpt-realtime", status: 200, wantProvider: "openai", wantModel: "gpt-realtime"},
		{name: "unset: a bare model is a 400", path: "/v1/realtime/client_secrets",
			model: "gpt-realtime", status: 400, code: "missing_provider"},
		{name: "unset: an unconfigured prefix is a 400", path: "/v1/realtime/client_secrets",
			model: "org/model-x", status: 400, code: "unknown_provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			providers := map[string]*fakeProvider{"openai": newFakeProvider(), "azure": newFakeProvider()}
			cfg := baseConfig(providers["openai"])
			cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{
				Name: "azure", Provider: providers["azure"], Keys: []realtimesecret.Key{{ID: "az", Value: "az-key"}},
			})
			cfg.DefaultProvider = tc.defaultTo
			h := realtimesecret.Middleware(cfg)(&nextRecorder{})
			body := `{"session":{"type":"realtime","model":"` + tc.model + `"}}`
			w := do(t, h, http.MethodPost, tc.path, body, "Authorization", "Bearer "+vkWeb)
			if tc.status != 200 {
				e := requireAPIError(t, w, tc.status)
				require.NotNil(t, e.Error.Code)
				assert.Equal(t, tc.code, *e.Error.Code)
				assert.Zero(t, providers["openai"].count()+providers["azure"].count())
				return
			}
			mintedValue(t, w)
			for name, p := range providers {
				if name != tc.wantProvider {
					assert.Zero(t, p.count(), "provider %s was called", name)
				}
			}
			p := providers[tc.wantProvider]
			require.Equal(t, 1, p.count())
			assert.JSONEq(t, `{"session":{"type":"realtime","model":"`+tc.wantModel+`"}}`, string(p.last(t).Body))
		})
	}
}

func TestDefaultProviderMustBeConfigured(t *testing.T) {
	cfg := baseConfig(newFakeProvider())
	cfg.DefaultProvider = "azure"
	_, err := realtimesecret.New(cfg)
	require.ErrorIs(t, err, realtimesecret.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `DefaultProvider "azure" is not a configured provider`)
}
