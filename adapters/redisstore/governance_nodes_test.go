package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

func TestGovernanceMaxSessionsAcrossTwoNodes(t *testing.T) {
	verifyNoLeaks(t)
	up := newBrokerUpstream()
	nodes := governedNodes(t, up, 2, realtimesecret.VirtualKey{MaxSessions: 2})
	a, b := nodes[0], nodes[1]

	first := requireLive(t, a, vkValue)
	requireLive(t, b, vkValue)
	for i, h := range nodes {
		w := createLive(t, h, vkValue)
		require.Equal(t, http.StatusTooManyRequests, w.Code, "node %d let a third session through: %s", i, w.Body.String())
		assert.Equal(t, "too_many_sessions", errorCode(t, w))
	}
	requireLive(t, b, otherVKValue) // another key has its own sessions

	w := hangUp(t, b, vkValue, first)
	require.Equal(t, http.StatusOK, w.Code, "hanging up on b a session created on a: %s", w.Body.String())
	requireLive(t, a, vkValue) // the hang-up on b freed a slot for a
	for i, h := range nodes {
		assert.Equal(t, http.StatusTooManyRequests, createLive(t, h, vkValue).Code, "node %d", i)
	}
	assert.Equal(t, map[string]int{first: 1}, up.hangupCounts())
}

// TestLeaseFreedByWebSocketCloseAndCapAcrossNodes holds the one session a
// key may have as a WebSocket redemption on node a, then as a brokered
// session on node b, and has each end free the slot for the other node:
// the WebSocket by closing, the session by its cap.
func TestLeaseFreedByWebSocketCloseAndCapAcrossNodes(t *testing.T) {
	verifyNoLeaks(t)
	up := newBrokerUpstream()
	const maxSession = time.Second
	nodes := governedNodes(t, up, 2, realtimesecret.VirtualKey{MaxSessions: 1, MaxSession: maxSession})
	a, b := nodes[0], nodes[1]

	token := mintedToken(t, mint(t, a))
	upgraded, release := make(chan struct{}), make(chan struct{})
	proxied := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(upgraded)
		<-release // the proxied WebSocket is open until this returns
		w.WriteHeader(http.StatusSwitchingProtocols)
	})
	done := make(chan int)
	go func() {
		r := httptest.NewRequest(http.MethodGet, "/v1/realtime?model=gpt-realtime", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Connection", "Upgrade")
		w := httptest.NewRecorder()
		a.Wrap(proxied).ServeHTTP(w, r)
		done <- w.Code
	}()
	<-upgraded
	w := createLive(t, b, vkValue)
	require.Equal(t, http.StatusTooManyRequests, w.Code, "the WebSocket on a holds the slot: %s", w.Body.String())
	assert.Equal(t, "too_many_sessions", errorCode(t, w))
	close(release)
	require.Equal(t, http.StatusSwitchingProtocols, <-done)

	id := requireLive(t, b, vkValue) // the closed WebSocket freed the slot
	assert.Equal(t, http.StatusTooManyRequests, createLive(t, a, vkValue).Code)
	require.Eventually(t, func() bool { return createLive(t, a, vkValue).Code == http.StatusCreated },
		maxSession+10*time.Second, 50*time.Millisecond, "the cap did not free the slot")
	// The lease lapses at the cap deadline on its own, so the slot may be
	// free a moment before the cap's hang-up is sent.
	require.Eventually(t, func() bool { return up.hangupCounts()[id] == 1 }, 10*time.Second, 20*time.Millisecond,
		"the capped session was not hung up")
}

// TestCapEnforcedByTheSurvivingNode has node a create sessions with a 3 s
// cap and close (as a node that dies or restarts does) well before their
// deadline: node b, which never saw them, ends each of them within 2 s of
// its deadline, and exactly once.
func TestCapEnforcedByTheSurvivingNode(t *testing.T) {
	verifyNoLeaks(t)
	up := newBrokerUpstream()
	const maxSession = 3 * time.Second
	nodes := governedNodes(t, up, 2, realtimesecret.VirtualKey{MaxSession: maxSession})
	a, b := nodes[0], nodes[1]
	created := []string{requireLive(t, a, vkValue), requireLive(t, a, vkValue), requireLive(t, b, vkValue)}
	require.NoError(t, a.Close())
	requireEachHungUpOnce(t, up, created, maxSession)
}

// TestCapEnforcedOnceByLiveNodes has three live nodes, all claiming due
// caps, end sessions created on any of them: each is hung up exactly once.
func TestCapEnforcedOnceByLiveNodes(t *testing.T) {
	verifyNoLeaks(t)
	up := newBrokerUpstream()
	const maxSession = time.Second
	nodes := governedNodes(t, up, 3, realtimesecret.VirtualKey{MaxSession: maxSession})
	var created []string
	for i := range 12 {
		created = append(created, requireLive(t, nodes[i%len(nodes)], vkValue))
	}
	requireEachHungUpOnce(t, up, created, maxSession)
}

// requireEachHungUpOnce waits until every session of ids has been hung up,
// asserts each was within 2 s of its cap and not before it, then that no
// session is hung up twice in the next few claim rounds.
func requireEachHungUpOnce(t *testing.T, up *brokerUpstream, ids []string, maxSession time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return len(up.hangupCounts()) == len(ids) },
		maxSession+10*time.Second, 20*time.Millisecond, "not every capped session was ended")
	for _, id := range ids {
		after := up.hungUpAfter(id)
		assert.GreaterOrEqual(t, after, maxSession, "session %s ended before its cap", id)
		assert.LessOrEqual(t, after, maxSession+2*time.Second, "session %s ended more than 2 s after its cap", id)
	}
	twice := func() bool {
		for _, n := range up.hangupCounts() {
			if n != 1 {
				return true
			}
		}
		return false
	}
	assert.Never(t, twice, time.Second, 50*time.Millisecond, "a cap was enforced twice: %v", up.hangupCounts())
	assert.Len(t, up.hangupCounts(), len(ids))
}

func TestGovernanceEndSessionsAcrossNodes(t *testing.T) {
	verifyNoLeaks(t)
	up := newBrokerUpstream()
	nodes := governedNodes(t, up, 2, realtimesecret.VirtualKey{MaxSessions: 3})
	a, b := nodes[0], nodes[1]
	web := []string{requireLive(t, a, vkValue), requireLive(t, a, vkValue), requireLive(t, b, vkValue)}
	other := requireLive(t, a, otherVKValue)

	n, err := b.EndSessions(context.Background(), vkID)
	require.NoError(t, err)
	assert.Equal(t, len(web), n)
	want := map[string]int{}
	for _, id := range web {
		want[id] = 1
	}
	assert.Equal(t, want, up.hangupCounts(), "the other key's %s is left alone", other)

	n, err = a.EndSessions(context.Background(), vkID)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is left to end, on any node")
	for range 3 {
		requireLive(t, a, vkValue) // ended sessions hold no lease
	}
	assert.Equal(t, http.StatusOK, hangUp(t, a, otherVKValue, other).Code, "the other key's session still runs")
}
