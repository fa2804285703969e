package openai_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// TestMeterLoad500CappedSessions brokers 500 metered sessions at once (half
// calls, half Live sessions) through the stack, each ended by its
// MaxSession cap: every session reports its usage exactly once and in full,
// every lease is released, and no goroutine is left.
func TestMeterLoad500CappedSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	verifyNoLeaks(t)
	const n = 500
	script := fakeupstream.SidebandScript{Responses: testResponses[:2], LiveSeconds: []float64{1, 2.5}}
	registry := memory.NewSessionRegistry()
	ms := newMeterStack(t, script, func(cfg *realtimesecret.Config) {
		cfg.SessionRegistry = registry
		cfg.VirtualKeys[0].MaxSession = 1500 * time.Millisecond
		cfg.VirtualKeys[0].MaxSessions = n
	})
	kinds := sessionKinds()

	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := kinds[i%2]
			resp, body := ms.broker(t, k.path, k.contentType, k.body)
			if assert.Equal(t, 201, resp.StatusCode, "%s", body) {
				ids <- "created"
			}
		})
	}
	wg.Wait()
	require.Len(t, ids, n)

	// Every session reports once, ended by its cap, with the scripted
	// usage. A sideband that attached only as the cap ended its session
	// (500 attaches at once on a shared 2-core machine under -race, with
	// other tests running) saw no event and reports nothing counted, or
	// its error: tolerated if rare (1 %), never a part of the usage.
	seen := make(map[string]bool, n)
	unmetered := 0
	var latest time.Duration
	deadline := time.After(2 * time.Minute)
	for len(seen) < n {
		select {
		case ev := <-ms.usage:
			require.False(t, seen[ev.SessionID], "one report per session")
			seen[ev.SessionID] = true
			latest = max(latest, ev.Duration)
			assert.Equal(t, realtimesecret.UsageCap, ev.End, ev.SessionID)
			if ev.Usage != scriptUsage(script, ev.Record.Endpoint) {
				unmetered++
				assert.True(t, ev.Err != nil || ev.Usage == (realtimesecret.Usage{}), "%s: a part of its usage: %+v", ev.SessionID, ev.Usage)
				t.Logf("%s metered too late or not at all: %+v (%v)", ev.SessionID, ev.Usage, ev.Err)
			}
		case <-deadline:
			t.Fatalf("%d usage reports of %d", len(seen), n)
		}
	}

	assert.LessOrEqual(t, unmetered, n/100, "sessions whose sideband attached too late")
	assert.Zero(t, ms.handler.MeteredSessions())
	assert.Zero(t, ms.up.ActiveSessions(), "every session was ended upstream")
	live, err := registry.Sessions(context.Background(), "web")
	require.NoError(t, err)
	assert.Empty(t, live, "no session is tracked")
	free, err := registry.Acquire(context.Background(), "web", "probe", 1, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, free, "every lease was released")
	st := ms.up.SidebandStats()
	t.Logf("sidebands: %+v; sessions: %+v; longest session %v (cap 1.5s)", st, ms.up.SessionStats(), latest)
	require.NoError(t, ms.handler.Close())
	assert.Empty(t, ms.usage, "no report after the end")
}
