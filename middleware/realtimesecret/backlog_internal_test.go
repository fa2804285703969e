package realtimesecret

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// TestBacklogGovernsSessionsCreatedDuringAnOutage: with the registry down,
// governance failing open admits sessions without a lease and cannot track
// them; once the registry answers, each is written with a lease (counted
// against MaxSessions beyond the limit: it exists), and a cap that fell
// due during the outage fires then.
func TestBacklogGovernsSessionsCreatedDuringAnOutage(t *testing.T) {
	tg := newTestGovernor(t)
	reg := &failingRegistry{SessionRegistry: tg.reg}
	tg.registry = reg
	tg.local = false // the loop runs until close, as with a shared registry
	reg.setDown(true)
	ctx := context.Background()
	web := Principal{ID: "web", MaxSessions: 1, GovernanceFailOpen: true}
	now := tg.clock.now()

	for _, s := range []contract.TrackedSession{
		{ID: "rtc_capped", Principal: "web", Deadline: now.Add(time.Minute), Expires: now.Add(time.Hour)},
		{ID: "rtc_1", Principal: "web", Expires: now.Add(time.Hour)},
		{ID: "rtc_2", Principal: "web", Expires: now.Add(time.Hour)},
	} {
		lease, e, storeErr := tg.acquire(ctx, web, s.Expires)
		require.Nil(t, e, "admitted: governance fails open for web")
		require.ErrorIs(t, storeErr, errRegistryDown)
		require.Empty(t, lease)
		tg.mu.Lock()
		tg.recs[s.ID] = Record{Provider: "openai", KeyID: "k", VirtualKeyID: "web", Endpoint: contract.EndpointCall}
		tg.mu.Unlock()
		require.ErrorIs(t, tg.track(ctx, s, true, nil), errRegistryDown)
	}
	time.Sleep(3 * capInterval) // loop rounds against the registry that is down
	assert.False(t, tg.pending.empty(), "kept while the registry is down")

	tg.clock.add(2 * time.Minute) // the cap falls due during the outage
	reg.setDown(false)
	require.Eventually(t, func() bool { return len(tg.endedSessions()) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the cap that fell due during the outage fires when it ends")
	assert.Equal(t, []endedSession{{id: "rtc_capped", how: UsageCap}}, tg.endedSessions())
	assert.True(t, tg.pending.empty())

	ids, err := tg.reg.Sessions(ctx, "web")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"rtc_1", "rtc_2"}, ids, "tracked: revocable")
	ok, err := tg.reg.Acquire(ctx, "web", "lease_next", web.MaxSessions, now.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, ok, "both hold leases: web is over its limit until one ends")

	n, err := tg.revoke(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	ok, err = tg.reg.Acquire(ctx, "web", "lease_next", web.MaxSessions, now.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, ok, "their ends released the leases")
}

// TestBacklogIsBounded: a registry that never answers cannot grow the
// backlog past maxBacklog; the oldest are given up first.
func TestBacklogIsBounded(t *testing.T) {
	var b backlog
	for i := range maxBacklog + 5 {
		b.add(pendingSession{s: contract.TrackedSession{ID: string(rune('a' + i%26))}})
	}
	items := b.take()
	assert.Len(t, items, maxBacklog)
	assert.True(t, b.empty())
	b.putBack(items[1:])
	b.add(pendingSession{s: contract.TrackedSession{ID: "last"}})
	items = b.take()
	assert.Equal(t, "last", items[len(items)-1].s.ID, "put back before what was added since")
}
