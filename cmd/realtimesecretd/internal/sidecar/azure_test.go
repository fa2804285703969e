package sidecar_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

const (
	azureKey   = "azure-api-key-0123456789SECRET"
	azureToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-SECRET"
)

// azureSeen is what the fake Azure resource received.
type azureSeen struct {
	Path, APIVersion, APIKey, Auth string
	Deployment                     string // session.model, or model on the preview path
}

// fakeAzureResource answers the Azure mint paths with a fresh secret and
// records what it received; the adapter's own tests check Azure's
// behaviour in depth.
type fakeAzureResource struct {
	mu   sync.Mutex
	seen []azureSeen
}

func (f *fakeAzureResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Model   string `json:"model"`
		Session struct {
			Model string `json:"model"`
		} `json:"session"`
	}
	_ = json.Unmarshal(body, &b)
	s := azureSeen{Path: r.URL.Path, APIVersion: r.URL.Query().Get("api-version"),
		APIKey: r.Header.Get("Api-Key"), Auth: r.Header.Get("Authorization"), Deployment: b.Session.Model}
	if s.Deployment == "" {
		s.Deployment = b.Model
	}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	f.mu.Unlock()
	exp := time.Now().Add(time.Minute).Unix()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/openai/realtimeapi/sessions" {
		_ = json.NewEncoder(w).Encode(map[string]any{"model": s.Deployment,
			"client_secret": map[string]any{"value": "ek_azure_beta", "expires_at": exp}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"value": "ek_azure", "expires_at": exp})
}

func (f *fakeAzureResource) last(t *testing.T) azureSeen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.seen, "the Azure resource received nothing")
	return f.seen[len(f.seen)-1]
}

const azureSidecarYAML = `
providers:
  openai:
    base_url: ${FAKE_URL}
    keys:
      - id: openai-primary
        value: ${OPENAI_API_KEY}
  azure:
    endpoint: ${AZURE_URL}/openai/v1/
    beta: ${AZURE_BETA:-forward}
    api_version: 2025-04-01-preview
    keys:
      - id: azure-key
        value: ${AZURE_OPENAI_API_KEY}
        models: [gpt-realtime]
        aliases: {gpt-realtime: contoso-realtime}
      - id: azure-entra
        bearer_token: ${AZURE_OPENAI_TOKEN}
        models: [gpt-realtime-mini]
        aliases: {gpt-realtime-mini: contoso-mini}
virtual_keys:
  - id: web
    value: ${VK_WEB}
`

// azureSidecar serves azureSidecarYAML with vars added, the Azure fake and
// an OpenAI fake behind it, and returns its handler and the fakes.
func azureSidecar(t *testing.T, more map[string]string) (http.Handler, *fakeupstream.Server, *fakeAzureResource) {
	t.Helper()
	oa := fakeupstream.New(fakeupstream.Options{Keys: []string{upstreamKey}})
	oaSrv := httptest.NewServer(oa)
	t.Cleanup(oaSrv.Close)
	az := &fakeAzureResource{}
	azSrv := httptest.NewServer(az)
	t.Cleanup(azSrv.Close)

	vars := baseEnv()
	vars["FAKE_URL"] = oaSrv.URL
	vars["AZURE_URL"] = azSrv.URL
	vars["AZURE_OPENAI_API_KEY"] = azureKey
	vars["AZURE_OPENAI_TOKEN"] = azureToken
	maps.Copy(vars, more)
	cfg, err := sidecar.Parse([]byte(azureSidecarYAML), env(vars))
	require.NoError(t, err)
	srv, err := sidecar.New(cfg, sidecar.Options{})
	require.NoError(t, err)
	return srv.Handler(), oa, az
}

// azureMint mints at path of h with the web virtual key and returns the
// status; no answer holds an Azure credential.
func azureMint(t *testing.T, h http.Handler, path, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+virtualKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.NotContains(t, w.Body.String(), azureKey)
	assert.NotContains(t, w.Body.String(), azureToken)
	return w.Code
}

func TestAzureProviderFromYAML(t *testing.T) {
	h, oa, az := azureSidecar(t, nil)
	mint := func(t *testing.T, path, body string) int {
		t.Helper()
		return azureMint(t, h, path, body)
	}

	t.Run("value key is sent as api-key, model as its deployment", func(t *testing.T) {
		require.Equal(t, http.StatusOK, mint(t, "/azure/v1/realtime/client_secrets", `{"session":{"type":"realtime","model":"gpt-realtime"}}`))
		got := az.last(t)
		assert.Equal(t, azureSeen{Path: "/openai/v1/realtime/client_secrets", APIKey: azureKey, Deployment: "contoso-realtime"}, got)
	})
	t.Run("bearer_token key is sent as Authorization: Bearer", func(t *testing.T) {
		require.Equal(t, http.StatusOK, mint(t, "/v1/realtime/client_secrets", `{"session":{"type":"realtime","model":"azure/gpt-realtime-mini"}}`))
		got := az.last(t)
		assert.Equal(t, azureSeen{Path: "/openai/v1/realtime/client_secrets", Auth: "Bearer " + azureToken, Deployment: "contoso-mini"}, got)
	})
	t.Run("beta: forward and api_version serve beta sessions on the preview path", func(t *testing.T) {
		require.Equal(t, http.StatusOK, mint(t, "/azure/v1/realtime/sessions", `{"model":"gpt-realtime"}`))
		got := az.last(t)
		assert.Equal(t, azureSeen{Path: "/openai/realtimeapi/sessions", APIVersion: "2025-04-01-preview", APIKey: azureKey, Deployment: "contoso-realtime"}, got)
	})
	t.Run("beta: forward has no beta transcription sessions: 400", func(t *testing.T) {
		assert.Equal(t, http.StatusBadRequest, mint(t, "/azure/v1/realtime/transcription_sessions", `{"input_audio_transcription":{"model":"gpt-realtime"}}`))
	})
	t.Run("openai beside it keeps its own key", func(t *testing.T) {
		require.Equal(t, http.StatusOK, mint(t, "/openai/v1/realtime/client_secrets", `{"session":{"type":"realtime","model":"gpt-realtime"}}`))
		got, ok := oa.Last()
		require.True(t, ok)
		assert.Equal(t, "Bearer "+upstreamKey, got.Header.Get("Authorization"))
		assert.Empty(t, got.Header.Get("Api-Key"))
	})
}

// TestAzureBetaTranslatedFromYAML: with beta: translate (the default), a
// beta mint at an azure provider reaches the GA v1 endpoint, never the
// preview one.
func TestAzureBetaTranslatedFromYAML(t *testing.T) {
	h, _, az := azureSidecar(t, map[string]string{"AZURE_BETA": "translate"})
	require.Equal(t, http.StatusOK, azureMint(t, h, "/azure/v1/realtime/sessions", `{"model":"gpt-realtime","voice":"verse"}`))
	assert.Equal(t, azureSeen{Path: "/openai/v1/realtime/client_secrets", APIKey: azureKey, Deployment: "contoso-realtime"}, az.last(t))
	require.Equal(t, http.StatusOK, azureMint(t, h, "/azure/v1/realtime/transcription_sessions", `{"input_audio_transcription":{"model":"gpt-realtime"}}`))
	assert.Equal(t, "/openai/v1/realtime/client_secrets", az.last(t).Path)
}

func TestAzureConfigErrors(t *testing.T) {
	vars := baseEnv()
	vars["AZURE_OPENAI_API_KEY"] = azureKey
	vars["AZURE_OPENAI_TOKEN"] = azureToken
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{name: "azure without endpoint",
			yaml: "providers: {azure: {keys: [{id: a, value: k}]}}",
			want: []string{"providers.azure", "endpoint is required"}},
		{name: "azure with base_url",
			yaml: "providers: {azure: {endpoint: 'https://r.openai.azure.com', base_url: 'https://r.openai.azure.com', keys: [{id: a, value: k}]}}",
			want: []string{"providers.azure", "base_url is for type openai"}},
		{name: "openai with endpoint",
			yaml: "providers: {openai: {endpoint: 'https://r.openai.azure.com', keys: [{id: a, value: k}]}}",
			want: []string{"providers.openai", "endpoint and api_version are for type azure"}},
		{name: "openai with api_version",
			yaml: "providers: {openai: {api_version: 2025-04-01-preview, keys: [{id: a, value: k}]}}",
			want: []string{"providers.openai", "endpoint and api_version are for type azure"}},
		{name: "openai with bearer_token",
			yaml: "providers: {openai: {keys: [{id: a, bearer_token: '${AZURE_OPENAI_TOKEN}'}]}}",
			want: []string{"providers.openai.keys[0] (a)", "bearer_token is for type azure"}},
		{name: "value and bearer_token",
			yaml: "providers: {azure: {endpoint: 'https://r.openai.azure.com', keys: [{id: a, value: '${AZURE_OPENAI_API_KEY}', bearer_token: '${AZURE_OPENAI_TOKEN}'}]}}",
			want: []string{"providers.azure.keys[0] (a)", "value and bearer_token are both set"}},
		{name: "neither value nor bearer_token",
			yaml: "providers: {azure: {endpoint: 'https://r.openai.azure.com', keys: [{id: a}]}}",
			want: []string{"providers.azure.keys[0] (a)", "empty"}},
		{name: "endpoint the adapter refuses",
			yaml: "providers: {azure: {endpoint: 'https://user:pa55@r.openai.azure.com', keys: [{id: a, value: k}]}}",
			want: []string{"providers.azure", "Endpoint must not hold user info"}},
		{name: "api_version the adapter refuses",
			yaml: "providers: {azure: {endpoint: 'https://r.openai.azure.com', api_version: 'x&y=1', keys: [{id: a, value: k}]}}",
			want: []string{"providers.azure", "APIVersion"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sidecar.Parse([]byte(tc.yaml+"\nallow_anonymous: true\n"), env(vars))
			if err == nil {
				_, err = sidecar.New(cfg, sidecar.Options{})
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, secret := range []string{azureKey, azureToken, "pa55"} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

var azureExampleFile = filepath.Join("..", "..", "..", "..", "testdata", "sidecar.azure.example.yaml")

func TestAzureExampleConfigChecks(t *testing.T) {
	vars := baseEnv()
	vars["AZURE_OPENAI_ENDPOINT"] = "https://my-resource.openai.azure.com"
	vars["AZURE_OPENAI_API_KEY"] = azureKey
	vars["AZURE_OPENAI_TOKEN"] = "entra-token-for-the-example-0123"
	var stdout, stderr strings.Builder
	code := sidecar.Run(t.Context(), []string{"-config", azureExampleFile, "-check"}, env(vars), &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "sidecar.azure.example.yaml: OK")
	assert.NotContains(t, stdout.String()+stderr.String(), azureKey)
	assert.NotContains(t, stdout.String()+stderr.String(), "entra-token-for-the-example-0123")
	assert.Empty(t, stderr.String(), "no warning: the provider's aliases cover both keys")

	cfg, err := sidecar.Load(azureExampleFile, env(vars))
	require.NoError(t, err)
	az := cfg.Providers["azure"]
	assert.Equal(t, "azure", az.Type)
	assert.Empty(t, az.APIVersion, "beta mints are translated onto GA: the preview api-version is left out")
	assert.Equal(t, "translate", az.Beta)
	assert.Equal(t, "my-gpt-realtime-deployment", az.Aliases["gpt-realtime"], "for every key")
	require.Len(t, az.Keys, 2, "the Entra key is part of the example")
	assert.Equal(t, "azure-entra", az.Keys[1].ID)
}
