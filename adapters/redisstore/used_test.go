package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

func TestMarkUsedOnce(t *testing.T) {
	s, c, prefix := newTestStore(t, redisstore.Options{})
	h := contract.HashToken("ek_single")
	first, err := s.MarkUsed(t.Context(), h, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, first)
	first, err = s.MarkUsed(t.Context(), h, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, first)
	keys, err := c.Keys(t.Context(), prefix+"used:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ttl, err := c.TTL(t.Context(), keys[0]).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute.Seconds(), ttl.Seconds(), 2, "kept until the token expires")
}

// A single-use secret minted on one node is redeemed once across nodes
// that share the Redis: stored and sealed.
func TestSingleUseAcrossNodes(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "stored", true: "sealed"}[sealed], func(t *testing.T) {
			s1, _, prefix := newTestStore(t, redisstore.Options{})
			var n atomic.Int64
			provider := realtimesecrettest.ProviderFunc(func(context.Context, *contract.MintRequest) (*contract.Reply, error) {
				n.Add(1)
				return &contract.Reply{StatusCode: http.StatusOK,
					Body: []byte(`{"value":"ek_` + rand.Text() + `","expires_at":` + jsonInt(time.Now().Add(time.Minute).Unix()) + `}`)}, nil
			})
			cfg := realtimesecret.Config{
				Providers:   []realtimesecret.ProviderConfig{{Name: "openai", Provider: provider, Keys: []realtimesecret.Key{{ID: "k", Value: "sk-x"}}}},
				VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: "vk-web-0001", SingleUse: true}},
			}
			if sealed {
				cfg.SealKeys = []realtimesecret.SealKey{bytes.Repeat([]byte{5}, 32)}
			}
			var passed atomic.Int64
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { passed.Add(1); w.WriteHeader(299) })
			var nodes []http.Handler
			for _, st := range []*redisstore.Store{s1, redisstore.New(redistest.Client(t), redisstore.Options{Prefix: prefix, Timeout: testTimeout})} {
				c := cfg
				c.Store, c.SessionRegistry, c.RateLimiter = st, st, st
				h, err := realtimesecret.New(c)
				require.NoError(t, err)
				t.Cleanup(func() { _ = h.Close() })
				nodes = append(nodes, h.Wrap(next))
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/realtime/client_secrets", strings.NewReader(`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer vk-web-0001")
			w := httptest.NewRecorder()
			nodes[0].ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var minted struct{ Value string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &minted))

			var wg sync.WaitGroup
			codes := make(chan int, 20)
			for i := range 20 {
				wg.Go(func() {
					r := httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
					r.Header.Set("Authorization", "Bearer "+minted.Value)
					w := httptest.NewRecorder()
					nodes[i%2].ServeHTTP(w, r)
					codes <- w.Code
				})
			}
			wg.Wait()
			close(codes)
			count := map[int]int{}
			for c := range codes {
				count[c]++
			}
			assert.Equal(t, map[int]int{299: 1, http.StatusUnauthorized: 19}, count)
			assert.EqualValues(t, 1, passed.Load())
		})
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
