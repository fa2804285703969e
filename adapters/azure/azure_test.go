package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const (
	testKey        = "0123456789abcdef0123456789SECRET"
	testToken      = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-SECRET"
	testDeployment = "my-realtime-deployment"
	testAPIVersion = "2025-04-01-preview"
)

func mintReq(e realtimesecret.Endpoint, body string) *contract.MintRequest {
	return &contract.MintRequest{
		Endpoint: e,
		Key:      &realtimesecret.Key{ID: "k1", Value: testKey},
		Body:     []byte(body),
	}
}

func newProvider(t testing.TB, cfg azure.Config) *azure.Provider {
	t.Helper()
	p, err := azure.New(cfg)
	require.NoError(t, err)
	return p
}

func defaultFake() *fakeAzure {
	return &fakeAzure{keys: []string{testKey}, tokens: []string{testToken}, deployments: []string{testDeployment}}
}

// requireSentinel checks err matches target and never shows a secret.
func requireSentinel(t *testing.T, err, target error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, target)
	assert.NotContains(t, err.Error(), testKey)
	assert.NotContains(t, err.Error(), testToken)
}

// mintedValue reads the secret of a GA or beta reply.
func mintedValue(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Value        string `json:"value"`
		ClientSecret struct {
			Value string `json:"value"`
		} `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(body, &r), string(body))
	if r.Value != "" {
		return r.Value
	}
	return r.ClientSecret.Value
}

func TestGAClientSecretAPIKey(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL, APIVersion: testAPIVersion})
	body := `{"session":{"type":"realtime","model":"` + testDeployment + `"}}`
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, body))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `^ek_[0-9a-f]{32}$`, mintedValue(t, resp.Body))
	assert.Equal(t, "apim-1", resp.Header.Get("Apim-Request-Id"))

	got := f.last(t)
	assert.Equal(t, pathGA, got.Path)
	assert.False(t, got.HasQuery, "the v1 GA API takes no api-version, even when one is configured")
	assert.Equal(t, testKey, got.APIKey)
	assert.Empty(t, got.Auth, "api-key auth sends no Authorization header")
	assert.Equal(t, testDeployment, got.Deployment)
	assert.Equal(t, body, string(got.Body), "body forwarded byte for byte")
}

func TestGATranslationClientSecret(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointTranslation,
		`{"session":{"model":"`+testDeployment+`","audio":{"output":{"language":"es"}}}}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	got := f.last(t)
	assert.Equal(t, pathTranslation, got.Path)
	assert.False(t, got.HasQuery)
	assert.Equal(t, testKey, got.APIKey)
	assert.Equal(t, testDeployment, got.Deployment)
}

func TestBetaSessionPreviewAPIVersion(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL, APIVersion: testAPIVersion})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointSession,
		`{"model":"`+testDeployment+`","voice":"verse"}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `^ek_`, mintedValue(t, resp.Body))
	got := f.last(t)
	assert.Equal(t, pathPreview, got.Path)
	assert.Equal(t, testAPIVersion, got.APIVersion)
	assert.Equal(t, testKey, got.APIKey)
	assert.Equal(t, testDeployment, got.Deployment)
}

func TestUnsupportedEndpoints400(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	for _, tc := range []struct {
		name       string
		apiVersion string
		endpoint   realtimesecret.Endpoint
		mentions   []string
	}{
		{name: "beta session without api-version", endpoint: contract.EndpointSession,
			mentions: []string{"/v1/realtime/client_secrets", "/v1/realtime/sessions", "api-version"}},
		{name: "beta transcription session", endpoint: contract.EndpointTranscriptionSession,
			mentions: []string{"/v1/realtime/client_secrets", "/v1/realtime/transcription_sessions", `"transcription"`}},
		{name: "beta transcription session with api-version", apiVersion: testAPIVersion,
			endpoint: contract.EndpointTranscriptionSession,
			mentions: []string{"/v1/realtime/client_secrets", "/v1/realtime/transcription_sessions"}},
		{name: "unknown endpoint", endpoint: 0, mentions: []string{"/v1/realtime/client_secrets"}},
		{name: "unknown endpoint past the table", endpoint: 200, mentions: []string{"/v1/realtime/client_secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, azure.Config{Endpoint: srv.URL, APIVersion: tc.apiVersion})
			resp, err := p.Mint(context.Background(), mintReq(tc.endpoint, `{"model":"x"}`))
			assert.Nil(t, resp)
			var re *realtimesecret.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, http.StatusBadRequest, re.Status)
			assert.Equal(t, "invalid_request_error", re.Type)
			assert.Equal(t, azure.CodeUnsupportedEndpoint, re.Code)
			for _, m := range tc.mentions {
				assert.Contains(t, re.Message, m)
			}
		})
	}
	assert.Empty(t, f.requests(), "nothing sent to Azure for an endpoint it does not serve")
}

func TestAuthBearerStaticToken(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Auth: azure.AuthBearer})
	req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"`+testDeployment+`"}}`)
	req.Key.Value = testToken
	resp, err := p.Mint(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	got := f.last(t)
	assert.Equal(t, "Bearer "+testToken, got.Auth)
	assert.Empty(t, got.APIKey, "bearer auth sends no api-key")
}

func TestTokenSourceBearer(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	var calls atomic.Int32
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Timeout: time.Minute,
		TokenSource: func(ctx context.Context) (string, error) {
			calls.Add(1)
			_, hasDeadline := ctx.Deadline()
			assert.True(t, hasDeadline, "the token is fetched within the mint's timeout")
			return testToken, nil
		}})
	req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"`+testDeployment+`"}}`)
	req.Key.Value = "entra-id" // a label: never sent
	for range 2 {
		resp, err := p.Mint(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.Equal(t, int32(2), calls.Load(), "one token per mint: the source caches, not the adapter")
	got := f.last(t)
	assert.Equal(t, "Bearer "+testToken, got.Auth)
	assert.Empty(t, got.APIKey)
	for name, vs := range got.Header {
		for _, v := range vs {
			assert.NotContains(t, v, "entra-id", "Key.Value sent in %s", name)
		}
	}
}

func TestTokenSourceError502(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	for _, tc := range []struct {
		name   string
		source azure.TokenSource
	}{
		{name: "error", source: func(context.Context) (string, error) {
			return "", errors.New("DefaultAzureCredential: no credential found")
		}},
		{name: "error with a token that echoes it", source: func(context.Context) (string, error) {
			return testToken, errors.New("refreshing " + testToken + " failed")
		}},
		{name: "empty token", source: func(context.Context) (string, error) { return "", nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, azure.Config{Endpoint: srv.URL, TokenSource: tc.source})
			resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			assert.Nil(t, resp)
			requireSentinel(t, err, contract.ErrUpstreamUnavailable)
			assert.NotErrorIs(t, err, contract.ErrUpstreamTimeout)
		})
	}
	assert.Empty(t, f.requests(), "nothing sent without a token")
}

func TestTokenSourceTimeout504(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Timeout: 50 * time.Millisecond,
		TokenSource: func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}})
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	requireSentinel(t, err, contract.ErrUpstreamTimeout)
	assert.Empty(t, f.requests())
}

func TestDeploymentNotFoundMapped(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret,
		`{"session":{"type":"realtime","model":"gpt-realtime"}}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
		"type":"invalid_request_error","param":null,"code":"DeploymentNotFound"}}`, string(resp.Body))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"), "the rewritten body has another length")
	assert.Equal(t, "gpt-realtime", f.last(t).Deployment, "the model is forwarded as the deployment, unchanged")
}

func TestWrongKeyMapped401(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"`+testDeployment+`"}}`)
	req.Key.Value = "wrong-key-0000"
	resp, err := p.Mint(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var e struct {
		Error struct{ Message, Type, Code string }
	}
	require.NoError(t, json.Unmarshal(resp.Body, &e))
	assert.Equal(t, "authentication_error", e.Error.Type)
	assert.Equal(t, "401", e.Error.Code)
	assert.Contains(t, e.Error.Message, "Access denied")
}

func TestEndpointForms(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	for _, tc := range []struct{ endpoint, path string }{
		{srv.URL, pathGA},
		{srv.URL + "/", pathGA},
		{srv.URL + "/openai", pathGA},
		{srv.URL + "/openai/", pathGA},
		{srv.URL + "/openai/v1", pathGA},
		{srv.URL + "/openai/v1/", pathGA},
		{srv.URL + "/apim/aoai", "/apim/aoai" + pathGA},
		{srv.URL + "/apim/aoai/openai/v1/", "/apim/aoai" + pathGA},
		{srv.URL + "/v1", "/v1" + pathGA}, // only /openai/v1 is the SDK base URL
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			p := newProvider(t, azure.Config{Endpoint: tc.endpoint})
			_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			require.NoError(t, err)
			assert.Equal(t, tc.path, f.last(t).Path)
		})
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]azure.Config{
		"no endpoint":         {},
		"no scheme":           {Endpoint: "my-resource.openai.azure.com"},
		"path only":           {Endpoint: "/openai"},
		"ftp":                 {Endpoint: "ftp://example.com"},
		"no host":             {Endpoint: "https://"},
		"user info":           {Endpoint: "https://user:pa55word@example.com"},
		"query":               {Endpoint: "https://example.com/?api-version=2024-10-21"},
		"fragment":            {Endpoint: "https://example.com/#x"},
		"api-version in URL":  {Endpoint: "https://example.com", APIVersion: "2025-04-01-preview&x=1"},
		"api-version space":   {Endpoint: "https://example.com", APIVersion: "2025 04"},
		"unknown auth":        {Endpoint: "https://example.com", Auth: 7},
		"negative timeout":    {Endpoint: "https://example.com", Timeout: -time.Second},
		"negative max length": {Endpoint: "https://example.com", MaxResponseBytes: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := azure.New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "azure: ")
			assert.NotContains(t, err.Error(), "pa55word")
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	f := defaultFake()
	srv := newFakeAzure(t, f)
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"`+testDeployment+`"}}`)
	req.Header = http.Header{
		"X-Request-Id":  {"abc"},
		"api-key":       {"attacker-key"}, // not canonical on purpose
		"Authorization": {"Bearer attacker"},
	}
	_, err := p.Mint(context.Background(), req)
	require.NoError(t, err)
	got := f.last(t)
	assert.Equal(t, "abc", got.Header.Get("X-Request-Id"))
	assert.Equal(t, []string{testKey}, got.Header.Values("Api-Key"))
	assert.Empty(t, got.Header.Values("Authorization"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
}
