package realtimesecret

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// formatProvider is a provider with a SecretFormat.
type formatProvider struct {
	contract.Provider
	format contract.SecretFormat
}

func (p formatProvider) SecretFormat() contract.SecretFormat { return p.format }

var (
	xaiFormat    = contract.SecretFormat{Prefix: "xai-realtime-client-secret-", Subprotocol: "xai-client-secret."}
	geminiFormat = contract.SecretFormat{Prefix: "auth_tokens/", AuthScheme: "Token", QueryParam: "access_token"}
)

// formatsHandler has an OpenAI provider and two with formats of their
// own, and records for one token of each.
func formatsHandler(t testing.TB) *Handler {
	t.Helper()
	key := []Key{{ID: "k", Value: "sk"}}
	h, err := New(Config{
		PathPrefix: "/api",
		Providers: []ProviderConfig{
			{Name: "openai", Provider: realtimesecrettest.ProviderFunc(nil), Keys: key},
			{Name: "xai", Provider: formatProvider{realtimesecrettest.ProviderFunc(nil), xaiFormat}, Keys: key},
			{Name: "gemini", Provider: formatProvider{realtimesecrettest.ProviderFunc(nil), geminiFormat}, Keys: key},
		},
	})
	require.NoError(t, err)
	ctx := context.Background()
	for _, tok := range []string{"ek_1", "xai-realtime-client-secret-1", "auth_tokens/1"} {
		require.NoError(t, h.records.putToken(ctx, tok, Record{KeyID: "k", Provider: "p", ExpiresAt: time.Now().Add(time.Hour)}))
	}
	return h
}

func TestSecretFormatsRecognize(t *testing.T) {
	h := formatsHandler(t)
	req := func(method, target string, header ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		for ; len(header) >= 2; header = header[2:] {
			r.Header.Add(header[0], header[1])
		}
		return r
	}
	for _, tc := range []struct {
		r    *http.Request
		want string
	}{
		{req(http.MethodGet, "/v1/realtime", "Authorization", "Bearer xai-realtime-client-secret-1"), "xai-realtime-client-secret-1"},
		{req(http.MethodPost, "/v1/x", "Authorization", "bearer   xai-realtime-client-secret-1"), "xai-realtime-client-secret-1"},
		{req(http.MethodGet, "/v1/realtime", "Sec-WebSocket-Protocol", "realtime, xai-client-secret.abc"), "abc"},
		{req(http.MethodGet, "/v1/realtime", "Sec-WebSocket-Protocol", "xai-client-secret.ek_rs_sealed"), "ek_rs_sealed"},
		{req(http.MethodGet, "/ws/x?access_token=auth_tokens/1"), "auth_tokens/1"},
		{req(http.MethodGet, "/ws/x?key=1&access_token=auth_tokens%2F1"), "auth_tokens/1"},
		{req(http.MethodConnect, "/ws/x?access_token=auth_tokens/1"), "auth_tokens/1"},
		{req(http.MethodGet, "/ws/x", "Authorization", "Token auth_tokens/1"), "auth_tokens/1"},
		{req(http.MethodGet, "/ws/x", "Authorization", "token  auth_tokens/1"), "auth_tokens/1"},
		// Not theirs.
		{req(http.MethodPost, "/ws/x?access_token=auth_tokens/1"), ""}, // not a WebSocket
		{req(http.MethodGet, "/ws/x?access_token=ya29.oauth"), ""},
		{req(http.MethodGet, "/ws/x?access_token=auth_tokens/"), ""},
		{req(http.MethodGet, "/v1/x", "Authorization", "Bearer xai-api-key-0123"), ""},
		{req(http.MethodGet, "/v1/x", "Authorization", "Bearer auth_tokens/1"), ""}, // Gemini's scheme is Token
		{req(http.MethodGet, "/v1/x", "Authorization", "Token xai-realtime-client-secret-1"), ""},
		{req(http.MethodPost, "/v1/realtime", "Sec-WebSocket-Protocol", "xai-client-secret.abc"), ""},
		{req(http.MethodGet, "/v1/realtime", "Sec-WebSocket-Protocol", "xai-client-secret."), ""},
		{req(http.MethodGet, "/v1/realtime", "Sec-WebSocket-Protocol", "openai-insecure-api-key.xai-realtime-client-secret-1"), ""},
	} {
		assert.Equal(t, tc.want, h.routes.formats.token(tc.r), "%s %s %v", tc.r.Method, tc.r.URL, tc.r.Header)
		if tc.want != "" {
			assert.False(t, h.routes.passes(tc.r), "%s %s %v must go through serve", tc.r.Method, tc.r.URL, tc.r.Header)
		}
		requirePassesAgrees(t, h, tc.r)
	}
	var nilFormats *secretFormats
	assert.Empty(t, nilFormats.token(req(http.MethodGet, "/ws/x?access_token=auth_tokens/1")))

	// Pass-through traffic with provider keys keeps the fast path.
	for _, r := range []*http.Request{
		req(http.MethodPost, "/v1/chat/completions", "Authorization", "Bearer sk-proj-0123"),
		req(http.MethodPost, "/v1/chat/completions", "Authorization", "Basic dXNlcjpwYXNz"),
		req(http.MethodGet, "/v1/models?limit=3", "Authorization", "Bearer sk-1"),
		req(http.MethodPost, "/v1/x?access_token=auth_tokens/1"),
	} {
		assert.True(t, h.routes.passes(r), "%s %s %v takes the fast path", r.Method, r.URL, r.Header)
	}
}

func TestSecretFormatsNilWithoutFormats(t *testing.T) {
	assert.Nil(t, newSecretFormats([]*provider{{name: "openai"}}))
	assert.Nil(t, newSecretFormats([]*provider{{name: "x", format: &contract.SecretFormat{}}}))
	f := newSecretFormats([]*provider{{name: "x", format: &contract.SecretFormat{Subprotocol: "p."}}})
	require.NotNil(t, f)
	assert.Empty(t, f.auth, "no prefix: nothing in Authorization")
}

// FuzzSecretFormats checks passes against serve, and what token reads,
// on any request with the formats of xAI and Gemini configured.
func FuzzSecretFormats(f *testing.F) {
	f.Add("GET", "/v1/realtime", "", "Bearer xai-realtime-client-secret-1", "")
	f.Add("GET", "/v1/realtime", "", "", "realtime, xai-client-secret.xai-realtime-client-secret-1")
	f.Add("GET", "/ws/x", "access_token=auth_tokens/1", "", "")
	f.Add("CONNECT", "/ws/x", "a=b&access_token=auth_tokens%2F1", "", "")
	f.Add("GET", "/ws/x", "", "Token auth_tokens/1", "")
	f.Add("POST", "/v1/chat/completions", "", "Bearer sk-1", "")
	f.Add("GET", "/v1/x", "", "Token\u00a0auth_tokens/1", "")
	h := formatsHandler(f)
	f.Fuzz(func(t *testing.T, method, path, query, auth, proto string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		r = r.WithContext(t.Context())
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if proto != "" {
			r.Header["Sec-Websocket-Protocol"] = []string{proto}
		}
		requirePassesAgrees(t, h, r)
		tok := h.routes.formats.token(r)
		if tok == "" {
			return
		}
		if h.routes.passes(r) {
			t.Fatalf("token %q read from a request passes says carries none", tok)
		}
		if strings.ContainsAny(tok, " \t") {
			t.Fatalf("token %q holds a space", tok)
		}
		fromQuery := strings.HasPrefix(tok, geminiFormat.Prefix) && (strings.Contains(query, "access_token="))
		if !strings.Contains(auth, tok) && !strings.Contains(proto, tok) && !fromQuery {
			t.Fatalf("token %q is not in the request", tok)
		}
	})
}
