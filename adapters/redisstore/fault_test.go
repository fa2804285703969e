package redisstore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// mintEvents keeps the MintEvents of a Handler.
type mintEvents struct {
	mu  sync.Mutex
	evs []realtimesecret.MintEvent
}

func (m *mintEvents) add(ev realtimesecret.MintEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, ev)
}

func (m *mintEvents) last(t *testing.T) realtimesecret.MintEvent {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.NotEmpty(t, m.evs, "no mint was reported")
	return m.evs[len(m.evs)-1]
}

// storeCalls are the four calls a Store makes to Redis, for asserting all
// of them fail, or work, alike.
func storeCalls(s *redisstore.Store) map[string]func(context.Context) error {
	h := contract.HashToken("ek_fault")
	return map[string]func(context.Context) error{
		"Put":  func(ctx context.Context) error { return s.Put(ctx, h, record(time.Minute)) },
		"Get":  func(ctx context.Context) error { _, _, err := s.Get(ctx, h); return err },
		"Ping": func(ctx context.Context) error { return s.Ping(ctx) },
		"Allow": func(ctx context.Context) error {
			_, _, err := s.Allow(ctx, "fault", realtimesecret.Rate{Requests: 1000, Per: time.Second})
			return err
		},
	}
}

// requireFailsFast asserts every call (storeCalls, governanceCalls) fails,
// does not hang and names no key, principal or session ("fault") in its
// error. The bound is deliberately loose (a loaded CI machine stretches
// every call): in the stalled-Redis test the client's socket timeouts are a
// minute, so only a call cut off by the Store's own timeout meets it.
func requireFailsFast(t *testing.T, calls map[string]func(context.Context) error, timeout time.Duration) {
	t.Helper()
	for name, call := range calls {
		start := time.Now()
		err := call(context.Background())
		elapsed := time.Since(start)
		require.Error(t, err, "%s succeeded with Redis unavailable", name)
		assert.Less(t, elapsed, timeout+20*time.Second, "%s took %v to fail", name, elapsed)
		assert.NotContains(t, err.Error(), "fault", "%s: the error names what it was called with", name)
	}
}

// requireRecovers waits until every call works again. A Redis that was
// frozen has a backlog of stale connections to get through first, so a call
// that fails right after the first PING may still be retried.
func requireRecovers(t *testing.T, calls map[string]func(context.Context) error) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for name, call := range calls {
			assert.NoError(c, call(context.Background()), name)
		}
	}, 30*time.Second, 20*time.Millisecond, "the calls never worked again")
}

// TestRedisRestart stops Redis under running Handlers and starts it again on
// the same port: while it is down, calls fail fast, best-effort mints still
// succeed and strict ones answer 503; once it is back, the same Store and
// Handlers work again without being rebuilt.
func TestRedisRestart(t *testing.T) {
	srv := redistest.StartServer(t)
	const timeout = 500 * time.Millisecond
	store, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })

	up := newUpstream(t)
	rate := realtimesecret.Rate{Requests: 1000, Per: time.Minute}
	var events mintEvents
	bestEffort := newNode(t, up.URL, store, nodeOptions{rate: rate, onMint: events.add})
	strictLimited := newNode(t, up.URL, store, nodeOptions{strict: true, rate: rate})
	strictStore := newNode(t, up.URL, store, nodeOptions{strict: true})

	token := mintedToken(t, mint(t, bestEffort))
	_, ok, err := bestEffort.Lookup(context.Background(), token)
	require.NoError(t, err)
	require.True(t, ok)

	srv.Stop()
	requireFailsFast(t, storeCalls(store), timeout)

	token = mintedToken(t, mint(t, bestEffort))
	assert.Error(t, events.last(t).StoreErr, "a failed Put was not reported")
	_, ok, err = bestEffort.Lookup(context.Background(), token)
	assert.Error(t, err)
	assert.False(t, ok)
	for name, h := range map[string]*realtimesecret.Handler{"rate limited": strictLimited, "store only": strictStore} {
		w := mint(t, h)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "strict %s: %s", name, w.Body.String())
		assert.Equal(t, "store_unavailable", errorCode(t, w), "strict %s", name)
	}

	srv.Start()
	// The restarted Redis has an empty script cache, so Allow here also
	// proves the NOSCRIPT fallback to EVAL.
	requireRecovers(t, storeCalls(store))
	for _, h := range []*realtimesecret.Handler{bestEffort, strictLimited, strictStore} {
		requireMintsAndStores(t, h)
	}
	assert.NoError(t, events.last(t).StoreErr)
}

// requireMintsAndStores asserts h mints again and stores what it mints. It
// allows a retry: one slow call on a loaded machine is not what is tested.
func requireMintsAndStores(t *testing.T, h *realtimesecret.Handler) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		w := mint(t, h)
		if !assert.Equal(c, http.StatusOK, w.Code, w.Body.String()) {
			return
		}
		_, ok, err := h.Lookup(context.Background(), mintedToken(t, w))
		assert.NoError(c, err)
		assert.True(c, ok, "a token minted after Redis came back was not stored")
	}, 30*time.Second, 50*time.Millisecond)
}

// stallableStore returns a Store with the per-call timeout on a Redis
// that the test can freeze (srv.Pause). The client's own socket timeouts are
// a minute, so only the Store's timeout can end a call to a frozen Redis.
func stallableStore(t *testing.T, timeout time.Duration) (*redistest.Server, *redisstore.Store) {
	t.Helper()
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr(),
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Minute,
		ReadTimeout:           time.Minute,
		WriteTimeout:          time.Minute,
	})
	t.Cleanup(func() { _ = c.Close() })
	return srv, redisstore.New(c, redisstore.Options{Timeout: timeout})
}

// TestRedisStalled freezes Redis (SIGSTOP): connections hang instead of
// being refused, and only the Store's per-call timeout ends the calls.
func TestRedisStalled(t *testing.T) {
	const timeout = 500 * time.Millisecond
	srv, store := stallableStore(t, timeout)
	up := newUpstream(t)
	bestEffort := newNode(t, up.URL, store, nodeOptions{rate: realtimesecret.Rate{Requests: 1000, Per: time.Minute}})
	strict := newNode(t, up.URL, store, nodeOptions{strict: true})
	mintedToken(t, mint(t, bestEffort))

	srv.Pause()
	requireFailsFast(t, storeCalls(store), timeout)
	err := store.Ping(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	mintedToken(t, mint(t, bestEffort))
	w := mint(t, strict)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())

	srv.Resume()
	requireRecovers(t, storeCalls(store))
	requireMintsAndStores(t, strict)
}
