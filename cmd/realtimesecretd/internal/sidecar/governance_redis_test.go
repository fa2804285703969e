package sidecar_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/internal/redistest"
)

// Session governance across sidecars that share a Redis: the leases, the
// tracked sessions and their cap deadlines live there. Against
// the Redis of REDIS_URL; skipped without one, failed under CI=true.

// running is a sidecar started the way the binary runs: sidecar.Run with
// a config file, until its context is cancelled.
type running struct {
	URL    string
	Logs   *syncBuffer
	cancel context.CancelFunc
	code   chan int
}

// runSidecar starts sidecar.Run on a config of harnessYAML, the web key's
// policy and the Redis store, minting at fakeURL, listening on a free
// loopback port.
func runSidecar(t *testing.T, fakeURL, redisURL, prefix, webPolicy string) *running {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sidecar.yaml")
	text := "listen: 127.0.0.1:0\nlog_flush_interval: 0s\n" + harnessYAML + webPolicy + redisYAML
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	vars := baseEnv()
	vars["FAKE_URL"], vars["REDIS_TEST_URL"], vars["REDIS_TEST_PREFIX"] = fakeURL, redisURL, prefix
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Logs: &syncBuffer{}, cancel: cancel, code: make(chan int, 1)}
	go func() { r.code <- sidecar.Run(ctx, []string{"-config", path}, env(vars), &syncBuffer{}, r.Logs) }()
	t.Cleanup(func() { r.stop(t) })
	eventually(t, func() bool { return len(r.Logs.lines(t, "realtimesecretd listening")) == 1 }, "the sidecar did not start")
	addr, ok := r.Logs.lines(t, "realtimesecretd listening")[0]["addr"].(string)
	require.True(t, ok)
	r.URL = "http://" + addr
	return r
}

// stop cancels Run's context, as SIGTERM does, and checks that it returned
// 0. Stopping twice is a no-op.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case code, ok := <-r.code:
		if ok {
			assert.Equal(t, 0, code, r.Logs.String())
			close(r.code)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not return")
	}
}

// asHarness lets the harness helpers send requests to a running sidecar.
func (r *running) asHarness(fake *fakeupstream.Server) *harness {
	return &harness{URL: r.URL, Admin: r.URL, Fake: fake, Logs: r.Logs}
}

// TestGovernanceRedisCapSurvivesNode: sessions created on sidecar A with a
// 3 s cap are ended by sidecar B after A was stopped before the deadline,
// within 2 s of it, each exactly once; A's Run returns with no goroutine
// left (its cap goroutine started at New, with the shared registry).
func TestGovernanceRedisCapSurvivesNode(t *testing.T) {
	noLeaks(t)
	c := redistest.Client(t)
	redisURL, prefix := redistest.URL(t), redistest.Prefix(t, c)
	fake, fakeURL := newFake(t, fakeupstream.Options{})
	const policy = "    max_session: 3s\n"
	a := runSidecar(t, fakeURL, redisURL, prefix, policy)
	bOpts := redisOptions(redisURL, prefix, "")
	bOpts.fake, bOpts.fakeURL, bOpts.webPolicy = fake, fakeURL, policy
	b := start(t, bOpts)

	created := time.Now()
	var onA []string
	for range 2 {
		status, id, body := a.asHarness(fake).brokerCall(t, virtualKey)
		require.Equal(t, http.StatusCreated, status, string(body))
		onA = append(onA, id)
	}
	status, live, body := a.asHarness(fake).brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	onA = append(onA, live)
	status, onB, body := b.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))

	a.stop(t)
	require.Less(t, time.Since(created), 3*time.Second, "A must stop before the caps are due")
	assert.Zero(t, fake.SessionStats().Ended, "stopping A ends no session")

	require.Eventually(t, func() bool { return fake.ActiveSessions() == 0 }, 10*time.Second, 10*time.Millisecond,
		"B did not enforce the caps")
	for _, id := range append(onA, onB) {
		s, ok := fake.Session(id)
		require.True(t, ok)
		late := s.Ended.Sub(s.Created) - 3*time.Second
		assert.True(t, late >= 0 && late < 2*time.Second, "%s ended %s after its deadline", id, late)
	}
	// Each cap once: one hang-up request per call (none refused as already
	// ended), one session.close for the Live session.
	st := fake.SessionStats()
	assert.Equal(t, 4, st.Ended)
	assert.Equal(t, 3, st.Hangups, "one hang-up per call")
	assert.Equal(t, 1, fake.SidebandStats().SessionCloses, "one session.close for the Live session")
	assertMetric(t, b.metrics(t), `realtimesecret_sessions_in_flight{virtual_key="web"} 0`)
	ended := b.Logs.lines(t, "realtime session ended")
	assert.Len(t, ended, 4, "B logged each cap it enforced")
	for _, line := range ended {
		assert.Equal(t, "cap", line["reason"])
	}
}

// TestGovernanceRedisLeasesAcrossSidecars: max_sessions: 2 holds across two
// sidecars: the third concurrent session is 429 on either; a cap frees a
// slot for the other node; every cap is enforced exactly once although
// both nodes claim; the in-flight gauge returns to 0 on both.
func TestGovernanceRedisLeasesAcrossSidecars(t *testing.T) {
	noLeaks(t)
	c := redistest.Client(t)
	redisURL, prefix := redistest.URL(t), redistest.Prefix(t, c)
	fake, fakeURL := newFake(t, fakeupstream.Options{})
	opts := redisOptions(redisURL, prefix, "")
	opts.fake, opts.fakeURL, opts.webPolicy = fake, fakeURL, "    max_sessions: 2\n    max_session: 2s\n"
	a, b := start(t, opts), start(t, opts)

	status, first, body := a.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = b.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	for _, h := range []*harness{a, b} {
		status, _, body = h.brokerCall(t, virtualKey)
		requireTooMany(t, status, body)
		status, _, body = h.brokerLive(t, virtualKey)
		requireTooMany(t, status, body)
		assert.InDelta(t, 2, h.inFlight(t, "web"), 0, "the registry's sessions, all nodes'")
	}

	// The caps end both; the slots are free on either node.
	require.Eventually(t, func() bool { return fake.ActiveSessions() == 0 }, 10*time.Second, 10*time.Millisecond,
		"the caps were not enforced")
	status, third, body := b.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = a.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _, body = a.brokerCall(t, virtualKey)
	requireTooMany(t, status, body)

	// A hangs up B's session: the record and the lease are shared.
	a.hangup(t, "/v1/realtime/calls/"+third+"/hangup")
	require.Eventually(t, func() bool { return fake.ActiveSessions() == 0 }, 10*time.Second, 10*time.Millisecond,
		"the last cap was not enforced")
	for _, h := range []*harness{a, b} {
		assert.InDelta(t, 0, h.inFlight(t, "web"), 0)
	}
	st := fake.SessionStats()
	assert.Equal(t, 4, st.Created())
	assert.Equal(t, 4, st.Ended)
	assert.Equal(t, 3, st.Hangups, "every call hung up once: by its cap or the hang-up, never twice")
	assert.Equal(t, 1, fake.SidebandStats().SessionCloses, "the Live session closed once")
	_, ok := fake.Session(first)
	assert.True(t, ok)
	caps := len(a.Logs.lines(t, "realtime session ended")) + len(b.Logs.lines(t, "realtime session ended"))
	assert.Equal(t, 3, caps, "three caps, each enforced by one node")
}

// TestGovernanceRedisEndReportedAlikeOnEveryNode: a session is metered by
// the node that created it, but its cap may be claimed, and its key
// revoked, on another node. The creating node reports the end as the
// other node made it (cap, revoked), not as the provider's ("ended");
// hang-ups of an ended session are answered without the provider, and
// concurrent ones send it one request.
func TestGovernanceRedisEndReportedAlikeOnEveryNode(t *testing.T) {
	noLeaks(t)
	c := redistest.Client(t)
	redisURL, prefix := redistest.URL(t), redistest.Prefix(t, c)
	fake, fakeURL := newFake(t, fakeupstream.Options{Sideband: meterScript})
	opts := redisOptions(redisURL, prefix, "usage_metering: true\n")
	opts.fake, opts.fakeURL, opts.webPolicy, opts.adminToken = fake, fakeURL, "    max_session: 2s\n", adminToken
	a, b := start(t, opts), start(t, opts)

	// Caps: both nodes claim them, whichever comes first (A, which
	// started first, usually claims all), and A meters all: every end is
	// cap. That B's claim is reported as cap on A is pinned down, with a
	// node that never claims, by the middleware's
	// TestMeterReportsACapClaimedByAnotherNodeAsCap; the revocation below
	// is made on B by construction.
	var capped []string
	for range 6 {
		status, id, body := a.brokerCall(t, virtualKey)
		require.Equal(t, http.StatusCreated, status, string(body))
		capped = append(capped, id)
	}
	usage := a.Logs.await(t, "realtime session usage", len(capped))
	for _, line := range usage {
		assert.Equal(t, "cap", line["end"], "session %v", line["session_id"])
	}
	claimedOnB := len(b.Logs.lines(t, "realtime session ended"))
	t.Logf("of %d caps, %d were claimed by B", len(capped), claimedOnB)

	// Revocation on B of a session A meters.
	status, revoked, body := a.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	eventually(t, func() bool { return fake.SidebandStats().Events >= 2*(len(capped)+1) }, "the sideband did not attach")
	resp, body := adminPost(t, b.URL, "web", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	usage = a.Logs.await(t, "realtime session usage", len(capped)+1)
	assert.Equal(t, revoked, usage[len(capped)]["session_id"])
	assert.Equal(t, "revoked", usage[len(capped)]["end"])

	// A hang-up of an ended session, on either node, is answered here.
	hangups := fake.SessionStats().Hangups
	for _, h := range []*harness{a, b} {
		resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/calls/"+revoked+"/hangup",
			http.Header{"Authorization": {"Bearer " + virtualKey}}, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
		assert.Contains(t, string(body), `"code":"session_ended"`)
		assert.Contains(t, string(body), "(revoked)")
	}
	assert.Equal(t, hangups, fake.SessionStats().Hangups, "nothing sent upstream")

	// 50 concurrent hang-ups of a live session: one reaches the provider.
	status, live, body := a.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	codes := make(chan int, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, _ := do(t, http.MethodPost, a.URL+"/v1/realtime/calls/"+live+"/hangup",
				http.Header{"Authorization": {"Bearer " + virtualKey}}, "")
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for code := range codes {
		count[code]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusNotFound: 49}, count)
	assert.Equal(t, hangups+1, fake.SessionStats().Hangups, "one hang-up upstream")
}

// TestGovernanceRedisSessionsAdoptedWhenANodeStops: sidecar A meters two
// calls and stops (a restart, a scale-down); B, on the same Redis, adopts
// them at once: the call that ended upstream while no node watched it
// releases its max_sessions slot, the live one is metered by B and its
// usage reported by B.
func TestGovernanceRedisSessionsAdoptedWhenANodeStops(t *testing.T) {
	noLeaks(t)
	c := redistest.Client(t)
	redisURL, prefix := redistest.URL(t), redistest.Prefix(t, c)
	fake, fakeURL := newFake(t, fakeupstream.Options{Sideband: meterScript})
	opts := redisOptions(redisURL, prefix, "usage_metering: true\n")
	opts.fake, opts.fakeURL, opts.webPolicy = fake, fakeURL, "    max_sessions: 2\n"
	a, b := start(t, opts), start(t, opts)

	_, over, _ := a.brokerCall(t, virtualKey)
	status, live, body := a.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	eventually(t, func() bool { return fake.SidebandStats().Events == 4 }, "A's sidebands did not attach")

	a.shutdown()
	eventually(t, a.isStopped, "A stops")
	assert.Len(t, a.Logs.lines(t, "realtime session usage"), 2, "A reports what it metered")
	require.True(t, fake.EndSession(over, "remote_hangup"), "the call ends while no node watches it")

	adopted := b.Logs.await(t, "realtime session adopted: the node that metered it stopped", 2)
	assert.ElementsMatch(t, []any{over, live}, []any{adopted[0]["session_id"], adopted[1]["session_id"]})
	usage := b.Logs.await(t, "realtime session usage", 1)
	assert.Equal(t, over, usage[0]["session_id"])
	assert.Equal(t, "ended", usage[0]["end"], "B found it over")

	status, _, body = b.brokerCall(t, virtualKey)
	assert.Equal(t, http.StatusCreated, status, "the ended call's slot is free: %s", body)
	status, _, _ = b.brokerCall(t, virtualKey)
	assert.Equal(t, http.StatusTooManyRequests, status, "the adopted live call still counts")

	b.hangup(t, "/v1/realtime/calls/"+live+"/hangup")
	usage = b.Logs.await(t, "realtime session usage", 2)
	assert.Equal(t, live, usage[1]["session_id"])
	assert.Equal(t, "hangup", usage[1]["end"], "B metered the adopted call to its end")
}
