package realtimesecret_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

var (
	sealKey1 = realtimesecret.SealKey(bytes.Repeat([]byte{1}, 32))
	sealKey2 = realtimesecret.SealKey(bytes.Repeat([]byte{2}, 32))
)

// sealedNode is one node: a handler with seal keys and its own memory store.
func sealedNode(t *testing.T, p contract.Provider, clock *fakeClock, keys ...realtimesecret.SealKey) (http.Handler, *nextRecorder, *memory.Store) {
	t.Helper()
	cfg := baseConfig(p)
	cfg.SealKeys = keys
	cfg.Now = clock.Now
	store := memory.NewStore()
	cfg.Store = store
	next := &nextRecorder{}
	return realtimesecret.Middleware(cfg)(next), next, store
}

func TestSealedTokenAcrossNodesWithoutStore(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := newFakeProvider()
	p.now = clock.Now
	var upstreamTokens []string
	nodeA, _, storeA := sealedNode(t, p, clock, sealKey1)
	nodeB, nextB, storeB := sealedNode(t, p, clock, sealKey1)

	for _, c := range []struct{ path, body string }{
		{"/v1/realtime/client_secrets", gaBody},
		{"/v1/realtime/sessions", `{"model":"openai/gpt-realtime"}`},
	} {
		w := do(t, nodeA, http.MethodPost, c.path, c.body, "Authorization", "Bearer "+vkWeb)
		sealed := mintedValue(t, w)
		require.True(t, strings.HasPrefix(sealed, "ek_rs_"), sealed)
		upstream := tokenInUpstreamReply(t, p)
		upstreamTokens = append(upstreamTokens, upstream)
		assert.NotContains(t, w.Body.String(), upstream, "the upstream token never reaches the client")

		for name, header := range map[string][]string{
			"bearer":      {"Authorization", "Bearer " + sealed},
			"subprotocol": {"Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + sealed},
		} {
			t.Run(c.path+"/"+name, func(t *testing.T) {
				w := do(t, nodeB, http.MethodGet, "/v1/realtime", "", header...)
				require.Equal(t, nextStatus, w.Code)
				r := nextB.last(t)
				rec, ok := realtimesecret.FromContext(r.Context())
				require.True(t, ok)
				assert.Equal(t, "web", rec.VirtualKeyID)
				assert.Equal(t, "primary", rec.KeyID)
				assert.Equal(t, "gpt-realtime", rec.Model)
				got := r.Header.Get(header[0])
				assert.Contains(t, got, upstream, "next sees the upstream token")
				assert.NotContains(t, got, sealed)
			})
		}
	}
	assert.Zero(t, storeA.Len(), "sealed tokens need no store")
	assert.Zero(t, storeB.Len())
	assert.Len(t, upstreamTokens, 2)
}

// tokenInUpstreamReply returns the token the fake upstream last minted.
func tokenInUpstreamReply(t *testing.T, p *fakeProvider) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.minted)
	return p.minted[len(p.minted)-1]
}

func TestSealedTokenRejected(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := newFakeProvider()
	p.now, p.ttl = clock.Now, time.Minute
	node, next, _ := sealedNode(t, p, clock, sealKey1)
	sealed := mintedValue(t, do(t, node, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))

	flip := []byte(sealed)
	flip[len(flip)-5] ^= 'A' ^ 'B'
	cases := map[string]string{
		"tampered":    string(flip),
		"truncated":   sealed[:len(sealed)-10],
		"short":       "ek_rs_AAAA",
		"not base64":  "ek_rs_***",
		"other key":   sealWith(t, sealKey2),
		"empty":       "ek_rs_",
		"with suffix": sealed + "A",
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			w := do(t, node, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+token)
			e := requireAPIError(t, w, http.StatusUnauthorized)
			assert.Equal(t, "authentication_error", e.Error.Type)
			assert.NotContains(t, w.Body.String(), token)
		})
	}
	t.Run("expired", func(t *testing.T) {
		clock.Add(time.Minute)
		w := do(t, node, http.MethodGet, "/v1/realtime", "", "Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key."+sealed)
		requireAPIError(t, w, http.StatusUnauthorized)
	})
	next.mu.Lock()
	defer next.mu.Unlock()
	assert.Empty(t, next.reqs, "a rejected sealed token never reaches next")
}

func sealWith(t *testing.T, key realtimesecret.SealKey) string {
	t.Helper()
	clock := &fakeClock{t: time.Now()}
	node, _, _ := sealedNode(t, newFakeProvider(), clock, key)
	return mintedValue(t, do(t, node, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
}

func TestSealedTokenRotation(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	oldNode, _, _ := sealedNode(t, newFakeProvider(), clock, sealKey1)
	rotated, next, _ := sealedNode(t, newFakeProvider(), clock, sealKey2, sealKey1)
	newOnly, _, _ := sealedNode(t, newFakeProvider(), clock, sealKey2)

	old := mintedValue(t, do(t, oldNode, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	w := do(t, rotated, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+old)
	require.Equal(t, nextStatus, w.Code, "every listed key opens")
	_, ok := realtimesecret.FromContext(next.last(t).Context())
	assert.True(t, ok)

	fresh := mintedValue(t, do(t, rotated, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	assert.Equal(t, nextStatus, do(t, newOnly, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+fresh).Code, "the first key seals")
	requireAPIError(t, do(t, newOnly, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer "+old), http.StatusUnauthorized)
}

func TestSealKeyLength(t *testing.T) {
	cfg := baseConfig(newFakeProvider())
	cfg.SealKeys = []realtimesecret.SealKey{make([]byte, 16)}
	_, err := realtimesecret.New(cfg)
	require.ErrorIs(t, err, realtimesecret.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "32")
}

func TestParseSealKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:32] // URL-safe and standard base64 differ on these
	tests := []struct {
		name string
		in   string
		want string // error text; "" = parses to raw
	}{
		{name: "standard", in: base64.StdEncoding.EncodeToString(raw)},
		{name: "standard, unpadded", in: base64.RawStdEncoding.EncodeToString(raw)},
		{name: "URL-safe", in: base64.URLEncoding.EncodeToString(raw)},
		{name: "URL-safe, unpadded", in: base64.RawURLEncoding.EncodeToString(raw)},
		{name: "a trailing newline, as from a file", in: base64.StdEncoding.EncodeToString(raw) + "\n"},
		{name: "too short", in: base64.StdEncoding.EncodeToString(raw[:16]), want: "16 bytes, want 32"},
		{name: "too long", in: base64.StdEncoding.EncodeToString(append(raw, 0)), want: "33 bytes, want 32"},
		{name: "not base64", in: "not a key!", want: "not base64"},
		{name: "empty", in: "", want: "0 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := realtimesecret.ParseSealKey(tc.in)
			if tc.want != "" {
				require.ErrorIs(t, err, realtimesecret.ErrInvalidSealKey)
				assert.Contains(t, err.Error(), tc.want)
				assert.Contains(t, err.Error(), "openssl rand -base64 32")
				assert.Nil(t, key)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, raw, []byte(key))
			_, err = realtimesecret.New(realtimesecret.Config{
				Providers: baseConfig(newFakeProvider()).Providers,
				SealKeys:  []realtimesecret.SealKey{key},
			})
			assert.NoError(t, err, "a parsed key is accepted by New")
		})
	}
}

func TestSealedLookup(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	cfg := baseConfig(newFakeProvider())
	cfg.SealKeys, cfg.Now = []realtimesecret.SealKey{sealKey1}, clock.Now
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	sealed := mintedValue(t, do(t, h.Wrap(&nextRecorder{}), http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	rec, ok, err := h.Lookup(t.Context(), sealed)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "web", rec.VirtualKeyID)
	_, ok, _ = h.Lookup(t.Context(), sealed+"x")
	assert.False(t, ok)
}

func TestSealedRedeemEventError(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	cfg := baseConfig(newFakeProvider())
	cfg.SealKeys, cfg.Now = []realtimesecret.SealKey{sealKey1}, clock.Now
	var events []realtimesecret.RedeemEvent
	cfg.OnRedeem = func(ev realtimesecret.RedeemEvent) { events = append(events, ev) }
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	requireAPIError(t, do(t, h, http.MethodGet, "/v1/realtime", "", "Authorization", "Bearer ek_rs_bogus"), http.StatusUnauthorized)
	require.Len(t, events, 1)
	assert.False(t, events[0].Found)
	require.ErrorIs(t, events[0].Err, realtimesecret.ErrInvalidSealedToken)
}
