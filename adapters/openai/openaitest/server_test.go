package openaitest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai/openaitest"
)

// post sends body to path on the fake with key, and returns the status and
// the decoded JSON answer.
func post(t *testing.T, fake *openaitest.Server, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, fake.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out
}

const gaBody = `{"session":{"type":"realtime","model":"gpt-realtime"}}`

func TestServerMints(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	fake := openaitest.NewServer(openaitest.Options{
		Keys: []string{"sk-test"},
		TTL:  time.Minute,
		Now:  func() time.Time { return now },
	})
	defer fake.Close()
	require.True(t, strings.HasPrefix(fake.URL, "http://127.0.0.1:"), fake.URL)

	tests := []struct {
		name, path, body string
		value            func(map[string]any) any
	}{
		{name: "GA client secret", path: "/v1/realtime/client_secrets", body: gaBody,
			value: func(m map[string]any) any { return m["value"] }},
		{name: "GA translation", path: "/v1/realtime/translations/client_secrets", body: `{"session":{"model":"gpt-realtime-translate"}}`,
			value: func(m map[string]any) any { return m["value"] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, fake, tc.path, "sk-test", tc.body)
			require.Equal(t, http.StatusOK, status, out)
			value, ok := tc.value(out).(string)
			require.True(t, ok, out)
			assert.True(t, strings.HasPrefix(value, "ek_"), value)
			last, ok := fake.Last()
			require.True(t, ok)
			assert.Equal(t, tc.path, last.Path)
			assert.Equal(t, http.MethodPost, last.Method)
			assert.Equal(t, "Bearer sk-test", last.Header.Get("Authorization"))
			assert.JSONEq(t, tc.body, string(last.Body))
			assert.Equal(t, now, last.Time)
		})
	}
	status, out := post(t, fake, "/v1/realtime/client_secrets", "sk-test", gaBody)
	require.Equal(t, http.StatusOK, status)
	assert.InDelta(t, float64(now.Add(time.Minute).Unix()), out["expires_at"], 0, "TTL applies when the request asks for no lifetime")
	assert.Equal(t, len(tests)+1, fake.Count())
	assert.Equal(t, len(tests)+1, fake.Minted())
}

func TestServerRefuses(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Options{Keys: []string{"sk-test"}, Models: []string{"gpt-realtime"}})
	defer fake.Close()

	tests := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{name: "no key", body: gaBody, status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "unknown key", key: "sk-other", body: gaBody, status: http.StatusUnauthorized, code: "invalid_api_key"},
		{name: "unknown model", key: "sk-test", body: `{"session":{"type":"realtime","model":"gpt-4o"}}`, status: http.StatusBadRequest, code: "invalid_value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, fake, "/v1/realtime/client_secrets", tc.key, tc.body)
			assert.Equal(t, tc.status, status)
			errObj, ok := out["error"].(map[string]any)
			require.True(t, ok, "an OpenAI-shaped error: %v", out)
			assert.Equal(t, tc.code, errObj["code"])
		})
	}
	assert.Equal(t, len(tests), fake.Count(), "refused requests are counted and recorded")
	assert.Len(t, fake.Requests(), len(tests))
	assert.Zero(t, fake.Minted(), "nothing was minted")
}

func TestServerFault(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Options{
		Fault: func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.Header.Get("Authorization"), "fail") {
				return false
			}
			http.Error(w, "boom", http.StatusBadGateway)
			return true
		},
	})
	defer fake.Close()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, fake.URL+"/v1/realtime/client_secrets", strings.NewReader(gaBody))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer fail")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)

	status, _ := post(t, fake, "/v1/realtime/client_secrets", "sk-any", gaBody)
	assert.Equal(t, http.StatusOK, status, "without a key list any non-empty key is accepted")
	assert.Equal(t, 2, fake.Count())
	assert.Equal(t, 1, fake.Minted())
}

func TestServerRequestsAreCopiesAndReset(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Options{})
	defer fake.Close()
	_, ok := fake.Last()
	assert.False(t, ok, "no request yet")

	post(t, fake, "/v1/realtime/client_secrets", "sk-a", gaBody)
	got := fake.Requests()
	require.Len(t, got, 1)
	got[0].Body[0] = 'X'
	got[0].Header.Set("Authorization", "changed")
	again, ok := fake.Last()
	require.True(t, ok)
	assert.JSONEq(t, gaBody, string(again.Body), "callers get copies")
	assert.Equal(t, "Bearer sk-a", again.Header.Get("Authorization"))

	fake.Reset()
	assert.Zero(t, fake.Count())
	assert.Zero(t, fake.Minted())
	assert.Empty(t, fake.Requests())
}

func TestServerConcurrentMints(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Options{})
	defer fake.Close()
	const n = 32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			status, _ := post(t, fake, "/v1/realtime/client_secrets", "sk-a", gaBody)
			assert.Equal(t, http.StatusOK, status)
		})
	}
	wg.Wait()
	assert.Equal(t, n, fake.Count())
	assert.Equal(t, n, fake.Minted(), "a mint is counted before its answer reaches the client")
}

func TestServerClose(t *testing.T) {
	fake := openaitest.NewServer(openaitest.Options{})
	fake.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, fake.URL+"/v1/realtime/client_secrets", strings.NewReader(gaBody))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "a closed server no longer listens")
}

func TestServerBeta(t *testing.T) {
	for _, serve := range []bool{false, true} {
		fake := openaitest.NewServer(openaitest.Options{ServeBeta: serve})
		status, out := post(t, fake, "/v1/realtime/sessions", "sk-test", `{"model":"gpt-realtime"}`)
		fake.Close()
		if !serve {
			require.Equal(t, http.StatusBadRequest, status, out)
			e, ok := out["error"].(map[string]any)
			require.True(t, ok, out)
			assert.Equal(t, "beta_api_shape_disabled", e["code"])
			assert.Equal(t, "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.", e["message"])
			continue
		}
		require.Equal(t, http.StatusOK, status, out)
		secret, ok := out["client_secret"].(map[string]any)
		require.True(t, ok, out)
		assert.True(t, strings.HasPrefix(secret["value"].(string), "ek_"))
	}
}
