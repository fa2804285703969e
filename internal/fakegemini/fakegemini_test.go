package fakegemini_test

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

	"github.com/realtimesecret/realtimesecret/internal/fakegemini"
)

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func post(t *testing.T, url, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Goog-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestMint(t *testing.T) {
	up := fakegemini.New(fakegemini.Options{Keys: []string{"AIza-1"}, Models: []string{"gemini-live"}, Now: func() time.Time { return now }})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	status, b := post(t, srv.URL+fakegemini.PathAuthTokens, "AIza-1", `{"uses":2,"expireTime":"2030-01-02T03:34:05Z",`+
		`"bidiGenerateContentSetup":{"model":"models/gemini-live","generationConfig":{"responseModalities":["AUDIO"]}},"fieldMask":"model"}`)
	require.Equal(t, http.StatusOK, status, string(b))
	var v struct{ Name string }
	require.NoError(t, json.Unmarshal(b, &v))
	assert.True(t, strings.HasPrefix(v.Name, fakegemini.TokenPrefix))
	toks := up.Tokens()
	require.Len(t, toks, 1)
	assert.Equal(t, v.Name, toks[0].Name)
	assert.Equal(t, 2, toks[0].Uses)
	assert.Equal(t, "gemini-live", toks[0].Model)
	assert.Equal(t, now.Add(30*time.Minute), toks[0].Expire)
	assert.Equal(t, now.Add(time.Minute), toks[0].NewSession)

	status, b = post(t, srv.URL+fakegemini.PathAuthTokens+"?key=AIza-1", "", `{"expire_time":"2030-01-02T03:10:05Z"}`)
	require.Equal(t, http.StatusOK, status, string(b))
	assert.Equal(t, now.Add(6*time.Minute), up.Tokens()[1].Expire)
	assert.Equal(t, 1, up.Tokens()[1].Uses, "Google's default")
}

func TestRefusals(t *testing.T) {
	up := fakegemini.New(fakegemini.Options{Keys: []string{"AIza-1"}, Models: []string{"gemini-live"}, Now: func() time.Time { return now }})
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u := srv.URL + fakegemini.PathAuthTokens
	for _, tc := range []struct {
		name, url, key, body string
		status               int
		grpc                 string
	}{
		{"no key", u, "", `{}`, 403, "PERMISSION_DENIED"},
		{"a wrong key", u, "AIza-2", `{}`, 400, "INVALID_ARGUMENT"},
		{"an unknown field", u, "AIza-1", `{"liveConnectConstraints":{}}`, 400, "INVALID_ARGUMENT"},
		{"both spellings", u, "AIza-1", `{"uses":1,"expireTime":"2030-01-02T03:10:05Z","expire_time":"2030-01-02T03:10:05Z"}`, 400, "INVALID_ARGUMENT"},
		{"uses negative", u, "AIza-1", `{"uses":-1}`, 400, "INVALID_ARGUMENT"},
		{"uses beyond int32", u, "AIza-1", `{"uses":4294967296}`, 400, "INVALID_ARGUMENT"},
		{"a past time", u, "AIza-1", `{"expireTime":"2030-01-02T03:04:04Z"}`, 400, "INVALID_ARGUMENT"},
		{"20 hours away", u, "AIza-1", `{"expireTime":"2030-01-02T23:04:05Z"}`, 400, "INVALID_ARGUMENT"},
		{"not RFC 3339", u, "AIza-1", `{"newSessionExpireTime":"Wed, 02 Jan 2030 03:10:00 UTC"}`, 400, "INVALID_ARGUMENT"},
		{"a bare model", u, "AIza-1", `{"bidiGenerateContentSetup":{"model":"gemini-live"}}`, 400, "INVALID_ARGUMENT"},
		{"another model", u, "AIza-1", `{"bidiGenerateContentSetup":{"model":"models/gemini-2"}}`, 400, "INVALID_ARGUMENT"},
		{"a field mask array", u, "AIza-1", `{"fieldMask":["model"]}`, 400, "INVALID_ARGUMENT"},
		{"another path", srv.URL + "/v1beta/auth_tokens", "AIza-1", `{}`, 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := post(t, tc.url, tc.key, tc.body)
			require.Equal(t, tc.status, status, string(b))
			var e struct {
				Error struct {
					Code    int
					Message string
					Status  string
				}
			}
			require.NoError(t, json.Unmarshal(b, &e), string(b))
			assert.Equal(t, tc.status, e.Error.Code)
			assert.Equal(t, tc.grpc, e.Error.Status)
			assert.NotEmpty(t, e.Error.Message)
		})
	}
	assert.Empty(t, up.Tokens())
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `{"uses":"3","expire_time":"2030-01-02T03:10:05Z"}`, `{"bidiGenerateContentSetup":{"model":"models/x"}}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, msg := fakegemini.Check(body, now, nil)
		if msg != "" {
			return
		}
		require.True(t, json.Valid(body))
		require.GreaterOrEqual(t, tok.Uses, 0)
		require.True(t, tok.Expire.After(now) && tok.NewSession.After(now))
	})
}
