package fakexai_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakexai"
)

func post(t *testing.T, url, auth, ct, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestMint(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	up := fakexai.New(fakexai.Options{Keys: []string{"xai-key-1"}, Now: func() time.Time { return now }})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u := srv.URL + fakexai.PathClientSecrets

	for body, ttl := range map[string]time.Duration{
		`{"expires_after":{"seconds":300}}`: 300 * time.Second,
		`{}`:                                fakexai.DefaultTTL,
		`{"expires_after":null}`:            fakexai.DefaultTTL,
	} {
		resp, b := post(t, u, "Bearer xai-key-1", "application/json", body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		var v struct {
			Value     string `json:"value"`
			ExpiresAt int64  `json:"expires_at"`
		}
		require.NoError(t, json.Unmarshal(b, &v))
		assert.True(t, strings.HasPrefix(v.Value, fakexai.SecretPrefix), v.Value)
		assert.Equal(t, now.Add(ttl).Unix(), v.ExpiresAt, body)
	}
	assert.Len(t, up.Minted(), 3)
	assert.Equal(t, 3, up.Count())
}

func TestRefusals(t *testing.T) {
	up := fakexai.New(fakexai.Options{Keys: []string{"xai-key-1"}})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u := srv.URL + fakexai.PathClientSecrets
	for _, tc := range []struct {
		name, url, auth, ct, body string
		status                    int
	}{
		{"no key", u, "", "application/json", `{}`, 401},
		{"a wrong key", u, "Bearer xai-wrong-key", "application/json", `{}`, 400},
		{"not JSON content", u, "Bearer xai-key-1", "text/plain", `{}`, 415},
		{"an empty body", u, "Bearer xai-key-1", "application/json", ``, 415},
		{"session", u, "Bearer xai-key-1", "application/json", `{"session":{"type":"realtime","model":"grok"}}`, 400},
		{"anchor", u, "Bearer xai-key-1", "application/json", `{"expires_after":{"anchor":"created_at","seconds":60}}`, 400},
		{"seconds too long", u, "Bearer xai-key-1", "application/json", `{"expires_after":{"seconds":3601}}`, 400},
		{"seconds 0", u, "Bearer xai-key-1", "application/json", `{"expires_after":{"seconds":0}}`, 400},
		{"seconds a fraction", u, "Bearer xai-key-1", "application/json", `{"expires_after":{"seconds":1.5}}`, 400},
		{"an array", u, "Bearer xai-key-1", "application/json", `[]`, 400},
		{"another path", srv.URL + "/v1/realtime/sessions", "Bearer xai-key-1", "application/json", `{}`, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := post(t, tc.url, tc.auth, tc.ct, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, string(b))
			var e struct{ Code, Error string }
			require.NoError(t, json.Unmarshal(b, &e), string(b))
			assert.NotEmpty(t, e.Code)
			assert.NotEmpty(t, e.Error)
			assert.NotContains(t, string(b), "xai-wrong-key", "the key is masked")
		})
	}
	assert.Empty(t, up.Minted())
}

func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"expires_after":{"seconds":300}}`, `{"session":{}}`, `{"expires_after":{"seconds":1e3}}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ttl, msg := fakexai.CheckBody(body)
		if msg != "" {
			return
		}
		require.True(t, json.Valid(body))
		require.True(t, ttl >= time.Second && ttl <= fakexai.MaxTTLSeconds*time.Second, "ttl %s", ttl)
	})
}
