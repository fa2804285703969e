package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// twoNodes returns two Handlers that share one Redis through separate
// clients and Stores, as two processes of one deployment do.
func twoNodes(t *testing.T, rate realtimesecret.Rate) (a, b *realtimesecret.Handler) {
	t.Helper()
	up := newUpstream(t)
	c := redistest.Client(t)
	prefix := redistest.Prefix(t, c)
	a = newNode(t, up.URL, redisstore.New(c, redisstore.Options{Prefix: prefix, Timeout: testTimeout}), nodeOptions{rate: rate})
	b = newNode(t, up.URL, redisstore.New(redistest.Client(t), redisstore.Options{Prefix: prefix, Timeout: testTimeout}), nodeOptions{rate: rate})
	return a, b
}

func TestTwoNodesShareTheMintRateLimit(t *testing.T) {
	const burst = 3
	a, b := twoNodes(t, realtimesecret.Rate{Requests: burst, Per: time.Hour})
	nodes := []*realtimesecret.Handler{a, b}
	for i := range burst {
		w := mint(t, nodes[i%2])
		require.Equal(t, http.StatusOK, w.Code, "mint %d of the shared burst: %s", i+1, w.Body.String())
	}
	for i, h := range nodes {
		w := mint(t, h)
		require.Equal(t, http.StatusTooManyRequests, w.Code, "node %d let a mint past the shared burst", i)
		assert.Equal(t, "rate_limit_exceeded", errorCode(t, w))
		retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
		require.NoError(t, err, "Retry-After %q", w.Header().Get("Retry-After"))
		// The next slot opens one interval (an hour / 3) after the burst.
		assert.InDelta(t, (time.Hour / burst).Seconds(), retry, 5)
	}
}

func TestMintOnOneNodeRedeemOnAnother(t *testing.T) {
	a, b := twoNodes(t, realtimesecret.Rate{})
	token := mintedToken(t, mint(t, a))

	rec, ok, err := b.Lookup(context.Background(), token)
	require.NoError(t, err)
	require.True(t, ok, "node b does not know a token node a minted")
	assert.Equal(t, "primary", rec.KeyID)
	assert.Equal(t, vkID, rec.VirtualKeyID)
	assert.Equal(t, "openai", rec.Provider)
	assert.Equal(t, "gpt-realtime", rec.Model)
	assert.Equal(t, contract.EndpointClientSecret, rec.Endpoint)
	assert.True(t, rec.ExpiresAt.After(time.Now()))

	tests := []struct {
		name   string
		method string
		path   string
		header string
		value  string
	}{
		{name: "WebRTC bearer", method: http.MethodPost, path: "/v1/realtime/calls",
			header: "Authorization", value: "Bearer " + token},
		{name: "WebSocket subprotocol", method: http.MethodGet, path: "/v1/realtime",
			header: "Sec-WebSocket-Protocol", value: "realtime, openai-insecure-api-key." + token},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got realtimesecret.Record
			var found bool
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, found = realtimesecret.FromContext(r.Context())
				w.WriteHeader(http.StatusNoContent)
			})
			r := httptest.NewRequest(tc.method, tc.path, nil)
			r.Header.Set(tc.header, tc.value)
			w := httptest.NewRecorder()
			b.Wrap(next).ServeHTTP(w, r)
			require.Equal(t, http.StatusNoContent, w.Code)
			require.True(t, found, "node b passed the redemption on without its record")
			assert.Equal(t, rec, got)
		})
	}
}

func TestUnknownTokenOnOtherNode(t *testing.T) {
	_, b := twoNodes(t, realtimesecret.Rate{})
	_, ok, err := b.Lookup(context.Background(), "ek_not_minted_anywhere")
	require.NoError(t, err)
	assert.False(t, ok)
}
