package openai_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// The metering tests run the stack with UsageMetering on against the fake
// upstream, whose sidebands emit a script.

// meterStack is a stack that meters its sessions, in front of a fake
// upstream serving sidebands.
type meterStack struct {
	*stack
	up    *fakeupstream.Server
	upURL string
	usage chan realtimesecret.UsageEvent
}

// newMeterStack builds a metering stack whose upstream emits script;
// tweak, if set, changes the middleware's config. The Handler and the fake
// are closed when the test ends, before the leak check.
func newMeterStack(t *testing.T, script fakeupstream.SidebandScript, tweak func(*realtimesecret.Config)) *meterStack {
	t.Helper()
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, Sideband: script, MaxRequests: -1})
	srv := newUpstream(t, up.ServeHTTP)
	t.Cleanup(up.Close)
	ms := &meterStack{up: up, upURL: srv.srv.URL, usage: make(chan realtimesecret.UsageEvent, 4096)}
	ms.stack = newStack(t, stackConfig{adapter: openai.Config{BaseURL: srv.srv.URL}, tweak: func(cfg *realtimesecret.Config) {
		cfg.UsageMetering = true
		cfg.OnUsage = func(ev realtimesecret.UsageEvent) { ms.usage <- ev }
		if tweak != nil {
			tweak(cfg)
		}
	}})
	t.Cleanup(func() { require.NoError(t, ms.handler.Close()) })
	return ms
}

// sessionKind is one of the two kinds of brokered session.
type sessionKind struct {
	name, path, contentType string
	body                    []byte
	endpoint                realtimesecret.Endpoint
}

func sessionKinds() []sessionKind {
	var out []sessionKind
	for _, s := range stackSessions() {
		ep := contract.EndpointCall
		if s.path == "/v1/live/sessions" {
			ep = contract.EndpointLiveSession
		}
		out = append(out, sessionKind{name: s.name, path: s.path, contentType: s.contentType, body: s.body, endpoint: ep})
	}
	return out
}

// create brokers a session of kind k and returns its id.
func (ms *meterStack) create(t *testing.T, k sessionKind) string {
	t.Helper()
	resp, body := ms.broker(t, k.path, k.contentType, k.body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	if k.endpoint == contract.EndpointCall {
		loc := resp.Header.Get("Location")
		return loc[strings.LastIndexByte(loc, '/')+1:]
	}
	var v struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	require.NoError(t, json.Unmarshal(body, &v))
	return v.Session.ID
}

// hangup hangs session id of kind k up through the stack.
func (ms *meterStack) hangup(t *testing.T, k sessionKind, id string) {
	t.Helper()
	resp, body := ms.broker(t, k.path+"/"+id+"/hangup", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// next returns the next usage report, waiting up to 15 s.
func (ms *meterStack) next(t *testing.T) realtimesecret.UsageEvent {
	t.Helper()
	select {
	case ev := <-ms.usage:
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no usage report")
		return realtimesecret.UsageEvent{}
	}
}

// waitEvents waits until the fake has written n sideband events.
func (ms *meterStack) waitEvents(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return ms.up.SidebandStats().Events >= n }, 10*time.Second, 5*time.Millisecond,
		"the fake wrote %d sideband events, want %d", ms.up.SidebandStats().Events, n)
}

// scriptUsage is the Usage the fake's script adds up to for a session of
// kind ep: a call's sideband emits the responses, a Live one the seconds.
func scriptUsage(sc fakeupstream.SidebandScript, ep realtimesecret.Endpoint) realtimesecret.Usage {
	var u realtimesecret.Usage
	if ep == contract.EndpointLiveSession {
		sc.Responses = nil
	} else {
		sc.LiveSeconds, sc.FinalSeconds = nil, 0
	}
	for _, r := range sc.Responses {
		u.Responses++
		u.InputTokens += r.InputTokens
		u.OutputTokens += r.OutputTokens
		u.InputTokenDetails.AudioTokens += r.InputAudioTokens
		u.InputTokenDetails.TextTokens += r.InputTextTokens
		u.InputTokenDetails.CachedTokens += r.InputCachedTokens
		u.OutputTokenDetails.AudioTokens += r.OutputAudioTokens
		u.OutputTokenDetails.TextTokens += r.OutputTextTokens
	}
	switch {
	case sc.FinalSeconds != 0:
		u.Seconds = sc.FinalSeconds
	case len(sc.LiveSeconds) > 0:
		u.Seconds = sc.LiveSeconds[len(sc.LiveSeconds)-1]
	}
	return u
}

var testResponses = []fakeupstream.ResponseUsage{
	{InputTokens: 100, InputAudioTokens: 70, InputTextTokens: 30, InputCachedTokens: 64, OutputTokens: 50, OutputAudioTokens: 40, OutputTextTokens: 10},
	{InputTokens: 7, InputAudioTokens: 0, InputTextTokens: 7, OutputTokens: 3, OutputTextTokens: 3},
	{InputTokens: 1234, InputAudioTokens: 1200, InputTextTokens: 34, InputCachedTokens: 1024, OutputTokens: 321, OutputAudioTokens: 300, OutputTextTokens: 21},
}

func TestMeterTotalsEqualTheScript(t *testing.T) {
	kinds := sessionKinds()
	for _, tc := range []struct {
		name   string
		kind   sessionKind
		script fakeupstream.SidebandScript
		events int
	}{
		{name: "call tokens summed", kind: kinds[0], script: fakeupstream.SidebandScript{Responses: testResponses}, events: 3},
		{name: "live seconds are the final total", kind: kinds[1],
			script: fakeupstream.SidebandScript{LiveSeconds: []float64{1.5, 3.25, 4.75}, FinalSeconds: 6.125}, events: 3},
		{name: "live seconds are the last running total, never a sum", kind: kinds[1],
			script: fakeupstream.SidebandScript{LiveSeconds: []float64{1.5, 3.25, 4.75}}, events: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			ms := newMeterStack(t, tc.script, nil)
			id := ms.create(t, tc.kind)
			ms.waitEvents(t, tc.events)
			assert.Equal(t, 1, ms.handler.MeteredSessions())

			ms.hangup(t, tc.kind, id)
			ev := ms.next(t)

			assert.Equal(t, id, ev.SessionID)
			assert.Equal(t, realtimesecret.UsageHangup, ev.End)
			assert.Equal(t, scriptUsage(tc.script, tc.kind.endpoint), ev.Usage)
			assert.Equal(t, "web", ev.Record.VirtualKeyID)
			assert.Equal(t, "primary", ev.Record.KeyID)
			assert.Equal(t, tc.kind.endpoint, ev.Record.Endpoint)
			assert.Zero(t, ev.Reconnects)
			require.NoError(t, ev.Err)
			if tc.kind.endpoint == contract.EndpointLiveSession {
				assert.Equal(t, "close_requested", ev.Reason)
			}
			assert.Positive(t, ev.Duration)
			assert.Zero(t, ms.handler.MeteredSessions())

			require.NoError(t, ms.handler.Close())
			assert.Empty(t, ms.usage, "one report per session")
			attached := 1
			if tc.kind.endpoint == contract.EndpointLiveSession {
				attached = 2 // the meter's, and the one that sent session.close
			}
			assert.Equal(t, attached, ms.up.SidebandStats().Attached)
			require.Eventually(t, func() bool { return ms.up.SidebandStats().Open == 0 }, 5*time.Second, 5*time.Millisecond)
		})
	}
}

func TestMeterDroppedSidebandReconnectsWithoutCountingTwice(t *testing.T) {
	kinds := sessionKinds()
	for _, tc := range []struct {
		name   string
		kind   sessionKind
		script fakeupstream.SidebandScript
	}{
		{name: "call", kind: kinds[0], script: fakeupstream.SidebandScript{Responses: testResponses, DropAfter: 2}},
		{name: "live", kind: kinds[1], script: fakeupstream.SidebandScript{LiveSeconds: []float64{2, 4, 8}, DropAfter: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			ms := newMeterStack(t, tc.script, nil)
			id := ms.create(t, tc.kind)
			// 2 events, the drop, then all 3 again on the second attach.
			require.Eventually(t, func() bool {
				st := ms.up.SidebandStats()
				return st.Attached == 2 && st.Events == 5
			}, 10*time.Second, 5*time.Millisecond)
			assert.Equal(t, 1, ms.up.SidebandStats().Dropped)
			assert.Equal(t, 1, ms.up.ActiveSessions(), "the drop did not touch the session")

			ms.hangup(t, tc.kind, id)
			ev := ms.next(t)

			assert.Equal(t, scriptUsage(tc.script, tc.kind.endpoint), ev.Usage, "the replayed events are not counted twice")
			assert.Equal(t, 1, ev.Reconnects)
			require.Error(t, ev.Err, "the drop is reported")
			assert.NotContains(t, ev.Err.Error(), stackKey)
			assert.Equal(t, realtimesecret.UsageHangup, ev.End)
		})
	}
}

func TestMeterReconnectsAfterDropsOnDemand(t *testing.T) {
	verifyNoLeaks(t)
	script := fakeupstream.SidebandScript{Responses: testResponses}
	ms := newMeterStack(t, script, nil)
	k := sessionKinds()[0]
	id := ms.create(t, k)
	for i := 1; i <= 3; i++ {
		require.Eventually(t, func() bool { return ms.up.SidebandStats().Events == 3*i }, 10*time.Second, 5*time.Millisecond)
		if i < 3 {
			require.Equal(t, 1, ms.up.DropSidebands(id))
		}
	}
	assert.Equal(t, 1, ms.up.ActiveSessions(), "the session lives on")
	ms.hangup(t, k, id)
	ev := ms.next(t)
	assert.Equal(t, scriptUsage(script, k.endpoint), ev.Usage)
	assert.Equal(t, 2, ev.Reconnects)
}

func TestMeterSidebandSeeingTheEndReleasesTheLease(t *testing.T) {
	for _, k := range sessionKinds() {
		t.Run(k.name, func(t *testing.T) {
			verifyNoLeaks(t)
			script := fakeupstream.SidebandScript{LiveSeconds: []float64{1}, Responses: testResponses[:1]}
			ms := newMeterStack(t, script, func(cfg *realtimesecret.Config) { cfg.VirtualKeys[0].MaxSessions = 1 })
			id := ms.create(t, k)
			resp, _ := ms.broker(t, k.path, k.contentType, k.body)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			ms.waitEvents(t, 1)

			// The session ends upstream without the middleware, as when
			// the browser leaves.
			require.True(t, ms.up.EndSession(id, "client_left"))

			ev := ms.next(t)
			assert.Equal(t, realtimesecret.UsageEnded, ev.End)
			assert.Equal(t, scriptUsage(script, k.endpoint), ev.Usage)
			ms.create(t, k) // the lease was released
		})
	}
}

func TestMeterCapEndsSessions(t *testing.T) {
	kinds := sessionKinds()
	for _, tc := range []struct {
		name               string
		kind               sessionKind
		hangups, closes    int
		wantReason         string
		script             fakeupstream.SidebandScript
		refuseLiveSideband bool
	}{
		{name: "call by hang-up", kind: kinds[0], hangups: 1, script: fakeupstream.SidebandScript{Responses: testResponses}},
		{name: "live by session.close on a sideband", kind: kinds[1], closes: 1, wantReason: "close_requested",
			script: fakeupstream.SidebandScript{LiveSeconds: []float64{0.5, 0.75}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			ms := newMeterStack(t, tc.script, func(cfg *realtimesecret.Config) {
				cfg.VirtualKeys[0].MaxSession = 500 * time.Millisecond
				cfg.VirtualKeys[0].MaxSessions = 1
			})
			ms.create(t, tc.kind)
			ev := ms.next(t)

			assert.Equal(t, realtimesecret.UsageCap, ev.End)
			assert.Equal(t, tc.wantReason, ev.Reason)
			assert.Equal(t, scriptUsage(tc.script, tc.kind.endpoint), ev.Usage)
			st := ms.up.SessionStats()
			assert.Equal(t, tc.hangups, st.Hangups)
			assert.Equal(t, 1, st.Ended)
			assert.Equal(t, tc.closes, ms.up.SidebandStats().SessionCloses)
			ms.create(t, tc.kind) // the lease was released
		})
	}
}

func TestMeterLiveCapFallsBackToHangupWithoutASideband(t *testing.T) {
	verifyNoLeaks(t)
	// The upstream refuses every attach: metering cannot see anything, and
	// the cap falls back to the hang-up endpoint, which OpenAI keeps for SIP
	// sessions: it refuses to hang up a WebRTC one. The session goes on, and
	// its meter reports what it knew when the Handler closes.
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{stackKey}, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/attach") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}})
	srv := newUpstream(t, up.ServeHTTP)
	t.Cleanup(up.Close)
	usage := make(chan realtimesecret.UsageEvent, 1)
	s := newStack(t, stackConfig{adapter: openai.Config{BaseURL: srv.srv.URL}, tweak: func(cfg *realtimesecret.Config) {
		cfg.UsageMetering = true
		cfg.OnUsage = func(ev realtimesecret.UsageEvent) { usage <- ev }
		cfg.VirtualKeys[0].MaxSession = 300 * time.Millisecond
	}})
	t.Cleanup(func() { require.NoError(t, s.handler.Close()) })
	ms := &meterStack{stack: s, up: up, usage: usage}
	id := ms.create(t, sessionKinds()[1])

	require.Eventually(t, func() bool { return up.SessionStats().Hangups == 1 }, 10*time.Second, 10*time.Millisecond,
		"the cap fell back to the hang-up endpoint")
	sess, ok := up.Session(id)
	require.True(t, ok)
	assert.True(t, sess.Active(), "a WebRTC Live session is not hung up")
	assert.Zero(t, up.SidebandStats().SessionCloses)

	require.NoError(t, s.handler.Close())
	ev := ms.next(t)
	assert.Equal(t, realtimesecret.UsageStopped, ev.End)
	require.Error(t, ev.Err)
	assert.NotContains(t, ev.Err.Error(), stackKey)
}

func TestMeterHandlerCloseStopsSidebandsAndLeavesSessions(t *testing.T) {
	verifyNoLeaks(t)
	script := fakeupstream.SidebandScript{Responses: testResponses[:1], LiveSeconds: []float64{2.5}}
	ms := newMeterStack(t, script, nil)
	kinds := sessionKinds()
	for i := range 4 {
		k := kinds[i%2]
		id := ms.create(t, k)
		require.Eventually(t, func() bool {
			u, ok := ms.handler.SessionUsage(id)
			return ok && u == scriptUsage(script, k.endpoint)
		}, 10*time.Second, 5*time.Millisecond)
	}
	assert.Equal(t, 4, ms.handler.MeteredSessions())

	require.NoError(t, ms.handler.Close())

	assert.Zero(t, ms.handler.MeteredSessions())
	require.Len(t, ms.usage, 4, "every metered session reports what was counted")
	for range 4 {
		ev := <-ms.usage
		assert.Equal(t, realtimesecret.UsageStopped, ev.End)
		assert.Equal(t, scriptUsage(script, ev.Record.Endpoint), ev.Usage)
	}
	require.Eventually(t, func() bool { return ms.up.SidebandStats().Open == 0 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 4, ms.up.ActiveSessions(), "closing the observers left the sessions running")
	assert.Zero(t, ms.up.SidebandStats().Dropped, "the sidebands were closed with a close frame")

	ms.create(t, kinds[0])
	assert.Zero(t, ms.handler.MeteredSessions(), "a closed Handler meters no new session")
}

func TestMeterLogLineOncePerSession(t *testing.T) {
	verifyNoLeaks(t)
	script := fakeupstream.SidebandScript{Responses: testResponses, LiveSeconds: []float64{1.25}}
	ms := newMeterStack(t, script, nil)
	kinds := sessionKinds()
	ids := []string{ms.create(t, kinds[0]), ms.create(t, kinds[1])}
	ms.waitEvents(t, 4)
	ms.hangup(t, kinds[0], ids[0])
	ms.hangup(t, kinds[1], ids[1])
	ms.next(t)
	ms.next(t)

	type usageLine struct {
		Msg          string         `json:"msg"`
		Level        string         `json:"level"`
		SessionID    string         `json:"session_id"`
		Provider     string         `json:"provider"`
		Endpoint     string         `json:"endpoint"`
		KeyID        string         `json:"key_id"`
		VirtualKeyID string         `json:"virtual_key_id"`
		End          string         `json:"end"`
		Reason       string         `json:"reason"`
		DurationMS   float64        `json:"duration_ms"`
		Usage        map[string]any `json:"usage"`
	}
	var lines []usageLine
	for line := range strings.SplitSeq(strings.TrimSpace(ms.logs.String()), "\n") {
		var l usageLine
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		if l.Msg == "realtime session usage" {
			lines = append(lines, l)
			assert.NotContains(t, line, stackKey)
			assert.NotContains(t, line, stackVK)
		}
	}
	require.Len(t, lines, 2, "one line per session")
	byID := map[string]usageLine{lines[0].SessionID: lines[0], lines[1].SessionID: lines[1]}
	call, live := byID[ids[0]], byID[ids[1]]
	want := scriptUsage(script, contract.EndpointCall)
	assert.Equal(t, "INFO", call.Level)
	assert.Equal(t, "calls", call.Endpoint)
	assert.Equal(t, "openai", call.Provider)
	assert.Equal(t, "primary", call.KeyID)
	assert.Equal(t, "web", call.VirtualKeyID)
	assert.Equal(t, "hangup", call.End)
	assert.Positive(t, call.DurationMS)
	assert.Equal(t, map[string]any{
		"responses":           float64(want.Responses),
		"input_tokens":        float64(want.InputTokens),
		"input_audio_tokens":  float64(want.InputTokenDetails.AudioTokens),
		"input_text_tokens":   float64(want.InputTokenDetails.TextTokens),
		"input_cached_tokens": float64(want.InputTokenDetails.CachedTokens),
		"input_image_tokens":  float64(want.InputTokenDetails.ImageTokens),
		"output_tokens":       float64(want.OutputTokens),
		"output_audio_tokens": float64(want.OutputTokenDetails.AudioTokens),
		"output_text_tokens":  float64(want.OutputTokenDetails.TextTokens),
	}, call.Usage)
	assert.Equal(t, "live_sessions", live.Endpoint)
	assert.Equal(t, "close_requested", live.Reason)
	assert.Equal(t, map[string]any{"seconds": 1.25}, live.Usage)
}
