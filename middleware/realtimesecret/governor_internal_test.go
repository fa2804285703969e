package realtimesecret

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// testClock is a settable clock for the units' own tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failingRegistry fails Acquire, Track and ClaimDue while down is set.
type failingRegistry struct {
	contract.SessionRegistry
	mu   sync.Mutex
	down bool
}

var errRegistryDown = errors.New("registry down")

func (f *failingRegistry) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *failingRegistry) Acquire(ctx context.Context, principal, lease string, limit int, expires time.Time) (bool, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return false, errRegistryDown
	}
	return f.SessionRegistry.Acquire(ctx, principal, lease, limit, expires)
}

func (f *failingRegistry) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

func (f *failingRegistry) Track(ctx context.Context, s contract.TrackedSession) error {
	if f.isDown() {
		return errRegistryDown
	}
	return f.SessionRegistry.Track(ctx, s)
}

func (f *failingRegistry) ClaimDue(ctx context.Context, now time.Time, limit int) ([]contract.TrackedSession, error) {
	if f.isDown() {
		return nil, errRegistryDown
	}
	return f.SessionRegistry.ClaimDue(ctx, now, limit)
}

// endedSession is one call of a governor's endUpstream.
type endedSession struct {
	id  string
	how UsageEnd
}

// testGovernor is a governor on a memory registry and clock, whose
// sessions are recorded by id and ended into ended.
type testGovernor struct {
	*governor
	reg   *memory.SessionRegistry
	clock *testClock
	mu    sync.Mutex
	recs  map[string]Record
	ended []endedSession
}

func newTestGovernor(t *testing.T) *testGovernor {
	tg := &testGovernor{reg: memory.NewSessionRegistry(), clock: &testClock{t: time.Unix(1_800_000_000, 0)}, recs: map[string]Record{}}
	tg.governor = &governor{
		registry: tg.reg, local: true, now: tg.clock.now, log: slog.New(slog.DiscardHandler),
		lookup: func(_ context.Context, id string) (Record, bool, error) {
			tg.mu.Lock()
			defer tg.mu.Unlock()
			rec, ok := tg.recs[id]
			return rec, ok, nil
		},
		endUpstream: func(_ context.Context, _ *Record, id string, how UsageEnd) error {
			tg.mu.Lock()
			defer tg.mu.Unlock()
			tg.ended = append(tg.ended, endedSession{id: id, how: how})
			return nil
		},
	}
	t.Cleanup(tg.close)
	return tg
}

// create records and tracks a session of principal, capped at deadline
// unless it is zero.
func (tg *testGovernor) create(t *testing.T, principal, id string, deadline time.Time) {
	t.Helper()
	tg.mu.Lock()
	tg.recs[id] = Record{Provider: "openai", KeyID: "k", VirtualKeyID: principal, Endpoint: contract.EndpointCall}
	tg.mu.Unlock()
	require.NoError(t, tg.track(context.Background(), contract.TrackedSession{ID: id, Principal: principal,
		Deadline: deadline, Expires: tg.clock.now().Add(time.Hour)}, false, nil))
}

func (tg *testGovernor) endedSessions() []endedSession {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]endedSession(nil), tg.ended...)
}

func (tg *testGovernor) loopRunning() bool {
	tg.governor.mu.Lock()
	defer tg.governor.mu.Unlock()
	return tg.cancel != nil
}

func TestGovernorLeases(t *testing.T) {
	tg := newTestGovernor(t)
	ctx := context.Background()
	expires := tg.clock.now().Add(time.Hour)

	lease, e, storeErr := tg.acquire(ctx, Principal{ID: "web"}, expires)
	assert.Empty(t, lease, "no limit, no lease")
	assert.NoError(t, storeErr)
	assert.Nil(t, e)

	var leases []string
	for range 2 {
		lease, e, _ := tg.acquire(ctx, Principal{ID: "web", MaxSessions: 2}, expires)
		require.Nil(t, e)
		require.NotEmpty(t, lease)
		leases = append(leases, lease)
	}
	_, e, _ = tg.acquire(ctx, Principal{ID: "web", MaxSessions: 2}, expires)
	require.NotNil(t, e)
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, "too_many_sessions", e.Code)
	_, e, _ = tg.acquire(ctx, Principal{ID: "other", MaxSessions: 2}, expires)
	assert.Nil(t, e, "limits are per principal")

	tg.release(ctx, "web", leases[0])
	_, e, _ = tg.acquire(ctx, Principal{ID: "web", MaxSessions: 2}, expires)
	assert.Nil(t, e, "a released lease is free again")
}

// TestGovernorLeaseWhenTheRegistryFails: a registry that cannot answer
// refuses the session, retryable (503 governance_unavailable), unless
// governance fails open for everyone or for the principal: the session
// then goes on without a lease, and storeErr says why.
func TestGovernorLeaseWhenTheRegistryFails(t *testing.T) {
	tg := newTestGovernor(t)
	reg := &failingRegistry{SessionRegistry: tg.reg}
	reg.setDown(true)
	tg.registry = reg
	ctx := context.Background()
	web := Principal{ID: "web", MaxSessions: 1}
	expires := tg.clock.now().Add(time.Hour)

	lease, e, storeErr := tg.acquire(ctx, web, expires)
	assert.Empty(t, lease)
	assert.ErrorIs(t, storeErr, errRegistryDown)
	require.NotNil(t, e, "fails closed by default")
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
	assert.Equal(t, "governance_unavailable", e.Code)
	assert.Equal(t, "1", e.Header.Get("Retry-After"), "retryable")
	assert.ErrorIs(t, e, errRegistryDown)

	web.GovernanceFailOpen = true
	lease, e, storeErr = tg.acquire(ctx, web, expires)
	assert.Empty(t, lease)
	assert.Nil(t, e, "open for this principal")
	assert.ErrorIs(t, storeErr, errRegistryDown)

	tg.failOpen = true
	_, e, _ = tg.acquire(ctx, Principal{ID: "other", MaxSessions: 1}, expires)
	assert.Nil(t, e, "open for everyone")

	reg.setDown(false)
	tg.failOpen = false
	lease, e, storeErr = tg.acquire(ctx, web, expires)
	assert.NotEmpty(t, lease)
	assert.Nil(t, e)
	assert.NoError(t, storeErr)
}

// TestGovernorCapEndsAtItsDeadlineThenStops: on the fake clock, a cap ends
// its session only once its deadline has passed, and the local cap loop
// stops once no cap is pending, until the next capped session.
func TestGovernorCapEndsAtItsDeadlineThenStops(t *testing.T) {
	tg := newTestGovernor(t)
	deadline := tg.clock.now().Add(time.Minute)
	tg.create(t, "web", "rtc_1", deadline)
	tg.create(t, "web", "rtc_2", time.Time{}) // no cap
	require.True(t, tg.loopRunning(), "a capped session starts the loop")

	time.Sleep(3 * capInterval) // the loop claims on the real ticker, the deadline is on the fake clock
	assert.Empty(t, tg.endedSessions(), "not before its deadline")
	assert.True(t, tg.loopRunning())

	tg.clock.add(time.Minute)
	require.Eventually(t, func() bool { return len(tg.endedSessions()) == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []endedSession{{id: "rtc_1", how: UsageCap}}, tg.endedSessions())
	require.Eventually(t, func() bool { return !tg.loopRunning() }, 10*time.Second, 10*time.Millisecond,
		"no cap pending: the loop stops")
	ids, err := tg.reg.Sessions(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, []string{"rtc_2"}, ids, "the capped session is no longer tracked")

	tg.create(t, "web", "rtc_3", tg.clock.now().Add(time.Second))
	assert.True(t, tg.loopRunning(), "the next cap starts it again")
	tg.close()
	assert.False(t, tg.loopRunning())
	tg.create(t, "web", "rtc_4", tg.clock.now().Add(time.Second))
	assert.False(t, tg.loopRunning(), "nothing starts after close")
}

// TestGovernorRevokeEndsOnePrincipalsSessionsOnce: revocation ends every
// session of its principal, each once, and no other's.
func TestGovernorRevokeEndsOnePrincipalsSessionsOnce(t *testing.T) {
	tg := newTestGovernor(t)
	for _, id := range []string{"rtc_1", "rtc_2", "sess_3"} {
		tg.create(t, "web", id, time.Time{})
	}
	tg.create(t, "other", "rtc_9", time.Time{})

	n, err := tg.revoke(context.Background(), "web")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.ElementsMatch(t, []endedSession{{"rtc_1", UsageRevoked}, {"rtc_2", UsageRevoked}, {"sess_3", UsageRevoked}}, tg.endedSessions())

	n, err = tg.revoke(context.Background(), "web")
	require.NoError(t, err)
	assert.Zero(t, n, "ended already")
	require.NoError(t, tg.governor.ended(context.Background(), "other", "rtc_9", UsageHangup)) // hung up by its owner
	ended, err := tg.endSession(context.Background(), "other", "rtc_9", UsageCap)
	require.NoError(t, err)
	assert.False(t, ended, "a session that ended by other means is left alone")
	assert.Len(t, tg.endedSessions(), 3)
}
