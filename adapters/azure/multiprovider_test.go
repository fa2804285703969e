package azure_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Keys of the two upstreams in the multi-provider tests.
const (
	openAIKey = "sk-openai-SECRET-1"
	azureKey  = "azure-key-SECRET-1"
)

// multi is the middleware configured with an "openai" provider (the
// OpenAI fake behind adapters/openai) and an "azure" provider (the Azure
// fake behind this package) side by side.
type multi struct {
	handler *realtimesecret.Handler
	server  http.Handler
	openai  *fakeupstream.Server
	azure   *fakeAzure
}

func newMulti(t *testing.T) *multi {
	t.Helper()
	return newMultiBeta(t, "")
}

// newMultiBeta is newMulti with the azure provider's ProviderConfig.Beta.
func newMultiBeta(t *testing.T, azureBeta string) *multi {
	t.Helper()
	m := &multi{
		openai: fakeupstream.New(fakeupstream.Options{Keys: []string{openAIKey}}),
		azure: &fakeAzure{keys: []string{azureKey},
			deployments: []string{"contoso-realtime", "contoso-translate", "contoso-transcribe"}},
	}
	oaSrv := httptest.NewServer(m.openai)
	t.Cleanup(oaSrv.Close)
	azSrv := newFakeAzure(t, m.azure)

	oa, err := openai.New(openai.Config{BaseURL: oaSrv.URL})
	require.NoError(t, err)
	az, err := azure.New(azure.Config{Endpoint: azSrv.URL, APIVersion: testAPIVersion})
	require.NoError(t, err)

	m.handler, err = realtimesecret.New(realtimesecret.Config{Providers: []realtimesecret.ProviderConfig{
		{Name: "openai", Provider: oa, Keys: []realtimesecret.Key{{ID: "oa-1", Value: openAIKey}}},
		{Name: "azure", Provider: az, Beta: azureBeta, Keys: []realtimesecret.Key{{
			ID: "az-1", Value: azureKey,
			// Clients ask for OpenAI model names; Azure is sent deployments.
			Aliases: map[string]string{"gpt-realtime": "contoso-realtime", "gpt-realtime-translate": "contoso-translate",
				"gpt-4o-transcribe": "contoso-transcribe"},
		}}},
	}})
	require.NoError(t, err)
	m.server = m.handler.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("mint request reached next: %s", r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	return m
}

func (m *multi) post(t *testing.T, path, body string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	m.server.ServeHTTP(w, req)
	resp := w.Result()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, b
}

// record looks up the token minted in body and returns its attribution.
func (m *multi) record(t *testing.T, body []byte) realtimesecret.Record {
	t.Helper()
	rec, ok, err := m.handler.Lookup(context.Background(), mintedValue(t, body))
	require.NoError(t, err)
	require.True(t, ok, "minted token recorded")
	return rec
}

// sessionModel reads session.model (or model) of a forwarded body.
func sessionModel(t *testing.T, body []byte) string {
	t.Helper()
	var b struct {
		Model   string `json:"model"`
		Session struct {
			Model string `json:"model"`
		} `json:"session"`
	}
	require.NoError(t, json.Unmarshal(body, &b))
	if b.Session.Model != "" {
		return b.Session.Model
	}
	return b.Model
}

func TestMultiProviderRoutesReachTheRightUpstreamWithTheRightKey(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		provider         string // "openai" or "azure"
		beta             string // the azure provider's Beta
		upstreamPath     string
		upstreamModel    string // what the upstream received: model or deployment
	}{
		{name: "openai-scoped route", path: "/openai/v1/realtime/client_secrets",
			body:     `{"session":{"type":"realtime","model":"gpt-realtime"}}`,
			provider: "openai", upstreamPath: fakeupstream.PathClientSecrets, upstreamModel: "gpt-realtime"},
		{name: "openai-prefixed model on the default route", path: "/v1/realtime/client_secrets",
			body:     `{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`,
			provider: "openai", upstreamPath: fakeupstream.PathClientSecrets, upstreamModel: "gpt-realtime"},
		{name: "azure-scoped route, alias to deployment", path: "/azure/v1/realtime/client_secrets",
			body:     `{"session":{"type":"realtime","model":"gpt-realtime"}}`,
			provider: "azure", upstreamPath: pathGA, upstreamModel: "contoso-realtime"},
		{name: "azure-prefixed model on the default route, alias to deployment", path: "/v1/realtime/client_secrets",
			body:     `{"session":{"type":"realtime","model":"azure/gpt-realtime"}}`,
			provider: "azure", upstreamPath: pathGA, upstreamModel: "contoso-realtime"},
		{name: "azure-prefixed deployment on the default route, no alias", path: "/v1/realtime/client_secrets",
			body:     `{"session":{"type":"realtime","model":"azure/contoso-realtime"}}`,
			provider: "azure", upstreamPath: pathGA, upstreamModel: "contoso-realtime"},
		{name: "azure translation", path: "/azure/v1/realtime/translations/client_secrets",
			body:     `{"session":{"model":"gpt-realtime-translate","audio":{"output":{"language":"fr"}}}}`,
			provider: "azure", upstreamPath: pathTranslation, upstreamModel: "contoso-translate"},
		{name: "azure beta session translated onto GA", path: "/v1/realtime/sessions",
			body:     `{"model":"azure/gpt-realtime","voice":"verse"}`,
			provider: "azure", upstreamPath: pathGA, upstreamModel: "contoso-realtime"},
		{name: "azure beta session forwarded to the preview API", path: "/v1/realtime/sessions",
			body:     `{"model":"azure/gpt-realtime","voice":"verse"}`,
			provider: "azure", beta: "forward", upstreamPath: pathPreview, upstreamModel: "contoso-realtime"},
		{name: "azure beta transcription session translated onto GA", path: "/azure/v1/realtime/transcription_sessions",
			body:     `{"input_audio_transcription":{"model":"gpt-4o-transcribe"}}`,
			provider: "azure", upstreamPath: pathGA, upstreamModel: "contoso-transcribe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMultiBeta(t, tc.beta)
			resp, body := m.post(t, tc.path, tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

			switch tc.provider {
			case "openai":
				require.Equal(t, 1, m.openai.Count())
				assert.Empty(t, m.azure.requests(), "azure received nothing")
				got, ok := m.openai.Last()
				require.True(t, ok)
				assert.Equal(t, tc.upstreamPath, got.Path)
				assert.Equal(t, "Bearer "+openAIKey, got.Header.Get("Authorization"))
				assert.Empty(t, got.Header.Get("Api-Key"))
				assert.Equal(t, tc.upstreamModel, sessionModel(t, got.Body))
			case "azure":
				assert.Zero(t, m.openai.Count(), "openai received nothing")
				seen := m.azure.requests()
				require.Len(t, seen, 1)
				got := seen[0]
				assert.Equal(t, tc.upstreamPath, got.Path)
				assert.Equal(t, azureKey, got.APIKey)
				assert.Empty(t, got.Auth, "no Authorization to Azure")
				assert.Equal(t, tc.upstreamModel, got.Deployment)
				if tc.upstreamPath == pathPreview {
					assert.Equal(t, testAPIVersion, got.APIVersion)
				} else {
					assert.False(t, got.HasQuery)
				}
			}

			rec := m.record(t, body)
			assert.Equal(t, tc.provider, rec.Provider)
			assert.Equal(t, tc.upstreamModel, rec.Model, "records name what the upstream was sent")
			assert.Equal(t, map[string]string{"openai": "oa-1", "azure": "az-1"}[tc.provider], rec.KeyID)
		})
	}
}

// TestMultiProviderAzureUnsupportedEndpoint400: an azure provider that
// forwards beta mints has no beta transcription endpoint to send them to.
func TestMultiProviderAzureUnsupportedEndpoint400(t *testing.T) {
	m := newMultiBeta(t, "forward")
	resp, body := m.post(t, "/azure/v1/realtime/transcription_sessions",
		`{"input_audio_transcription":{"model":"gpt-4o-transcribe"}}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	assert.Equal(t, "invalid_request_error", e.Error.Type)
	assert.Equal(t, azure.CodeUnsupportedEndpoint, e.Error.Code)
	assert.Contains(t, e.Error.Message, "/v1/realtime/client_secrets")
	assert.Empty(t, m.azure.requests())
	assert.Zero(t, m.openai.Count())

	// The same endpoint still works for the OpenAI provider.
	resp, body = m.post(t, "/openai/v1/realtime/transcription_sessions",
		`{"input_audio_transcription":{"model":"gpt-4o-transcribe"}}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func TestMultiProviderAzureErrorPassedThroughInOpenAIShape(t *testing.T) {
	m := newMulti(t)
	// No alias and no such deployment: Azure answers 404 DeploymentNotFound.
	resp, body := m.post(t, "/azure/v1/realtime/client_secrets", `{"session":{"type":"realtime","model":"gpt-4o-realtime-preview"}}`)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "apim-1", resp.Header.Get("Apim-Request-Id"))
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	assert.Equal(t, "DeploymentNotFound", e.Error.Code, "Azure's own error, not the middleware's wrapper")
	assert.Equal(t, "invalid_request_error", e.Error.Type)
	assert.Contains(t, e.Error.Message, "deployment")
	assert.NotContains(t, string(body), azureKey)
}
