package redisstore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/redisstore"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// governanceCalls are the SessionRegistry calls a Store makes to Redis.
func governanceCalls(s *redisstore.Store) map[string]func(context.Context) error {
	later := func() time.Time { return time.Now().Add(time.Minute) }
	return map[string]func(context.Context) error{
		"Acquire": func(ctx context.Context) error {
			_, err := s.Acquire(ctx, "fault", "lease_fault", 1000, later())
			return err
		},
		"Release": func(ctx context.Context) error { return s.Release(ctx, "fault", "lease_fault") },
		"Track": func(ctx context.Context) error {
			return s.Track(ctx, contract.TrackedSession{ID: "sess_fault", Principal: "fault", Expires: later(), Deadline: later()})
		},
		"End":      func(ctx context.Context) error { _, err := s.End(ctx, "fault", "sess_fault", "hangup"); return err },
		"Sessions": func(ctx context.Context) error { _, err := s.Sessions(ctx, "fault"); return err },
		"ClaimDue": func(ctx context.Context) error { _, err := s.ClaimDue(ctx, time.Now(), 64); return err },
	}
}

// TestGovernanceRedisRestart stops Redis under governed Handlers: the
// registry's calls fail fast, a node that fails open still creates
// sessions (uncounted), one that fails closed (the default) answers 503
// governance_unavailable before anything reaches the provider, revocation
// reports the error, and the cap goroutine survives. A Redis restarted
// empty then counts sessions again, through the same Stores and Handlers,
// the one admitted during the outage included.
func TestGovernanceRedisRestart(t *testing.T) {
	verifyNoLeaks(t)
	srv := redistest.StartServer(t)
	const timeout = 500 * time.Millisecond
	store, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	up := newBrokerUpstream()
	web := realtimesecret.VirtualKey{MaxSessions: 1, MaxSession: time.Minute}
	bestEffort := governedNode(t, up, store, web, true)
	strict := governedNode(t, up, store, web, false)
	requireLive(t, bestEffort, vkValue)

	srv.Stop()
	requireFailsFast(t, governanceCalls(store), timeout)
	duringOutage := requireLive(t, bestEffort, vkValue) // fails open, as configured
	created := up.sessionCount()
	w := createLive(t, strict, vkValue)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	assert.Equal(t, "governance_unavailable", errorCode(t, w))
	assert.Equal(t, "1", w.Header().Get("Retry-After"), "retryable")
	assert.Equal(t, created, up.sessionCount(), "nothing reached the provider")
	_, err = strict.EndSessions(context.Background(), vkID)
	require.Error(t, err)

	srv.Start()
	requireRecovers(t, governanceCalls(store))
	require.NoError(t, store.Release(context.Background(), "fault", "lease_fault"))
	// The restarted Redis is empty, but the node that admitted a session
	// during the outage writes it now, with a lease, a cap and its record.
	require.Eventually(t, func() bool {
		ids, err := store.Sessions(context.Background(), vkID)
		return err == nil && len(ids) == 1 && ids[0] == duringOutage
	}, 10*time.Second, 20*time.Millisecond, "the session admitted during the outage is not governed")
	for _, h := range []*realtimesecret.Handler{strict, bestEffort} {
		assert.Equal(t, http.StatusTooManyRequests, createLive(t, h, vkValue).Code, "it counts against the limit")
	}
	n, err := strict.EndSessions(context.Background(), vkID)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "it can be revoked")
	assert.Equal(t, 1, up.hangupCounts()[duringOutage], "ended upstream with the key it was created with")
	requireLive(t, strict, vkValue)
	assert.Equal(t, http.StatusTooManyRequests, createLive(t, bestEffort, vkValue).Code, "the limit holds again")
}

// TestGovernanceRedisStalled freezes Redis (SIGSTOP) under governed
// Handlers: only the Store's per-call timeout ends the calls. Once it
// thaws, what it held still counts.
func TestGovernanceRedisStalled(t *testing.T) {
	verifyNoLeaks(t)
	const timeout = 500 * time.Millisecond
	srv, store := stallableStore(t, timeout)
	up := newBrokerUpstream()
	strict := governedNode(t, up, store, realtimesecret.VirtualKey{MaxSessions: 1}, false)
	requireLive(t, strict, vkValue)

	srv.Pause()
	requireFailsFast(t, governanceCalls(store), timeout)
	_, err := store.ClaimDue(context.Background(), time.Now(), 64)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, http.StatusServiceUnavailable, createLive(t, strict, vkValue).Code)

	srv.Resume()
	requireRecovers(t, governanceCalls(store))
	require.NoError(t, store.Release(context.Background(), "fault", "lease_fault"))
	assert.Equal(t, http.StatusTooManyRequests, createLive(t, strict, vkValue).Code, "the session held before the stall still counts")
	n, err := strict.EndSessions(context.Background(), vkID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	requireLive(t, strict, vkValue)
}

// TestGovernanceRedisKilledMidBurst: two nodes on one Redis take a
// 100-way burst of creations for a key with MaxSessions 2, and Redis is
// killed halfway. Governance fails closed: the upstream never holds more
// live sessions for the key than its limit.
func TestGovernanceRedisKilledMidBurst(t *testing.T) {
	verifyNoLeaks(t)
	srv := redistest.StartServer(t)
	const timeout = 300 * time.Millisecond
	store, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	up := newBrokerUpstream()
	web := realtimesecret.VirtualKey{MaxSessions: 2}
	nodes := []*realtimesecret.Handler{governedNode(t, up, store, web, false), governedNode(t, up, store, web, false)}

	var mu sync.Mutex
	codes := map[int]int{}
	wave := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				w := createLive(t, nodes[i%2], vkValue)
				mu.Lock()
				codes[w.Code]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	wave(50)
	srv.Stop()
	wave(50)

	assert.Equal(t, 2, codes[http.StatusCreated], "%v", codes)
	assert.Equal(t, 48, codes[http.StatusTooManyRequests], "%v", codes)
	assert.Equal(t, 50, codes[http.StatusServiceUnavailable], "refused while Redis is down: %v", codes)
	assert.LessOrEqual(t, up.sessionCount(), 2, "the upstream never held more than the limit")
}
