package realtimesecret_test

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// A single-use secret passes its first redemption through the middleware;
// every later one is 401 and never reaches next, stored or sealed, for a
// virtual key's secrets and an Authorizer principal's.
func TestSingleUseSecrets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sealed bool
		user   bool
	}{{"virtual key, stored", false, false}, {"virtual key, sealed", true, false}, {"user, stored", false, true}, {"user, sealed", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			up := newBrokerProvider()
			cfg := baseConfig(up)
			cfg.VirtualKeys[0].SingleUse = true
			if tc.user {
				cfg = userConfig(up, realtimesecret.Principal{ID: "alice", Kind: "user", SingleUse: true})
			}
			if tc.sealed {
				cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{3}, 32)}
			}
			var passed atomic.Int64
			proxy := &providerProxy{}
			h := realtimesecret.Middleware(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				passed.Add(1)
				if r.URL.Path == "/v1/realtime/calls" {
					proxy.ServeHTTP(w, r)
					return
				}
				w.WriteHeader(nextStatus)
			}))
			mint := func() string {
				return mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
			}
			token := mint()
			require.Equal(t, nextStatus, do(t, h, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token, "Upgrade", "websocket").Code)
			for range 3 {
				e := requireAPIError(t, do(t, h, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token, "Upgrade", "websocket"),
					http.StatusUnauthorized)
				assert.Equal(t, "client_secret_used", *e.Error.Code)
			}
			requireAPIError(t, ekCall(t, h, token), http.StatusUnauthorized)
			assert.EqualValues(t, 1, passed.Load(), "only the first use reached next")

			// Another secret has its own use; a call is a use.
			require.Equal(t, http.StatusCreated, ekCall(t, h, mint()).Code)

			// Concurrent redemptions of one secret: exactly one passes.
			token = mint()
			var wg sync.WaitGroup
			var ok atomic.Int64
			for range 16 {
				wg.Go(func() {
					if do(t, h, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token).Code == nextStatus {
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			assert.EqualValues(t, 1, ok.Load())
		})
	}
}

// Without SingleUse, a secret is redeemed as often as the provider lets it.
func TestSecretsAreNotSingleUseByDefault(t *testing.T) {
	h := realtimesecret.Middleware(baseConfig(newBrokerProvider()))(&nextRecorder{})
	token := mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	for range 3 {
		require.Equal(t, nextStatus, do(t, h, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token).Code)
	}
}
