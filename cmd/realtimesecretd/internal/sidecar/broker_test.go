package sidecar_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// createCall brokers a WebRTC call through the sidecar at path with the
// harness's virtual key and session, and returns the answer and the call
// id from its Location.
func (h *harness) createCall(t *testing.T, path, session string) (reply, []byte, string) {
	t.Helper()
	body, contentType := fakeupstream.CallBody(fakeupstream.SampleOffer, session)
	resp, answer := do(t, http.MethodPost, h.URL+path, http.Header{
		"Authorization": {"Bearer " + virtualKey},
		"Content-Type":  {contentType},
	}, string(body))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	loc := resp.Header.Get("Location")
	return resp, answer, loc[strings.LastIndexByte(loc, '/')+1:]
}

// createLive creates a GPT-Live session through the sidecar and returns its
// id.
func (h *harness) createLive(t *testing.T) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"session":   map[string]string{"model": "openai/gpt-live-1"},
		"transport": map[string]string{"type": "webrtc", "sdp": fakeupstream.SampleOffer},
	})
	require.NoError(t, err)
	resp, answer := do(t, http.MethodPost, h.URL+"/v1/live/sessions", http.Header{
		"Authorization": {"Bearer " + virtualKey},
		"Content-Type":  {"application/json"},
	}, string(body))
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	var out struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	require.NoError(t, json.Unmarshal(answer, &out))
	require.NotEmpty(t, out.Session.ID, string(answer))
	return out.Session.ID
}

// hangup hangs up a brokered session through the sidecar.
func (h *harness) hangup(t *testing.T, path string) {
	t.Helper()
	resp, body := do(t, http.MethodPost, h.URL+path, http.Header{"Authorization": {"Bearer " + virtualKey}}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

// TestBrokerRoutesOnByDefault: with the minimal config the sidecar brokers
// calls and Live sessions and hangs them up, at the provider with its key,
// and reports each as a session request, not a mint: one "realtime
// session" log line with the session id, and
// realtimesecret_session_requests_total by endpoint.
func TestBrokerRoutesOnByDefault(t *testing.T) {
	h := start(t, options{})

	resp, answer, callID := h.createCall(t, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	assert.Equal(t, "application/sdp", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(string(answer), "v=0\r\n"), "an SDP answer: %q", answer)
	assert.Equal(t, "/v1/realtime/calls/"+callID, resp.Header.Get("Location"))
	got, ok := h.Fake.Last()
	require.True(t, ok)
	assert.Equal(t, "Bearer "+upstreamKey, got.Header.Get("Authorization"), "created with the provider key")

	resp, _, scopedID := h.createCall(t, "/openai/v1/realtime/calls", `{"type":"realtime","model":"gpt-realtime"}`)
	assert.Equal(t, "/openai/v1/realtime/calls/"+scopedID, resp.Header.Get("Location"), "Location is this server's path, provider scope included")

	liveID := h.createLive(t)
	assert.Equal(t, 3, h.Fake.SessionStats().Created())

	h.hangup(t, "/v1/realtime/calls/"+callID+"/hangup")
	h.hangup(t, "/v1/live/sessions/"+liveID+"/hangup")
	st := h.Fake.SessionStats()
	assert.Equal(t, 2, st.Ended)
	assert.Equal(t, 1, st.Active)
	assert.Zero(t, h.Proxy.count(), "brokered requests never reach the existing proxy")

	t.Run("log lines name the endpoint and the session id, and hold no secret", func(t *testing.T) {
		lines := h.Logs.await(t, "realtime session", 5)
		want := []struct{ endpoint, id string }{
			{"calls", callID}, {"calls", scopedID}, {"live_sessions", liveID},
			{"calls_hangup", callID}, {"live_sessions_hangup", liveID},
		}
		for i, w := range want {
			l := lines[i]
			assert.Equal(t, w.endpoint, l["endpoint"], "line %d", i)
			assert.Equal(t, w.id, l["session_id"], "line %d", i)
			assert.Equal(t, "openai", l["provider"], "line %d", i)
			assert.Equal(t, "web", l["virtual_key_id"], "line %d", i)
			assert.Equal(t, "primary", l["key_id"], "line %d", i)
		}
		assert.Equal(t, "gpt-live-1", lines[2]["model"])
		assert.Empty(t, h.Logs.lines(t, "realtime mint"), "a session request is not a mint")
		logs := h.Logs.String()
		for _, secret := range []string{upstreamKey, virtualKey} {
			assert.NotContains(t, logs, secret)
		}
	})
	t.Run("metrics count each endpoint", func(t *testing.T) {
		m := h.awaitMetrics(t,
			`realtimesecret_session_requests_total{endpoint="calls",provider="openai",status="201"} 2`,
			`realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="201"} 1`,
			`realtimesecret_session_requests_total{endpoint="calls_hangup",provider="openai",status="200"} 1`,
			`realtimesecret_session_requests_total{endpoint="live_sessions_hangup",provider="openai",status="200"} 1`,
			`realtimesecret_upstream_duration_seconds_count{endpoint="calls",provider="openai"} 2`,
			`realtimesecret_upstream_duration_seconds_count{endpoint="live_sessions_hangup",provider="openai"} 1`)
		assert.NotContains(t, m, "realtimesecret_mints_total{", "a session request is not a mint")
	})
	t.Run("refusals are counted by endpoint", func(t *testing.T) {
		resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/calls/rtc_unknown/hangup", http.Header{"Authorization": {"Bearer " + virtualKey}}, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
		h.awaitMetrics(t, `realtimesecret_session_requests_total{endpoint="calls_hangup",provider="",status="404"} 1`)
	})
}

// TestBrokeredSessionAttribution: a request the sidecar passes to the
// existing proxy that names a brokered session (?call_id= on the Realtime
// WebSocket path, a Live attach) carries the session's X-Realtime-*
// headers, and never the client's.
func TestBrokeredSessionAttribution(t *testing.T) {
	h := start(t, options{})
	_, _, callID := h.createCall(t, "/v1/realtime/calls", `{"type":"realtime","model":"openai/gpt-realtime"}`)
	liveID := h.createLive(t)
	spoofed := http.Header{
		"X-Realtime-Key-Id":         {"spoofed"},
		"X-Realtime-Virtual-Key-Id": {"spoofed"},
		"X-Realtime-Provider":       {"spoofed"},
		"X-Realtime-Model":          {"spoofed"},
		"X-Realtime-Other":          {"spoofed"},
	}
	tests := []struct {
		name  string
		path  string
		model string // "" when the request names no known session
	}{
		{name: "call_id on the WebSocket path", path: "/v1/realtime?call_id=" + callID, model: "gpt-realtime"},
		{name: "call_id among other parameters", path: "/openai/v1/realtime?model=x&call_id=" + callID, model: "gpt-realtime"},
		{name: "Live attach", path: "/v1/live/sessions/" + liveID + "/attach", model: "gpt-live-1"},
		{name: "unknown call_id", path: "/v1/realtime?call_id=rtc_unknown"},
		{name: "a Live id is not a call", path: "/v1/realtime?call_id=" + liveID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Proxy.count()
			do(t, http.MethodGet, h.URL+tc.path, spoofed.Clone(), "")
			require.Equal(t, before+1, h.Proxy.count(), "reached the existing proxy")
			got := h.Proxy.last(t)
			assert.Empty(t, got.Header.Values("X-Realtime-Other"), "every client X-Realtime-* header is removed")
			if tc.model == "" {
				for _, name := range attributionHeaders {
					assert.Empty(t, got.Header.Values(name), "%s: nothing known, nothing set", name)
				}
				return
			}
			assert.Equal(t, []string{"primary"}, got.Header.Values(sidecar.HeaderKeyID))
			assert.Equal(t, []string{"web"}, got.Header.Values(sidecar.HeaderVirtualKeyID))
			assert.Equal(t, []string{"openai"}, got.Header.Values(sidecar.HeaderProvider))
			assert.Equal(t, []string{tc.model}, got.Header.Values(sidecar.HeaderModel))
		})
	}
	assertMetric(t, h.metrics(t), `realtimesecret_redemptions_total{result="found"} 3`)
}
