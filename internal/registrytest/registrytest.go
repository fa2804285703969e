// Package registrytest is a conformance suite for
// contract.SessionRegistry implementations: the in-process one of the
// core and the Redis one of adapters/redisstore run the same cases, so that
// a deployment behaves alike on one node and on many.
//
// The package is internal: it is test tooling, not API.
package registrytest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// expiryTolerance is how far an Expires a registry returns may be from the
// one tracked: a shared registry keeps whole milliseconds on its own clock,
// and a loaded CI machine stretches the round trips in between.
const expiryTolerance = 500 * time.Millisecond

// clockSlack is how far from a boundary the cases put the times they
// test it with: a shared registry keeps times on its own clock, moved over
// as offsets from the caller's, which is exact only to the millisecond and
// the jitter of a round trip.
const clockSlack = 50 * time.Millisecond

// lapse is how soon the leases and sessions of the expiry cases lapse.
const lapse = 100 * time.Millisecond

// waitFor bounds the polls for something that lapses after lapse.
const waitFor = 10 * time.Second

// Run runs the conformance cases, each as a subtest on a registry of its
// own from newRegistry.
func Run(t *testing.T, newRegistry func(t *testing.T) contract.SessionRegistry) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newRegistry(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, r contract.SessionRegistry)
}{
	{name: "Acquire up to the limit", run: acquireUpToLimit},
	{name: "Acquire again refreshes a held lease", run: acquireAgain},
	{name: "Release frees a slot", run: releaseFreesASlot},
	{name: "Leases lapse at their expiry", run: leasesLapse},
	{name: "Track and Sessions", run: trackAndSessions},
	{name: "Sessions skip expired ones", run: sessionsSkipExpired},
	{name: "Track forgets expired sessions and their leases", run: trackForgetsExpired},
	{name: "End once, with its lease", run: endOnce},
	{name: "Ended says how, until the session would have expired", run: endedSaysHow},
	{name: "ClaimDue claims each due deadline once", run: claimDue},
	{name: "ClaimDue honours its limit", run: claimDueLimit},
	{name: "ClaimDue skips ended sessions", run: claimDueSkipsEnded},
	{name: "Track again replaces the deadline", run: trackAgainReplacesDeadline},
	{name: "Principals and ids of any bytes", run: anyBytes},
	{name: "Concurrent Acquire takes exactly the limit", run: concurrentAcquire},
	{name: "Concurrent End ends once", run: concurrentEnd},
	{name: "Concurrent ClaimDue claims each deadline once", run: concurrentClaimDue},
	{name: "ClaimUnwatched adopts lapsed watches once", run: claimUnwatched},
	{name: "Watch extends only the watches there are", run: watchExtends},
	{name: "Concurrent ClaimUnwatched adopts each session once", run: concurrentClaimUnwatched},
}

var ctx = context.Background()

func hour() time.Time { return time.Now().Add(time.Hour) }

func acquire(t *testing.T, r contract.Leases, principal, lease string, limit int, expires time.Time) bool {
	t.Helper()
	ok, err := r.Acquire(ctx, principal, lease, limit, expires)
	require.NoError(t, err)
	return ok
}

func track(t *testing.T, r contract.SessionTracker, s contract.TrackedSession) {
	t.Helper()
	require.NoError(t, r.Track(ctx, s))
}

func end(t *testing.T, r contract.SessionTracker, principal, id string) bool {
	t.Helper()
	ended, err := r.End(ctx, principal, id, "hangup")
	require.NoError(t, err)
	return ended
}

func endedAs(t require.TestingT, r contract.SessionTracker, principal, id string) string {
	how, err := r.Ended(ctx, principal, id)
	require.NoError(t, err)
	return how
}

func sessions(t require.TestingT, r contract.SessionTracker, principal string) []string {
	ids, err := r.Sessions(ctx, principal)
	require.NoError(t, err)
	return ids
}

func claim(t *testing.T, r contract.SessionTracker, now time.Time, limit int) []contract.TrackedSession {
	t.Helper()
	due, err := r.ClaimDue(ctx, now, limit)
	require.NoError(t, err)
	return due
}

func ids(due []contract.TrackedSession) []string {
	out := make([]string, 0, len(due))
	for _, s := range due {
		out = append(out, s.ID)
	}
	return out
}

func acquireUpToLimit(t *testing.T, r contract.SessionRegistry) {
	assert.True(t, acquire(t, r, "web", "l1", 2, hour()))
	assert.True(t, acquire(t, r, "web", "l2", 2, hour()))
	assert.False(t, acquire(t, r, "web", "l3", 2, hour()), "a third lease with a limit of 2")
	assert.True(t, acquire(t, r, "other", "l3", 2, hour()), "another principal has leases of its own")
	assert.False(t, acquire(t, r, "none", "l1", 0, hour()), "a limit of 0 admits nothing")
}

func acquireAgain(t *testing.T, r contract.SessionRegistry) {
	require.True(t, acquire(t, r, "web", "l1", 1, hour()))
	assert.True(t, acquire(t, r, "web", "l1", 1, hour()), "the held lease, at the limit")
	assert.False(t, acquire(t, r, "web", "l2", 1, hour()))
	// Acquiring it again with an expiry gone by lets it lapse: the expiry
	// is the last one given.
	assert.True(t, acquire(t, r, "web", "l1", 1, time.Now().Add(-time.Second)))
	assert.True(t, acquire(t, r, "web", "l2", 1, hour()), "the lease kept its first expiry")
}

func releaseFreesASlot(t *testing.T, r contract.SessionRegistry) {
	require.True(t, acquire(t, r, "web", "l1", 1, hour()))
	require.False(t, acquire(t, r, "web", "l2", 1, hour()))
	require.NoError(t, r.Release(ctx, "web", "l1"))
	assert.True(t, acquire(t, r, "web", "l2", 1, hour()))
	require.NoError(t, r.Release(ctx, "web", "never held"), "releasing a lease not held")
	require.NoError(t, r.Release(ctx, "nobody", "l1"))
	assert.False(t, acquire(t, r, "web", "l3", 1, hour()), "releasing another lease freed nothing")
}

func leasesLapse(t *testing.T, r contract.SessionRegistry) {
	require.True(t, acquire(t, r, "web", "l1", 1, time.Now().Add(lapse)))
	require.False(t, acquire(t, r, "web", "l2", 1, hour()))
	require.Eventually(t, func() bool { return acquire(t, r, "web", "l2", 1, hour()) },
		waitFor, 10*time.Millisecond, "a lease never lapsed")
}

func trackAndSessions(t *testing.T, r contract.SessionRegistry) {
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: hour()})
	track(t, r, contract.TrackedSession{ID: "sess_2", Principal: "web", Lease: "l2", Expires: hour(), Deadline: hour()})
	track(t, r, contract.TrackedSession{ID: "rtc_3", Principal: "other", Expires: hour()})
	assert.ElementsMatch(t, []string{"rtc_1", "sess_2"}, sessions(t, r, "web"))
	assert.Equal(t, []string{"rtc_3"}, sessions(t, r, "other"))
	assert.Empty(t, sessions(t, r, "nobody"))
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: hour()})
	assert.Len(t, sessions(t, r, "web"), 2, "tracking a session again keeps one")
}

func sessionsSkipExpired(t *testing.T, r contract.SessionRegistry) {
	track(t, r, contract.TrackedSession{ID: "short", Principal: "web", Expires: time.Now().Add(lapse)})
	track(t, r, contract.TrackedSession{ID: "long", Principal: "web", Expires: hour()})
	require.Eventually(t, func() bool {
		ids := sessions(t, r, "web")
		return len(ids) == 1 && ids[0] == "long"
	}, waitFor, 10*time.Millisecond, "an expired session is still listed")
}

func trackForgetsExpired(t *testing.T, r contract.SessionRegistry) {
	require.True(t, acquire(t, r, "web", "l1", 1, hour()))
	track(t, r, contract.TrackedSession{ID: "short", Principal: "web", Lease: "l1", Expires: time.Now().Add(lapse)})
	require.Eventually(t, func() bool { return len(sessions(t, r, "web")) == 0 }, waitFor, 10*time.Millisecond)
	require.False(t, acquire(t, r, "web", "l2", 1, hour()), "the expired session's lease is held until the next Track")
	track(t, r, contract.TrackedSession{ID: "next", Principal: "web", Expires: hour()})
	assert.True(t, acquire(t, r, "web", "l2", 1, hour()), "Track released the expired session's lease")
	assert.False(t, end(t, r, "web", "short"), "an expired session was ended")
}

func endOnce(t *testing.T, r contract.SessionRegistry) {
	require.True(t, acquire(t, r, "web", "l1", 1, hour()))
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Lease: "l1", Expires: hour(), Deadline: hour()})
	track(t, r, contract.TrackedSession{ID: "rtc_2", Principal: "web", Expires: hour()})
	assert.False(t, end(t, r, "other", "rtc_1"), "another principal's session")
	assert.True(t, end(t, r, "web", "rtc_1"))
	assert.False(t, end(t, r, "web", "rtc_1"), "ended twice")
	assert.False(t, end(t, r, "web", "rtc_9"), "never tracked")
	assert.Equal(t, []string{"rtc_2"}, sessions(t, r, "web"))
	assert.True(t, acquire(t, r, "web", "l2", 1, hour()), "End released the lease")
	assert.Empty(t, claim(t, r, time.Now().Add(2*time.Hour), 10), "End dropped the deadline")
}

func endedSaysHow(t *testing.T, r contract.SessionRegistry) {
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: hour()})
	track(t, r, contract.TrackedSession{ID: "rtc_2", Principal: "web", Expires: time.Now().Add(lapse)})
	assert.Empty(t, endedAs(t, r, "web", "rtc_1"), "a live session")
	assert.Empty(t, endedAs(t, r, "web", "rtc_9"), "never tracked")

	ok, err := r.End(ctx, "web", "rtc_1", "cap")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "cap", endedAs(t, r, "web", "rtc_1"))
	assert.Empty(t, endedAs(t, r, "other", "rtc_1"), "another principal's session of that id")
	ok, err = r.End(ctx, "web", "rtc_1", "hangup")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, "cap", endedAs(t, r, "web", "rtc_1"), "the first End's how stays")

	require.True(t, end(t, r, "web", "rtc_2"))
	assert.Equal(t, "hangup", endedAs(t, r, "web", "rtc_2"))
	require.Eventually(t, func() bool { return endedAs(t, r, "web", "rtc_2") == "" }, waitFor, 10*time.Millisecond,
		"forgotten when the session would have expired")
}

func adopt(t require.TestingT, r contract.SessionTracker) []contract.TrackedSession {
	out, err := r.ClaimUnwatched(ctx, time.Now(), hour(), 10)
	require.NoError(t, err)
	return out
}

// adoptFor returns what ClaimUnwatched adopts over d. It polls in the
// test's goroutine: assert.Never's condition may outlive the test.
func adoptFor(t *testing.T, r contract.SessionTracker, d time.Duration) []contract.TrackedSession {
	var out []contract.TrackedSession
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		out = append(out, adopt(t, r)...)
	}
	return out
}

func claimUnwatched(t *testing.T, r contract.SessionRegistry) {
	soon := time.Now().Add(lapse)
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Lease: "l1", Expires: hour(), Deadline: hour(), Watched: soon})
	track(t, r, contract.TrackedSession{ID: "rtc_2", Principal: "web", Expires: hour(), Watched: hour()})
	track(t, r, contract.TrackedSession{ID: "rtc_3", Principal: "web", Expires: hour()}) // not metered
	track(t, r, contract.TrackedSession{ID: "rtc_4", Principal: "web", Expires: hour(), Watched: soon})
	require.True(t, end(t, r, "web", "rtc_4"))
	assert.Empty(t, adopt(t, r), "no watch lapsed yet")

	var adopted []contract.TrackedSession
	require.Eventually(t, func() bool { adopted = append(adopted, adopt(t, r)...); return len(adopted) > 0 },
		waitFor, 10*time.Millisecond)
	require.Len(t, adopted, 1, "only the tracked session whose watch lapsed")
	got := adopted[0]
	assert.Equal(t, "rtc_1", got.ID)
	assert.Equal(t, "web", got.Principal)
	assert.Equal(t, "l1", got.Lease)
	assert.WithinDuration(t, hour(), got.Expires, expiryTolerance)
	assert.WithinDuration(t, hour(), got.Watched, expiryTolerance, "watched for the caller now")
	assert.Zero(t, got.Deadline)
	assert.Empty(t, adoptFor(t, r, 3*lapse), "adopted once")
	assert.Len(t, claim(t, r, time.Now().Add(2*time.Hour), 10), 1, "its cap is still ClaimDue's")
}

func watchExtends(t *testing.T, r contract.SessionRegistry) {
	soon := time.Now().Add(lapse)
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: hour(), Watched: soon})
	track(t, r, contract.TrackedSession{ID: "rtc_2", Principal: "web", Expires: hour(), Watched: soon})
	track(t, r, contract.TrackedSession{ID: "rtc_3", Principal: "web", Expires: hour()})
	require.NoError(t, r.Watch(ctx, []contract.SessionRef{
		{Principal: "web", ID: "rtc_1"}, {Principal: "web", ID: "rtc_3"}, {Principal: "web", ID: "rtc_9"},
	}, hour()))
	var adopted []contract.TrackedSession
	require.Eventually(t, func() bool { adopted = append(adopted, adopt(t, r)...); return len(adopted) > 0 },
		waitFor, 10*time.Millisecond)
	assert.Equal(t, []string{"rtc_2"}, ids(adopted), "rtc_1 was renewed; rtc_3 and rtc_9 have no watch to renew")
	assert.Empty(t, adoptFor(t, r, 3*lapse))
	require.NoError(t, r.Watch(ctx, nil, hour()), "no sessions")
}

func concurrentClaimUnwatched(t *testing.T, r contract.SessionRegistry) {
	const n = 20
	past := time.Now().Add(-time.Second)
	for i := range n {
		track(t, r, contract.TrackedSession{ID: "rtc_" + strconv.Itoa(i), Principal: "web", Expires: hour(), Watched: past})
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				got, err := r.ClaimUnwatched(ctx, time.Now(), hour(), 3)
				assert.NoError(t, err)
				mu.Lock()
				for _, s := range got {
					seen[s.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, n, "every lapsed session adopted")
	for id, times := range seen {
		assert.Equal(t, 1, times, "%s adopted %d times", id, times)
	}
}

func claimDue(t *testing.T, r contract.SessionRegistry) {
	now := time.Now()
	expires := now.Add(time.Hour)
	track(t, r, contract.TrackedSession{ID: "due", Principal: "web", Lease: "l1", Expires: expires, Deadline: now.Add(-time.Second)})
	track(t, r, contract.TrackedSession{ID: "just", Principal: "web", Expires: expires, Deadline: now.Add(-clockSlack)})
	track(t, r, contract.TrackedSession{ID: "soon", Principal: "other", Expires: expires, Deadline: now.Add(clockSlack)})
	track(t, r, contract.TrackedSession{ID: "later", Principal: "other", Expires: expires, Deadline: now.Add(time.Hour)})
	track(t, r, contract.TrackedSession{ID: "uncapped", Principal: "web", Expires: expires})

	due := claim(t, r, now, 10)
	require.ElementsMatch(t, []string{"due", "just"}, ids(due), "deadlines before now are due, and only they")
	for _, s := range due {
		assert.Equal(t, "web", s.Principal)
		assert.WithinDuration(t, expires, s.Expires, expiryTolerance)
		assert.Zero(t, s.Deadline, "a claimed session's deadline is cleared")
		if s.ID == "due" {
			assert.Equal(t, "l1", s.Lease)
		} else {
			assert.Empty(t, s.Lease)
		}
	}
	assert.Empty(t, claim(t, r, now, 10), "claimed twice")
	assert.ElementsMatch(t, []string{"due", "just", "uncapped"}, sessions(t, r, "web"), "claimed sessions are still tracked")
	assert.True(t, end(t, r, "web", "due"), "the claimer ends what it claimed")

	due = claim(t, r, now.Add(2*time.Hour), 10)
	assert.ElementsMatch(t, []string{"soon", "later"}, ids(due))
	for _, s := range due {
		assert.Equal(t, "other", s.Principal)
	}
	assert.Empty(t, claim(t, r, now.Add(2*time.Hour), 10))
}

func claimDueLimit(t *testing.T, r contract.SessionRegistry) {
	now := time.Now()
	for i := range 5 {
		track(t, r, contract.TrackedSession{ID: "s" + strconv.Itoa(i), Principal: "web", Expires: hour(),
			Deadline: now.Add(-clockSlack - time.Duration(i)*time.Second)})
	}
	var got []string
	for _, want := range []int{2, 2, 1, 0} {
		due := claim(t, r, now, 2)
		require.Len(t, due, want)
		got = append(got, ids(due)...)
	}
	assert.ElementsMatch(t, []string{"s0", "s1", "s2", "s3", "s4"}, got)
}

func claimDueSkipsEnded(t *testing.T, r contract.SessionRegistry) {
	now := time.Now()
	track(t, r, contract.TrackedSession{ID: "ended", Principal: "web", Expires: hour(), Deadline: now.Add(-time.Second)})
	track(t, r, contract.TrackedSession{ID: "live", Principal: "web", Expires: hour(), Deadline: now.Add(-time.Second)})
	require.True(t, end(t, r, "web", "ended"))
	assert.Equal(t, []string{"live"}, ids(claim(t, r, now, 1)), "an ended session took the only place")
}

func trackAgainReplacesDeadline(t *testing.T, r contract.SessionRegistry) {
	now := time.Now()
	track(t, r, contract.TrackedSession{ID: "moved", Principal: "web", Expires: hour(), Deadline: now.Add(-time.Second)})
	track(t, r, contract.TrackedSession{ID: "moved", Principal: "web", Expires: hour(), Deadline: now.Add(time.Hour)})
	track(t, r, contract.TrackedSession{ID: "cleared", Principal: "web", Expires: hour(), Deadline: now.Add(-time.Second)})
	track(t, r, contract.TrackedSession{ID: "cleared", Principal: "web", Expires: hour()})
	assert.Empty(t, claim(t, r, now, 10), "an earlier deadline was claimed")
	assert.Equal(t, []string{"moved"}, ids(claim(t, r, now.Add(2*time.Hour), 10)))
}

func anyBytes(t *testing.T, r contract.SessionRegistry) {
	tracked := []contract.TrackedSession{
		{Principal: "ab", ID: "c", Lease: "l:1"},
		{Principal: "a", ID: "bc", Lease: "l\x00{2}"},
		{Principal: "3:a", ID: "b"},
		{Principal: "k\x00\n {gov}*?[", ID: "id:\r\n\x00\xff *"},
		{Principal: "", ID: "empty principal"},
	}
	now := time.Now()
	for _, s := range tracked {
		require.True(t, acquire(t, r, s.Principal, s.Lease+"x", 1, hour()))
		s.Expires, s.Deadline = hour(), now.Add(-time.Second)
		track(t, r, s)
	}
	for _, s := range tracked {
		assert.Equal(t, []string{s.ID}, sessions(t, r, s.Principal), "principal %q", s.Principal)
		assert.False(t, acquire(t, r, s.Principal, "another", 1, hour()), "principal %q shares leases", s.Principal)
	}
	due := claim(t, r, now, 10)
	require.Len(t, due, len(tracked))
	for _, want := range tracked {
		found := false
		for _, got := range due {
			if got.Principal == want.Principal && got.ID == want.ID {
				found = true
				assert.Equal(t, want.Lease, got.Lease)
			}
		}
		assert.True(t, found, "session %q of %q was not claimed as it was tracked", want.ID, want.Principal)
	}
	for _, s := range tracked {
		assert.True(t, end(t, r, s.Principal, s.ID), "session %q of %q", s.ID, s.Principal)
	}
}

func concurrentAcquire(t *testing.T, r contract.SessionRegistry) {
	const n, limit = 20, 2
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ok, err := r.Acquire(ctx, "web", "lease_"+strconv.Itoa(i), limit, hour())
			assert.NoError(t, err)
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(limit), won.Load())
}

func concurrentEnd(t *testing.T, r contract.SessionRegistry) {
	track(t, r, contract.TrackedSession{ID: "rtc_1", Principal: "web", Expires: hour()})
	var ended atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ok, err := r.End(ctx, "web", "rtc_1", "cap")
			assert.NoError(t, err)
			if ok {
				ended.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), ended.Load())
}

func concurrentClaimDue(t *testing.T, r contract.SessionRegistry) {
	ClaimEachOnce(t, []contract.SessionRegistry{r})
}

// ClaimEachOnce tracks 50 due sessions through the first registry, then
// has 8 goroutines claim them through all registries in turn (several
// clients of one shared registry, for instance) until none is left, and
// asserts each was claimed exactly once.
func ClaimEachOnce(t *testing.T, registries []contract.SessionRegistry) {
	t.Helper()
	const sessions, claimers = 50, 8
	now := time.Now()
	for i := range sessions {
		track(t, registries[0], contract.TrackedSession{ID: "s" + strconv.Itoa(i), Principal: "web",
			Expires: hour(), Deadline: now.Add(-clockSlack - time.Duration(i)*time.Millisecond)})
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for i := range claimers {
		r := registries[i%len(registries)]
		wg.Go(func() {
			for {
				due, err := r.ClaimDue(ctx, now, 3)
				if !assert.NoError(t, err) || len(due) == 0 {
					return
				}
				mu.Lock()
				for _, s := range due {
					claimed[s.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, claimed, sessions, "every due deadline is claimed")
	for id, n := range claimed {
		assert.Equal(t, 1, n, "session %s claimed %d times", id, n)
	}
}
