package realtimesecret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

func TestRedeemAttributesBearerAndSubprotocol(t *testing.T) {
	var events []realtimesecret.RedeemEvent
	cfg := baseConfig(newFakeProvider())
	cfg.OnRedeem = func(ev realtimesecret.RedeemEvent) { events = append(events, ev) }
	next := &nextRecorder{}
	h := realtimesecret.Middleware(cfg)(next)
	token := mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))

	for name, header := range map[string][]string{
		"bearer":      {"Authorization", "Bearer " + token},
		"subprotocol": {"Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + token + ", openai-beta.realtime-v1"},
	} {
		t.Run(name, func(t *testing.T) {
			w := do(t, h, http.MethodGet, "/v1/realtime?model=gpt-realtime", "", header...)
			require.Equal(t, nextStatus, w.Code)
			r := next.last(t)
			rec, ok := realtimesecret.FromContext(r.Context())
			require.True(t, ok)
			assert.Equal(t, "primary", rec.KeyID)
			assert.Equal(t, "web", rec.VirtualKeyID)
			assert.Equal(t, "openai", rec.Provider)
			assert.Equal(t, "gpt-realtime", rec.Model)
			assert.Equal(t, contract.EndpointClientSecret, rec.Endpoint)
			assert.Equal(t, header[1], r.Header.Get(header[0]), "the request goes on unchanged")
		})
	}
	require.Len(t, events, 2)
	assert.True(t, events[0].Found)
}

// A subprotocol carries a token only in a WebSocket handshake: a GET, or a
// CONNECT over HTTP/2 (RFC 8441). On any other method it is not read.
func TestRedeemSubprotocolOnlyOnHandshakeMethods(t *testing.T) {
	next := &nextRecorder{}
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(next)
	token := mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	proto := "realtime, openai-insecure-api-key." + token

	for method, attributed := range map[string]bool{
		http.MethodGet:     true,
		http.MethodConnect: true,
		http.MethodPost:    false,
		http.MethodPut:     false,
	} {
		t.Run(method, func(t *testing.T) {
			w := do(t, h, method, "/v1/realtime?model=gpt-realtime", "", "Sec-WebSocket-Protocol", proto)
			require.Equal(t, nextStatus, w.Code)
			_, ok := realtimesecret.FromContext(next.last(t).Context())
			assert.Equal(t, attributed, ok)
		})
	}
}

func TestRedeemUnknownTokenPassesWithoutRecord(t *testing.T) {
	var events []realtimesecret.RedeemEvent
	cfg := baseConfig(newFakeProvider())
	cfg.OnRedeem = func(ev realtimesecret.RedeemEvent) { events = append(events, ev) }
	next := &nextRecorder{}
	h := realtimesecret.Middleware(cfg)(next)
	w := do(t, h, http.MethodPost, "/v1/realtime/calls", "v=0", "Authorization", "Bearer ek_unknown")
	require.Equal(t, nextStatus, w.Code)
	_, ok := realtimesecret.FromContext(next.last(t).Context())
	assert.False(t, ok)
	require.Len(t, events, 1)
	assert.False(t, events[0].Found)
}

func TestRedeemExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := newFakeProvider()
	p.now, p.ttl = clock.Now, time.Minute
	cfg := baseConfig(p)
	cfg.Now = clock.Now
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	srv := h.Wrap(&nextRecorder{})
	token := mintedValue(t, do(t, srv, http.MethodPost, "/v1/realtime/sessions", `{"model":"openai/gpt-realtime"}`, "Authorization", "Bearer "+vkWeb))

	rec, ok, err := h.Lookup(t.Context(), token)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, contract.EndpointSession, rec.Endpoint)
	assert.Equal(t, clock.Now().Add(time.Minute).Unix(), rec.ExpiresAt.Unix())

	clock.Add(59 * time.Second)
	_, ok, _ = h.Lookup(t.Context(), token)
	assert.True(t, ok, "valid until expires_at")
	clock.Add(time.Second)
	_, ok, _ = h.Lookup(t.Context(), token)
	assert.False(t, ok, "gone at expires_at")
}

func TestRedeemExpiredOnArrivalIsNotStored(t *testing.T) {
	store := memory.NewStore()
	p := newFakeProvider()
	p.ttl = -time.Second
	cfg := baseConfig(p)
	cfg.Store = store
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	assert.Zero(t, store.Len())
}

func TestRedeemStoreHoldsNoUsableToken(t *testing.T) {
	store := &recordingStore{Store: memory.NewStore()}
	cfg := baseConfig(newFakeProvider())
	cfg.Store = store
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	token := mintedValue(t, do(t, h, http.MethodPost, "/v1/realtime/client_secrets", gaBody, "Authorization", "Bearer "+vkWeb))
	require.Len(t, store.hashes, 1)
	assert.Equal(t, contract.HashToken(token), store.hashes[0])
	assert.NotContains(t, string(store.hashes[0][:]), token)
}

type recordingStore struct {
	contract.Store
	hashes []contract.TokenHash
}

func (s *recordingStore) Put(ctx context.Context, h contract.TokenHash, rec realtimesecret.Record) error {
	s.hashes = append(s.hashes, h)
	return s.Store.Put(ctx, h, rec)
}

// TestPassThroughByteForByte proves a non-mint request reaches next as the
// client sent it, with the same ResponseWriter.
func TestPassThroughByteForByte(t *testing.T) {
	body := []byte("{\"model\":\"openai/gpt-realtime\"}\x00binary")
	var gotBody []byte
	var gotWriter http.ResponseWriter
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotWriter = w
		assert.Equal(t, "/v1/chat/completions", r.URL.Path)
		assert.Equal(t, "a=1", r.URL.RawQuery)
		assert.Equal(t, "Bearer sk-client", r.Header.Get("Authorization"))
		w.Header().Set("X-Next", "yes")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("from next"))
	})
	h := realtimesecret.Middleware(baseConfig(newFakeProvider()))(next)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions?a=1", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer sk-client")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, body, gotBody)
	assert.Same(t, w, gotWriter, "no wrapper around the ResponseWriter")
	assert.Equal(t, http.StatusTeapot, w.Code)
	assert.Equal(t, "from next", w.Body.String())
	_, ok := realtimesecret.FromContext(r.Context())
	assert.False(t, ok)
}

func TestFromContextNilSafe(t *testing.T) {
	_, ok := realtimesecret.FromContext(nil) //nolint:staticcheck // nil ctx is the point of the test
	assert.False(t, ok)
	rec := realtimesecret.Record{KeyID: "k"}
	got, ok := realtimesecret.FromContext(realtimesecrettest.NewContext(t.Context(), rec))
	assert.True(t, ok)
	assert.Equal(t, rec, got)
}

// TestConcurrentMintAndRedeem mints and redeems from many goroutines; run
// with -race.
func TestConcurrentMintAndRedeem(t *testing.T) {
	p := newFakeProvider()
	cfg := baseConfig(p)
	cfg.Providers[0].Keys = append(cfg.Providers[0].Keys, realtimesecret.Key{ID: "second", Value: "sk-2", Weight: 2})
	cfg.VirtualKeys[0].RateLimit = realtimesecret.Rate{Requests: 1 << 20, Per: time.Second}
	next := &nextRecorder{}
	h := realtimesecret.Middleware(cfg)(next)
	const workers, perWorker = 16, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				w := do(t, h, http.MethodPost, "/openai/v1/realtime/client_secrets", `{"session":{"model":"gpt-realtime"}}`, "Authorization", "Bearer "+vkWeb)
				if w.Code != http.StatusOK {
					errs <- w.Body.String()
					continue
				}
				token := tokenOf(w.Body.Bytes())
				r := httptest.NewRequest(http.MethodGet, "/v1/realtime", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	assert.Equal(t, workers*perWorker, p.count())
	next.mu.Lock()
	defer next.mu.Unlock()
	require.Len(t, next.reqs, workers*perWorker)
	for _, r := range next.reqs {
		rec, ok := realtimesecret.FromContext(r.Context())
		if assert.True(t, ok) {
			assert.Contains(t, []string{"primary", "second"}, rec.KeyID)
		}
	}
}

func tokenOf(body []byte) string {
	var v struct {
		Value string `json:"value"`
	}
	_ = json.Unmarshal(body, &v)
	return v.Value
}
