package redisstore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

const (
	upstreamKey = "sk-upstream-redisstore-test-0001"
	vkID        = "web"
	vkValue     = "vk-redisstore-test-0001"
)

// newUpstream starts a fake OpenAI that accepts upstreamKey.
func newUpstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(fakeupstream.New(fakeupstream.Options{Keys: []string{upstreamKey}}))
	t.Cleanup(srv.Close)
	return srv
}

// nodeOptions configures newNode.
type nodeOptions struct {
	strict bool
	rate   realtimesecret.Rate
	onMint func(realtimesecret.MintEvent)
}

// newNode returns a Handler as one node of a deployment runs it: minting at
// upstreamURL for the virtual key vkValue, with store as both its Store and
// its RateLimiter.
func newNode(t testing.TB, upstreamURL string, store *redisstore.Store, o nodeOptions) *realtimesecret.Handler {
	t.Helper()
	p, err := openai.New(openai.Config{BaseURL: upstreamURL})
	require.NoError(t, err)
	h, err := realtimesecret.New(realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: p,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: upstreamKey}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: vkID, Value: vkValue, RateLimit: o.rate}},
		Store:       store,
		RateLimiter: store,
		StrictStore: o.strict,
		OnMint:      o.onMint,
	})
	require.NoError(t, err)
	// The Store is a shared SessionRegistry, so the Handler claims due caps
	// from the start; Close stops that.
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// mint asks h for a GA client secret for openai/gpt-realtime.
func mint(t testing.TB, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+vkValue)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// mintedToken returns the client secret of a successful GA mint reply.
func mintedToken(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, "mint answered %s", w.Body.String())
	var reply struct {
		Value string `json:"value"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &reply))
	require.True(t, strings.HasPrefix(reply.Value, "ek_"), "minted %q", reply.Value)
	return reply.Value
}

// errorCode returns error.code of an OpenAI-shaped error reply.
func errorCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var reply struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &reply), "reply %s", w.Body.String())
	return reply.Error.Code
}
