package realtimesecret_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// userConfig lets an Authorizer decide: every caller is user alice, with
// the limits given.
func userConfig(up *brokerProvider, p realtimesecret.Principal) realtimesecret.Config {
	cfg := baseConfig(up)
	cfg.VirtualKeys = nil
	cfg.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) { return p, nil }
	return cfg
}

// A user's MaxSessions counts its WebSocket redemptions and the calls
// created with its secrets, as a virtual key's does, on any node: the
// limits travel in the token's record (or its seal).
func TestUserMaxSessionsOnEveryPath(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "sealed"}[sealed], func(t *testing.T) {
			up := newBrokerProvider()
			cfg := userConfig(up, realtimesecret.Principal{ID: "alice", Kind: "user", MaxSessions: 1})
			if sealed {
				cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{1}, 32)}
			}
			minter, err := realtimesecret.New(cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = minter.Close() })
			// A sealed token is redeemed on another node, with its own store
			// and registry and an Authorizer that refuses everyone: only the
			// seal says who minted it, with which limits.
			redeemer := minter
			if sealed {
				other := cfg
				other.Authorizer = func(*http.Request, realtimesecret.Intent) (realtimesecret.Principal, error) {
					return realtimesecret.Principal{}, realtimesecret.ErrForbidden
				}
				redeemer, err = realtimesecret.New(other)
				require.NoError(t, err)
				t.Cleanup(func() { _ = redeemer.Close() })
			}

			release := make(chan struct{})
			upgraded := make(chan struct{}, 1)
			proxy := &providerProxy{}
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Upgrade") != "" {
					upgraded <- struct{}{}
					<-release
					w.WriteHeader(nextStatus)
					return
				}
				proxy.ServeHTTP(w, r)
			})
			mintSrv, srv := minter.Wrap(next), redeemer.Wrap(next)
			mint := func() string {
				return mintedValue(t, do(t, mintSrv, http.MethodPost, "/v1/realtime/client_secrets", gaBody))
			}
			token := mint()
			var wg sync.WaitGroup
			wg.Go(func() {
				do(t, srv, http.MethodGet, "/v1/realtime?model=gpt-realtime", "", "Authorization", "Bearer "+token, "Upgrade", "websocket")
			})
			<-upgraded
			w := do(t, srv, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+mint(), "Upgrade", "websocket")
			e := requireAPIError(t, w, http.StatusTooManyRequests)
			assert.Equal(t, "too_many_sessions", *e.Error.Code)
			assert.Contains(t, e.Error.Message, "user alice has as many concurrent sessions")
			w = ekCall(t, srv, mint())
			assert.Equal(t, "too_many_sessions", *requireAPIError(t, w, http.StatusTooManyRequests).Error.Code)
			assert.Zero(t, proxy.count(), "nothing reached the provider")

			close(release)
			wg.Wait()
			require.Equal(t, http.StatusCreated, ekCall(t, srv, mint()).Code, "the closed WebSocket freed its slot")
			rec, found, err := redeemer.LookupSession(t.Context(), "rtc_ek1")
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, "alice", rec.VirtualKeyID)
			assert.Equal(t, "user", rec.PrincipalKind)
			assert.Equal(t, 1, rec.MaxSessions)
		})
	}
}

// Refusals name the kind of caller, without secrets.
func TestRefusalsNameTheCaller(t *testing.T) {
	up := newBrokerProvider()
	cfg := userConfig(up, realtimesecret.Principal{ID: "alice", Kind: "user", RateLimit: realtimesecret.Rate{Requests: 1, Per: time.Hour}})
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody).Code)
	e := requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody), http.StatusTooManyRequests)
	assert.Contains(t, e.Error.Message, "user alice has minted as often as its rate limit allows")

	cfg = baseConfig(up)
	cfg.VirtualKeys[0].MaxSessions = 1
	h = realtimesecret.Middleware(cfg)(&nextRecorder{})
	require.Equal(t, http.StatusCreated, call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	e = requireAPIError(t, call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`), http.StatusTooManyRequests)
	assert.Contains(t, e.Error.Message, "virtual key web has as many concurrent sessions")
	assert.NotContains(t, e.Error.Message, vkWeb)
}

// With virtual keys and an Authorizer, a request that presents a virtual
// key is the key's; any other is the Authorizer's; a user named like a
// virtual key is refused.
func TestVirtualKeysBesideAnAuthorizer(t *testing.T) {
	up := newBrokerProvider()
	cfg := baseConfig(up)
	var asked []string
	cfg.Authorizer = func(r *http.Request, _ realtimesecret.Intent) (realtimesecret.Principal, error) {
		tok := r.Header.Get("Authorization")
		asked = append(asked, tok)
		switch tok {
		case "Bearer jwt-alice":
			return realtimesecret.Principal{ID: "alice", Kind: "user"}, nil
		case "Bearer jwt-web":
			return realtimesecret.Principal{ID: "web", Kind: "user"}, nil
		}
		return realtimesecret.Principal{}, realtimesecret.ErrUnauthenticated
	}
	var events []realtimesecret.MintEvent
	cfg.OnMint = func(ev realtimesecret.MintEvent) { events = append(events, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})

	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb).Code)
	assert.Empty(t, asked, "a virtual key is the key's")
	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody,
		"Authorization", "Bearer jwt-alice", "X-Virtual-Key", vkWeb).Code)
	assert.Empty(t, asked, "a virtual key wins over what else the request carries")
	assert.Equal(t, "web", events[1].VirtualKeyID)

	require.Equal(t, http.StatusOK, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer jwt-alice").Code)
	assert.Equal(t, []string{"Bearer jwt-alice"}, asked)
	assert.Equal(t, "alice", events[2].VirtualKeyID)

	e := requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody,
		"Authorization", "Bearer jwt-alice", "X-Virtual-Key", "vk-wrong"), http.StatusUnauthorized)
	assert.Equal(t, "invalid_api_key", *e.Error.Code, "an explicit virtual key that is wrong")

	e = requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer jwt-web"), http.StatusForbidden)
	assert.Equal(t, "principal_conflict", *e.Error.Code)
	assert.Contains(t, e.Error.Message, "user web has the ID of a virtual key")
	requireAPIError(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody), http.StatusUnauthorized)
	assert.Equal(t, 3, up.count(), "the three mints admitted")
}
