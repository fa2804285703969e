package realtimesecret_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// memSideband is a Sideband fed by a test: Read returns the queued events,
// then end (ErrSidebandClosed for a normal close, any other error for a
// drop) once the queue is closed.
type memSideband struct {
	events chan []byte
	end    error
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	wrote  []string
}

func newMemSideband(end error, events ...string) *memSideband {
	sb := &memSideband{events: make(chan []byte, len(events)), end: end, closed: make(chan struct{})}
	for _, e := range events {
		sb.events <- []byte(e)
	}
	if end != nil {
		close(sb.events)
	}
	return sb
}

var errSidebandGone = errors.New("sideband closed by the client")

func (s *memSideband) Read(ctx context.Context) ([]byte, error) {
	select {
	case ev, ok := <-s.events:
		if !ok {
			return nil, s.end
		}
		return ev, nil
	case <-s.closed:
		return nil, errSidebandGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *memSideband) Write(_ context.Context, event []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrote = append(s.wrote, string(event))
	return nil
}

func (s *memSideband) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// watchingProvider is a brokerProvider that attaches the sidebands a test
// queues, one per Watch, then answers ErrSessionNotFound.
type watchingProvider struct {
	*brokerProvider
	mu        sync.Mutex
	sidebands []*memSideband
	watches   []contract.SessionRequest
}

var _ contract.SessionWatcher = (*watchingProvider)(nil)

func (w *watchingProvider) Watch(_ context.Context, req *contract.SessionRequest) (contract.Sideband, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watches = append(w.watches, *req)
	if len(w.sidebands) == 0 {
		return nil, contract.ErrSessionNotFound
	}
	sb := w.sidebands[0]
	w.sidebands = w.sidebands[1:]
	return sb, nil
}

func (w *watchingProvider) watchCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.watches)
}

// newMetered returns a metering Handler in front of w, whose usage reports
// arrive on the channel.
func newMetered(t *testing.T, w *watchingProvider, tweak func(*realtimesecret.Config)) (*realtimesecret.Handler, http.Handler, chan realtimesecret.UsageEvent) {
	t.Helper()
	usage := make(chan realtimesecret.UsageEvent, 16)
	cfg := twoCallers(w)
	cfg.UsageMetering = true
	cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h, h.Wrap(&nextRecorder{}), usage
}

func nextUsage(t *testing.T, usage chan realtimesecret.UsageEvent) realtimesecret.UsageEvent {
	t.Helper()
	select {
	case ev := <-usage:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no usage report")
		return realtimesecret.UsageEvent{}
	}
}

const (
	done1 = `{"type":"response.done","response":{"id":"resp_1","usage":{"input_tokens":10,"output_tokens":4,` +
		`"input_token_details":{"audio_tokens":6,"text_tokens":4,"cached_tokens":2},"output_token_details":{"audio_tokens":3,"text_tokens":1}}}}`
	done2 = `{"type":"response.done","response":{"id":"resp_2","usage":{"input_tokens":5,"output_tokens":5,` +
		`"input_token_details":{"audio_tokens":5},"output_token_details":{"text_tokens":5}}}}`
)

func TestMeterSumsDistinctResponsesAndIgnoresOtherEvents(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	w.sidebands = []*memSideband{newMemSideband(contract.ErrSidebandClosed,
		`not json`,
		`{"type":"response.created","response":{"id":"resp_1"}}`,
		`{"type":"response.done","response":{"id":"resp_0","status":"failed"}}`,
		done1, done2, done1,
		`{"type":"session.updated","session":{"instructions":"response.done"}}`,
	)}
	_, srv, usage := newMetered(t, w, nil)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)

	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageEnded, ev.End, "a call's sideband closed normally: the call ended")
	assert.Equal(t, realtimesecret.Usage{
		InputTokens: 15, OutputTokens: 9, Responses: 2,
		InputTokenDetails:  realtimesecret.InputTokenDetails{AudioTokens: 11, TextTokens: 4, CachedTokens: 2},
		OutputTokenDetails: realtimesecret.OutputTokenDetails{AudioTokens: 3, TextTokens: 6},
	}, ev.Usage)
	assert.Equal(t, "rtc_1", ev.SessionID)
	assert.Equal(t, "realtime-key", ev.Record.KeyID)
	require.Equal(t, 1, w.watchCount())
	assert.Equal(t, contract.EndpointCall, w.watches[0].Endpoint)
	assert.Equal(t, "rtc_1", w.watches[0].SessionID)
	assert.Equal(t, "realtime-key", w.watches[0].Key.ID, "attached with the key that created the call")
}

func TestMeterLiveSeconds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []string
		want   float64
		reason string
	}{
		{name: "last running total", events: []string{
			`{"type":"session.usage.updated","usage":{"seconds":1.5}}`,
			`{"type":"session.usage.updated","usage":{"seconds":3}}`,
			`{"type":"session.closed","reason":"expired"}`,
		}, want: 3, reason: "expired"},
		{name: "a lower replayed total is ignored", events: []string{
			`{"type":"session.usage.updated","usage":{"seconds":4}}`,
			`{"type":"session.usage.updated","usage":{"seconds":2}}`,
			`{"type":"session.closed","reason":"remote_hangup"}`,
		}, want: 4, reason: "remote_hangup"},
		{name: "the final total wins", events: []string{
			`{"type":"session.usage.updated","usage":{"seconds":4}}`,
			`{"type":"session.closed","reason":"close_requested","usage":{"seconds":4.25}}`,
		}, want: 4.25, reason: "close_requested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &watchingProvider{brokerProvider: newBrokerProvider()}
			// No end: session.closed ends it, with the sideband still open.
			sb := newMemSideband(nil, tc.events...)
			w.sidebands = []*memSideband{sb}
			h, srv, usage := newMetered(t, w, func(cfg *realtimesecret.Config) { cfg.VirtualKeys[0].MaxSessions = 1 })
			require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)

			ev := nextUsage(t, usage)
			assert.Equal(t, realtimesecret.UsageEnded, ev.End)
			assert.Equal(t, tc.reason, ev.Reason)
			assert.Equal(t, realtimesecret.Usage{Seconds: tc.want}, ev.Usage) //nolint:testifylint // exact values from the script
			assert.Zero(t, h.MeteredSessions())
			assert.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code,
				"session.closed released the lease")
		})
	}
}

func TestMeterDropReconnectsUntilTheSessionIsGone(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	drop := errors.New("connection reset")
	w.sidebands = []*memSideband{
		newMemSideband(drop, done1),
		newMemSideband(drop, done1, done2),
		// then ErrSessionNotFound: the call is gone
	}
	_, srv, usage := newMetered(t, w, nil)
	require.Equal(t, http.StatusCreated, call(t, srv, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)

	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageEnded, ev.End)
	assert.Equal(t, 2, ev.Usage.Responses)
	assert.Equal(t, int64(15), ev.Usage.InputTokens)
	assert.Equal(t, 1, ev.Reconnects)
	require.ErrorIs(t, ev.Err, drop)
	assert.Equal(t, 3, w.watchCount())
}

func TestMeterLiveNormalCloseWithoutSessionClosedReconnects(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	w.sidebands = []*memSideband{
		newMemSideband(contract.ErrSidebandClosed, `{"type":"session.usage.updated","usage":{"seconds":2}}`),
		newMemSideband(nil, `{"type":"session.usage.updated","usage":{"seconds":5}}`),
	}
	h, srv, usage := newMetered(t, w, nil)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	require.Eventually(t, func() bool { u, _ := h.SessionUsage("sess_1"); return u.Seconds == 5 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2, w.watchCount())

	require.NoError(t, h.Close())
	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageStopped, ev.End)
	assert.Equal(t, 1, ev.Reconnects)
	assert.InDelta(t, 5.0, ev.Usage.Seconds, 0)
}

func TestMeterLiveCapSendsSessionClose(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	meter := newMemSideband(nil, `{"type":"session.usage.updated","usage":{"seconds":1}}`)
	closer := newMemSideband(nil) // the attach that closes the session
	w.sidebands = []*memSideband{meter, closer}
	_, srv, usage := newMetered(t, w, func(cfg *realtimesecret.Config) { cfg.VirtualKeys[0].MaxSession = 300 * time.Millisecond })
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)

	// The provider answers session.close with session.closed on both.
	require.Eventually(t, func() bool {
		closer.mu.Lock()
		defer closer.mu.Unlock()
		return len(closer.wrote) == 1
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{`{"type":"session.close"}`}, closer.wrote)
	closed := `{"type":"session.closed","reason":"close_requested","usage":{"seconds":1.5}}`
	closer.events <- []byte(closed)
	meter.events <- []byte(closed)

	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageCap, ev.End)
	assert.InDelta(t, 1.5, ev.Usage.Seconds, 0)
	assert.Empty(t, w.hangups(), "closed with session.close, not the hang-up endpoint")
}

func TestMeterConfigNeedsASessionWatcher(t *testing.T) {
	on, off := true, false
	broker := newBrokerProvider()
	watcher := &watchingProvider{brokerProvider: newBrokerProvider()}
	for _, tc := range []struct {
		name     string
		provider contract.Provider
		global   bool
		override *bool
		wantErr  bool
	}{
		{name: "broker without a watcher", provider: broker, global: true, wantErr: true},
		{name: "broker without a watcher, metering off for it", provider: broker, global: true, override: &off},
		{name: "mint-only provider", provider: newFakeProvider(), global: true},
		{name: "mint-only provider, metering asked for it", provider: newFakeProvider(), override: &on, wantErr: true},
		{name: "watcher", provider: watcher, global: true},
		{name: "watcher, metering on for it only", provider: watcher, override: &on},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.provider)
			cfg.UsageMetering = tc.global
			cfg.Providers[0].UsageMetering = tc.override
			h, err := realtimesecret.New(cfg)
			if tc.wantErr {
				require.ErrorIs(t, err, realtimesecret.ErrInvalidConfig)
				assert.Contains(t, err.Error(), "SessionWatcher")
				return
			}
			require.NoError(t, err)
			require.NoError(t, h.Close())
		})
	}
}

func TestMeterOffAttachesNothing(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	h, err := realtimesecret.New(twoCallers(w))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	require.Equal(t, http.StatusCreated, call(t, h.Wrap(&nextRecorder{}), "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	assert.Zero(t, h.MeteredSessions())
	assert.Zero(t, w.watchCount())
}

func TestMeterSidebandPath(t *testing.T) {
	for _, tc := range []struct {
		ep   realtimesecret.Endpoint
		id   string
		want string
	}{
		{ep: contract.EndpointCall, id: "rtc_1", want: "/v1/realtime?call_id=rtc_1"},
		{ep: contract.EndpointCall, id: "rtc 1&x", want: "/v1/realtime?call_id=rtc+1%26x"},
		{ep: contract.EndpointLiveSession, id: "sess_1", want: "/v1/live/sessions/sess_1/attach?graceful_close=false"},
		{ep: contract.EndpointLiveSession, id: "a/b", want: "/v1/live/sessions/a%2Fb/attach?graceful_close=false"},
		{ep: contract.EndpointCallHangup, id: "rtc_1", want: ""},
		{ep: contract.EndpointClientSecret, id: "x", want: ""},
	} {
		assert.Equal(t, tc.want, tc.ep.SidebandPath(tc.id), "%s %q", tc.ep, tc.id)
	}
}

// TestOwnersHangupOfALiveSessionSendsSessionClose: a WebRTC GPT-Live
// session hung up by its owner is ended as OpenAI documents, with
// session.close on an attach, not with the hang-up endpoint (which is for
// SIP sessions); the owner gets 200, the session's usage reports a hang-up.
// A session the provider no longer knows is 404 and ends here too.
func TestOwnersHangupOfALiveSessionSendsSessionClose(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	meter := newMemSideband(nil, `{"type":"session.usage.updated","usage":{"seconds":1}}`)
	closer := newMemSideband(nil, `{"type":"session.closed","reason":"close_requested","usage":{"seconds":2}}`)
	w.sidebands = []*memSideband{meter, closer}
	_, srv, usage := newMetered(t, w, nil)
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	require.Eventually(t, func() bool { return w.watchCount() == 1 }, 10*time.Second, 5*time.Millisecond, "the meter attached")

	resp := do(t, srv, http.MethodPost, "/v1/live/sessions/sess_1/hangup", "", "Authorization", "Bearer "+vkWeb)
	assert.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	assert.Equal(t, []string{`{"type":"session.close"}`}, closer.wrote)
	assert.Empty(t, w.hangups(), "not the hang-up endpoint")
	meter.events <- []byte(`{"type":"session.closed","reason":"close_requested","usage":{"seconds":2}}`)
	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageHangup, ev.End)
	assert.InDelta(t, 2.0, ev.Usage.Seconds, 0)

	// A second Live session the provider has forgotten: the attach says so,
	// the hang-up's own (session_not_found) or the meter's before it (the
	// session is then known to have ended: session_ended).
	require.Equal(t, http.StatusCreated, do(t, srv, http.MethodPost, "/v1/live/sessions", liveBody, "Authorization", "Bearer "+vkWeb).Code)
	resp = do(t, srv, http.MethodPost, "/v1/live/sessions/sess_2/hangup", "", "Authorization", "Bearer "+vkWeb)
	assert.Contains(t, []string{"session_not_found", "session_ended"}, *requireAPIError(t, resp, http.StatusNotFound).Error.Code)
	assert.Empty(t, w.hangups())
}

// claimsNothing is a node's view of a shared registry in which every cap
// is claimed by another node first.
type claimsNothing struct{ contract.SessionRegistry }

func (claimsNothing) ClaimDue(context.Context, time.Time, int) ([]contract.TrackedSession, error) {
	return nil, nil
}

// TestMeterReportsACapClaimedByAnotherNodeAsCap: node A creates and
// meters a capped session, node B (sharing A's store and registry) claims
// the cap and ends it; when A's sideband then closes, A reports the end as
// the cap, not as the provider's end.
func TestMeterReportsACapClaimedByAnotherNodeAsCap(t *testing.T) {
	w := &watchingProvider{brokerProvider: newBrokerProvider()}
	sb := newMemSideband(nil, done1)
	w.sidebands = []*memSideband{sb}
	store, registry := memory.NewStore(), memory.NewSessionRegistry()
	capped := func(cfg *realtimesecret.Config) {
		cfg.Store = store
		cfg.VirtualKeys[0].MaxSession = 300 * time.Millisecond
	}
	_, a, usage := newMetered(t, w, func(cfg *realtimesecret.Config) {
		capped(cfg)
		cfg.SessionRegistry = claimsNothing{registry}
	})
	bCfg := twoCallers(w.brokerProvider)
	capped(&bCfg)
	bCfg.SessionRegistry = sharedRegistry{registry}
	b, err := realtimesecret.New(bCfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })

	require.Equal(t, http.StatusCreated, call(t, a, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`).Code)
	require.Eventually(t, func() bool { return len(w.hangups()) == 1 }, 10*time.Second, 5*time.Millisecond, "B did not end the capped call")
	sb.end = contract.ErrSidebandClosed // the provider closes the sideband of the ended call
	close(sb.events)

	ev := nextUsage(t, usage)
	assert.Equal(t, realtimesecret.UsageCap, ev.End, "reported as B ended it")
	assert.Equal(t, 1, ev.Usage.Responses)
}
