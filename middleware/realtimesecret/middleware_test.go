package realtimesecret_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// sharedRegistry is a registry the middleware cannot know to be
// in-process, as adapters/redisstore's: other nodes may set its caps.
type sharedRegistry struct{ contract.SessionRegistry }

// TestMiddlewareLeavesNoGoroutine: nothing returned by Middleware runs a
// goroutine its caller could not stop, with governance configured and
// sessions created, once their caps have passed.
func TestMiddlewareLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	up := newBrokerProvider()
	cfg := baseConfig(up)
	cfg.SessionRegistry = memory.NewSessionRegistry()
	cfg.VirtualKeys[0].MaxSessions = 5
	for range 100 {
		_ = realtimesecret.Middleware(cfg)(&nextRecorder{})
	}

	// A capped session starts the cap loop; it stops once the cap has
	// ended the session, with nothing left to enforce.
	cfg.VirtualKeys[0].MaxSession = time.Millisecond
	h := realtimesecret.Middleware(cfg)(&nextRecorder{})
	require.Equal(t, http.StatusCreated, call(t, h, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Eventually(t, func() bool { return len(up.hangups()) == 1 }, 10*time.Second, 10*time.Millisecond, "the cap ended the call")
	require.Eventually(t, func() bool { return goleak.Find(goleak.IgnoreCurrent()) == nil }, 10*time.Second, 10*time.Millisecond,
		"the cap loop stopped with no cap pending")
}

// TestMiddlewareRefusesBackgroundWork: a config whose goroutines only
// Close stops is refused by Middleware, which has no Close, with a message
// that says to use New.
func TestMiddlewareRefusesBackgroundWork(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	shared := baseConfig(newBrokerProvider())
	shared.SessionRegistry = sharedRegistry{memory.NewSessionRegistry()}
	metered := baseConfig(&watchingProvider{brokerProvider: newBrokerProvider()})
	metered.UsageMetering = true
	for name, cfg := range map[string]realtimesecret.Config{"shared registry": shared, "usage metering": metered} {
		assert.PanicsWithValue(t, "realtimesecret: this Config runs goroutines that only Handler.Close stops "+
			"(a shared SessionRegistry, or usage metering): use New, and Close on shutdown",
			func() { realtimesecret.Middleware(cfg) }, name)
		h, err := realtimesecret.New(cfg)
		require.NoError(t, err, name)
		require.NoError(t, h.Close())
	}
}

// TestCloseStopsWhatNewStarted: with a shared registry New starts the loop
// that claims caps other nodes set; Close stops it, and a second Close is
// harmless.
func TestCloseStopsWhatNewStarted(t *testing.T) {
	before := goleak.IgnoreCurrent()
	defer goleak.VerifyNone(t, before)
	cfg := baseConfig(newBrokerProvider())
	reg := memory.NewSessionRegistry()
	cfg.SessionRegistry = sharedRegistry{reg}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	require.Error(t, goleak.Find(before), "New started the cap loop")

	// A cap another node set is enforced here.
	require.NoError(t, reg.Track(context.Background(), contract.TrackedSession{ID: "rtc_9", Principal: "web",
		Deadline: time.Now(), Expires: time.Now().Add(time.Hour)}))
	require.Eventually(t, func() bool {
		ids, _ := reg.Sessions(context.Background(), "web")
		return len(ids) == 0
	}, 10*time.Second, 10*time.Millisecond, "the due cap was claimed")

	require.NoError(t, h.Close())
	require.NoError(t, h.Close())
}
