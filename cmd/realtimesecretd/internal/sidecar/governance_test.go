package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// The tests of session governance through the sidecar: the YAML,
// the admin route that revokes, caps and limits through the HTTP surface.
// Their names match 'Governance|Lease|Cap|Meter'.

// governanceFile is the acceptance config of issue 13.
var governanceFile = filepath.Join("..", "..", "..", "..", "testdata", "sidecar.governance.yaml")

const (
	adminToken = "admin-token-0123456789abcdef"
	otherVK    = "vk-test-other-0123456789"
)

// brokerCall creates a WebRTC call through h with the virtual key vk and
// returns the status, the call id (on 201) and the answer's body.
func (h *harness) brokerCall(t *testing.T, vk string) (int, string, []byte) {
	t.Helper()
	body, contentType := fakeupstream.CallBody(fakeupstream.SampleOffer, `{"type":"realtime","model":"openai/gpt-realtime"}`)
	resp, answer := do(t, http.MethodPost, h.URL+"/v1/realtime/calls", http.Header{
		"Authorization": {"Bearer " + vk},
		"Content-Type":  {contentType},
	}, string(body))
	loc := resp.Header.Get("Location")
	return resp.StatusCode, loc[strings.LastIndexByte(loc, '/')+1:], answer
}

// brokerLive creates a GPT-Live session through h with the virtual key vk
// and returns the status, the session id (on 201) and the answer's body.
func (h *harness) brokerLive(t *testing.T, vk string) (int, string, []byte) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"session":   map[string]string{"model": "openai/gpt-live-1"},
		"transport": map[string]string{"type": "webrtc", "sdp": fakeupstream.SampleOffer},
	})
	require.NoError(t, err)
	resp, answer := do(t, http.MethodPost, h.URL+"/v1/live/sessions", http.Header{
		"Authorization": {"Bearer " + vk},
		"Content-Type":  {"application/json"},
	}, string(body))
	var out struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	if resp.StatusCode == http.StatusCreated {
		require.NoError(t, json.Unmarshal(answer, &out), string(answer))
	}
	return resp.StatusCode, out.Session.ID, answer
}

// active reports whether the fake upstream still runs session id.
func active(t *testing.T, fake *fakeupstream.Server, id string) bool {
	t.Helper()
	s, ok := fake.Session(id)
	require.True(t, ok, "the fake upstream never created %s", id)
	return s.Active()
}

func TestGovernanceConfig(t *testing.T) {
	const vkGov = `
virtual_keys:
  - id: web
    value: ${VK_WEB}
    max_session: ${MAX_SESSION:-90s}
    max_sessions: ${MAX_SESSIONS:-2}
`
	const providers = `
providers:
  openai:
    keys: [{id: primary, value: "${OPENAI_API_KEY}"}]
`
	t.Run("parsed", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte(providers+vkGov+`
usage_metering: true
admin: {token: "${ADMIN_TOKEN}"}
`), env(map[string]string{"OPENAI_API_KEY": upstreamKey, "VK_WEB": virtualKey, "ADMIN_TOKEN": adminToken}))
		require.NoError(t, err)
		vk := cfg.VirtualKeys[0]
		assert.Equal(t, sidecar.Duration(90*time.Second), vk.MaxSession)
		assert.Equal(t, sidecar.Count(2), vk.MaxSessions)
		assert.True(t, cfg.UsageMetering)
		assert.Nil(t, cfg.Providers["openai"].UsageMetering, "omitted: the top-level value applies")
		assert.Equal(t, adminToken, cfg.Admin.Token.Reveal())
		assert.NotContains(t, cfg.Admin.Token.String(), adminToken, "the token prints redacted")
	})
	t.Run("defaults", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte(minimalYAML), env(baseEnv()))
		require.NoError(t, err)
		assert.Zero(t, cfg.VirtualKeys[0].MaxSession, "no cap")
		assert.Zero(t, cfg.VirtualKeys[0].MaxSessions, "no limit")
		assert.False(t, cfg.UsageMetering)
		assert.Empty(t, cfg.Admin.Token, "no admin API")
	})
	t.Run("provider override", func(t *testing.T) {
		cfg, err := sidecar.Parse([]byte("usage_metering: true\n"+
			"providers: {openai: {usage_metering: false, keys: [{id: primary, value: k}]}}\n"+
			"virtual_keys: [{id: web, value: v}]\n"), env(nil))
		require.NoError(t, err)
		require.NotNil(t, cfg.Providers["openai"].UsageMetering)
		assert.False(t, *cfg.Providers["openai"].UsageMetering)
	})

	bad := []struct {
		name string
		vars map[string]string
		yaml string // beside providers and vkGov
		want []string
	}{
		{name: "negative max_sessions", vars: map[string]string{"MAX_SESSIONS": "-1"}, want: []string{"line 10", "negative"}},
		{name: "max_sessions not a number", vars: map[string]string{"MAX_SESSIONS": "two"}, want: []string{"line 10: virtual_keys[0].max_sessions: want an integer, got the value of ${MAX_SESSIONS}"}},
		{name: "max_sessions a fraction", vars: map[string]string{"MAX_SESSIONS": "1.5"}, want: []string{"line 10", "want an integer"}},
		{name: "negative max_session", vars: map[string]string{"MAX_SESSION": "-3s"}, want: []string{"line 9", "negative"}},
		{name: "max_session without a unit", vars: map[string]string{"MAX_SESSION": "3"}, want: []string{"line 9", "duration"}},
		{name: "usage_metering not a bool", yaml: "usage_metering: sometimes\n", want: []string{"line 11: usage_metering: want true or false, got \"sometimes\""}},
		{name: "short admin token", yaml: "admin: {token: \"${ADMIN_TOKEN}\"}\n", vars: map[string]string{"ADMIN_TOKEN": "short-secret"},
			want: []string{"admin.token", "16 characters"}},
		{name: "admin path under the admin API", yaml: "admin: {token: \"${ADMIN_TOKEN}\", metrics_path: /admin/v1/virtual_keys/metrics}\n",
			vars: map[string]string{"ADMIN_TOKEN": adminToken}, want: []string{"admin.metrics_path", "admin API"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"OPENAI_API_KEY": upstreamKey, "VK_WEB": virtualKey}
			for k, v := range tc.vars {
				vars[k] = v
			}
			_, err := sidecar.Parse([]byte(providers+vkGov+tc.yaml), env(vars))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "short-secret", "a token is never quoted")
		})
	}
}

// TestGovernanceConfigCheck: -check accepts the governance keys, in the
// example file and in testdata/sidecar.governance.yaml.
func TestGovernanceConfigCheck(t *testing.T) {
	for _, file := range []string{exampleFile, governanceFile} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			vars := baseEnv()
			vars["ADMIN_TOKEN"] = adminToken
			code := sidecar.Run(t.Context(), []string{"-config", file, "-check"}, env(vars), &stdout, &stderr)
			assert.Equal(t, 0, code, stderr.String())
			assert.Contains(t, stdout.String(), filepath.Base(file)+": OK")
		})
	}
}

// TestGovernanceAdminTokenOnListenWarns: an admin API served on the main
// listener is valid, and -check says where it is.
func TestGovernanceAdminTokenOnListenWarns(t *testing.T) {
	for _, tc := range []struct {
		name, admin, warning string
	}{
		{name: "on listen", admin: `admin: {token: "${ADMIN_TOKEN}"}`, warning: "admin.listen is not"},
		{name: "on admin.listen", admin: `admin: {token: "${ADMIN_TOKEN}", listen: "127.0.0.1:9090"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := baseEnv()
			vars["ADMIN_TOKEN"] = adminToken
			var stdout, stderr bytes.Buffer
			code := sidecar.Run(t.Context(), []string{"-config", writeConfig(t, minimalYAML+tc.admin+"\n"), "-check"}, env(vars), &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			if tc.warning == "" {
				assert.Empty(t, stderr.String())
			} else {
				assert.Contains(t, stderr.String(), tc.warning)
			}
			assert.NotContains(t, stderr.String(), adminToken)
		})
	}
}

// adminPost sends a revocation request for virtual key id to base with the
// Authorization header auth ("" for none).
func adminPost(t *testing.T, base, id, auth string) (reply, []byte) {
	t.Helper()
	header := http.Header{}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	return do(t, http.MethodPost, base+"/admin/v1/virtual_keys/"+id+"/end_sessions", header, "")
}

// TestGovernanceAdminEndSessions: the revocation route on the admin
// listener ends every live session of one virtual key, upstream, and none
// of another's; without the right token it ends nothing.
func TestGovernanceAdminEndSessions(t *testing.T) {
	h := start(t, options{adminListen: true, adminToken: adminToken, virtualKeys: map[string]string{"other": otherVK}})
	var web []string
	for range 2 {
		status, id, body := h.brokerCall(t, virtualKey)
		require.Equal(t, http.StatusCreated, status, string(body))
		web = append(web, id)
	}
	status, liveID, body := h.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	web = append(web, liveID)
	status, otherID, body := h.brokerCall(t, otherVK)
	require.Equal(t, http.StatusCreated, status, string(body))

	refused := []struct {
		name string
		auth string
	}{
		{name: "no token"},
		{name: "wrong token", auth: "Bearer " + strings.Repeat("x", len(adminToken))},
		{name: "token prefix", auth: "Bearer " + adminToken[:len(adminToken)-1]},
		{name: "not a bearer", auth: "Basic " + adminToken},
		{name: "a virtual key", auth: "Bearer " + virtualKey},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := adminPost(t, h.Admin, "web", tc.auth)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(body))
			assert.Contains(t, string(body), `"invalid_admin_token"`)
			assert.Equal(t, `Bearer realm="realtimesecretd admin"`, resp.Header.Get("WWW-Authenticate"))
		})
	}
	assert.Zero(t, h.Fake.SessionStats().Hangups, "a refused request ends nothing")
	for _, id := range append(web, otherID) {
		assert.True(t, active(t, h.Fake, id), id)
	}

	resp, body := adminPost(t, h.Admin, "nope", "Bearer "+adminToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"virtual_key_not_found"`)
	resp, body = do(t, http.MethodGet, h.Admin+"/admin/v1/virtual_keys/web/end_sessions", http.Header{"Authorization": {"Bearer " + adminToken}}, "")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(body))
	assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	resp, _ = do(t, http.MethodPost, h.Admin+"/admin/v1/virtual_keys/web/other", http.Header{"Authorization": {"Bearer " + adminToken}}, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Zero(t, h.Fake.SessionStats().Hangups)

	// The main listener does not serve it: the path is the existing
	// proxy's.
	resp, _ = adminPost(t, h.URL, "web", "Bearer "+adminToken)
	assert.Equal(t, "proxy", resp.Header.Get("X-From"))
	assert.Zero(t, h.Fake.SessionStats().Hangups)

	resp, body = adminPost(t, h.Admin, "web", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"ended": 3}`, string(body))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	for _, id := range web {
		assert.False(t, active(t, h.Fake, id), "%s was not ended upstream", id)
	}
	assert.True(t, active(t, h.Fake, otherID), "another key's session was ended")
	assert.Equal(t, 3, h.Fake.SessionStats().Ended)

	resp, body = adminPost(t, h.Admin, "web", "bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"ended": 0}`, string(body), "nothing left to end")

	eventually(t, func() bool { return len(h.Logs.lines(t, "admin: sessions of a virtual key ended")) == 2 },
		"one log line per revocation")
	lines := h.Logs.lines(t, "admin: sessions of a virtual key ended")
	assert.Equal(t, "web", lines[0]["virtual_key_id"])
	assert.InDelta(t, 3, lines[0]["ended"], 0)
	assert.InDelta(t, 0, lines[1]["ended"], 0)
	// Logged at a bounded rate (TestAdminAuthFailuresBounded), all counted.
	assert.NotEmpty(t, h.Logs.lines(t, "admin request refused: missing or wrong admin token"))
	h.awaitMetrics(t, "realtimesecret_admin_auth_failures_total "+strconv.Itoa(len(refused)))
	assert.NotContains(t, h.Logs.String(), adminToken, "the admin token is never logged")
}

// TestGovernanceAdminRouteNeedsToken: without admin.token the route does not
// exist, on the admin listener or on the main one's admin paths.
func TestGovernanceAdminRouteNeedsToken(t *testing.T) {
	h := start(t, options{adminListen: true})
	status, id, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	resp, _ := adminPost(t, h.Admin, "web", "Bearer "+adminToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	onMain := start(t, options{noUpstream: true})
	resp, _ = adminPost(t, onMain.URL, "web", "Bearer "+adminToken)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.True(t, active(t, h.Fake, id))

	// With a token and no admin.listen, the main listener's admin paths
	// serve it, before the proxy.
	withToken := start(t, options{adminToken: adminToken})
	status, id, body = withToken.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	resp, body = adminPost(t, withToken.URL, "web", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"ended": 1}`, string(body))
	assert.False(t, active(t, withToken.Fake, id))
	assert.Zero(t, withToken.Proxy.count(), "the proxy saw nothing")
}

// noLeaks checks, once the test and every cleanup registered after it
// have run (the sidecars stopped), that no goroutine the test started is
// left. Call it first.
func noLeaks(t *testing.T) {
	t.Helper()
	current := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, current)
	})
}

// sample returns the value of series (name{labels} as exposed, labels in
// sorted order) in exposition, and whether it is there.
func sample(exposition, series string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// inFlight returns the sidecar's realtimesecret_sessions_in_flight for vk.
func (h *harness) inFlight(t *testing.T, vk string) float64 {
	t.Helper()
	v, ok := sample(h.metrics(t), `realtimesecret_sessions_in_flight{virtual_key="`+vk+`"}`)
	require.True(t, ok, "no in-flight gauge for %q", vk)
	return v
}

// requireTooMany checks a 429 too_many_sessions answer.
func requireTooMany(t *testing.T, status int, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, status, string(body))
	assert.Equal(t, "too_many_sessions", errorCode(t, body))
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return e.Error.Code
}

// TestGovernanceLeasesThroughSidecar: with max_sessions: 2 the third
// concurrent session of the key is 429 too_many_sessions, counted in the
// session request metrics; a hang-up or a WebSocket's close frees a slot; the
// in-flight gauge follows and returns to 0.
func TestGovernanceLeasesThroughSidecar(t *testing.T) {
	noLeaks(t)
	h := start(t, options{webPolicy: "    max_sessions: 2\n"})
	status, live1, body := h.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, call1, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	assert.InDelta(t, 2, h.inFlight(t, "web"), 0)

	status, _, body = h.brokerLive(t, virtualKey)
	requireTooMany(t, status, body)
	status, _, body = h.brokerCall(t, virtualKey)
	requireTooMany(t, status, body)
	assert.Equal(t, 2, h.Fake.SessionsCreated(), "a refused session is never created upstream")
	h.awaitMetrics(t,
		`realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="429"} 1`,
		`realtimesecret_session_requests_total{endpoint="calls",provider="openai",status="429"} 1`,
		// told apart from a rate limit's 429 by its code
		`realtimesecret_session_request_errors_total{code="too_many_sessions",endpoint="live_sessions"} 1`,
		`realtimesecret_session_request_errors_total{code="too_many_sessions",endpoint="calls"} 1`)

	// A hang-up through the broker frees a slot.
	h.hangup(t, "/v1/live/sessions/"+live1+"/hangup")
	assert.InDelta(t, 1, h.inFlight(t, "web"), 0)
	status, live2, body := h.brokerLive(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	h.hangup(t, "/v1/realtime/calls/"+call1+"/hangup")

	// A WebSocket redeeming a token of the key holds the other slot until
	// it closes.
	token := h.mint(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	//nolint:bodyclose // the body is nil on success: coder/websocket says never to close it
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.URL, "http")+"/v1/realtime",
		&websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + token}})
	require.NoError(t, err)
	status, _, body = h.brokerCall(t, virtualKey)
	requireTooMany(t, status, body)
	require.NoError(t, ws.Close(websocket.StatusNormalClosure, ""))
	var call2 string
	eventually(t, func() bool {
		status, call2, _ = h.brokerCall(t, virtualKey)
		return status == http.StatusCreated
	}, "the WebSocket's close did not free its slot")

	h.hangup(t, "/v1/live/sessions/"+live2+"/hangup")
	h.hangup(t, "/v1/realtime/calls/"+call2+"/hangup")
	assert.InDelta(t, 0, h.inFlight(t, "web"), 0)
	assert.Zero(t, h.Fake.ActiveSessions())
}

// meterScript is the fake upstream's sideband script of the metering
// tests: two responses per call, running seconds per Live session.
var meterScript = fakeupstream.SidebandScript{
	Responses: []fakeupstream.ResponseUsage{
		{InputTokens: 100, InputAudioTokens: 70, InputTextTokens: 30, InputCachedTokens: 40, OutputTokens: 50, OutputAudioTokens: 45, OutputTextTokens: 5},
		{InputTokens: 11, InputAudioTokens: 10, InputTextTokens: 1, OutputTokens: 7, OutputAudioTokens: 7},
	},
	LiveSeconds: []float64{1.5, 2.25},
	Every:       -1,
}

// TestMeterUsageThroughSidecar: usage_metering: true meters brokered
// sessions; at their end the usage reaches the sidecar's log (one line per
// session) and its counters, by virtual key, exactly as the fake upstream
// reported it.
func TestMeterUsageThroughSidecar(t *testing.T) {
	noLeaks(t)
	h := start(t, options{extra: "usage_metering: true\n", sideband: meterScript,
		virtualKeys: map[string]string{"other": otherVK}})
	status, call, body := h.brokerCall(t, virtualKey)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, live, body := h.brokerLive(t, otherVK)
	require.Equal(t, http.StatusCreated, status, string(body))
	eventually(t, func() bool { return h.Fake.SidebandStats().Events == 4 }, "the sidebands did not attach")

	h.hangup(t, "/v1/realtime/calls/"+call+"/hangup")
	resp, body := do(t, http.MethodPost, h.URL+"/v1/live/sessions/"+live+"/hangup", http.Header{"Authorization": {"Bearer " + otherVK}}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	eventually(t, func() bool { return len(h.Logs.lines(t, "realtime session usage")) == 2 }, "one usage line per session")
	m := h.metrics(t)
	for series, want := range map[string]float64{
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="audio",provider="openai",virtual_key="web"}`:  80,
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="text",provider="openai",virtual_key="web"}`:   31,
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="cached",provider="openai",virtual_key="web"}`: 40,
		`realtimesecret_usage_tokens_total{direction="output",endpoint="calls",kind="audio",provider="openai",virtual_key="web"}`: 52,
		`realtimesecret_usage_tokens_total{direction="output",endpoint="calls",kind="text",provider="openai",virtual_key="web"}`:  5,
		`realtimesecret_session_seconds_total{endpoint="live_sessions",provider="openai",virtual_key="other"}`:                    2.25,
		`realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="hangup"}`:                                 1,
		`realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="hangup"}`:                         1,
		`realtimesecret_sessions_in_flight{virtual_key="web"}`:                                                                    0,
		`realtimesecret_sessions_in_flight{virtual_key="other"}`:                                                                  0,
	} {
		got, ok := sample(m, series)
		if assert.True(t, ok, "no %s in\n%s", series, m) {
			assert.InDelta(t, want, got, 1e-9, series)
		}
	}
	assert.NotContains(t, m, `kind="other"`, "the details add up to the totals")

	var usage map[string]any
	for _, line := range h.Logs.lines(t, "realtime session usage") {
		if line["session_id"] == call {
			usage = line
		}
	}
	require.NotNil(t, usage, "no usage line for the call")
	assert.Equal(t, "web", usage["virtual_key_id"])
	assert.Equal(t, "hangup", usage["end"])
	assert.Equal(t, map[string]any{
		"responses": 2.0, "input_tokens": 111.0, "input_audio_tokens": 80.0, "input_text_tokens": 31.0, "input_image_tokens": 0.0, "input_cached_tokens": 40.0,
		"output_tokens": 57.0, "output_audio_tokens": 52.0, "output_text_tokens": 5.0,
	}, usage["usage"])
	assert.NotContains(t, h.Logs.String(), upstreamKey)
}

// TestGovernanceAcceptance is issue 13's acceptance check, on
// testdata/sidecar.governance.yaml (demo: true, usage_metering: true, a
// virtual key with max_session: 3s and max_sessions: 2): the third
// concurrent POST /v1/live/sessions is 429 too_many_sessions, a new one is
// accepted once the caps have ended the first two, and /metrics then shows
// non-zero realtimesecret_session_seconds_total from the demo upstream's
// sidebands.
func TestGovernanceAcceptance(t *testing.T) {
	noLeaks(t)
	cfg, err := sidecar.Load(governanceFile, env(map[string]string{"ADMIN_TOKEN": adminToken}))
	require.NoError(t, err)
	require.Equal(t, []string{"openai"}, cfg.DemoProviders())
	logs := &syncBuffer{}
	srv, err := sidecar.New(cfg, sidecar.Options{Logger: newJSONLogger(logs)})
	require.NoError(t, err)
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adminLn, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, adminLn) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
	})
	h := &harness{URL: "http://" + ln.Addr().String(), Admin: "http://" + adminLn.Addr().String(), Logs: logs}
	const vk = "vk-gov-not-secret"

	created := time.Now()
	var first []string
	for range 2 {
		status, id, body := h.brokerLive(t, vk)
		require.Equal(t, http.StatusCreated, status, string(body))
		first = append(first, id)
	}
	status, _, body := h.brokerLive(t, vk)
	requireTooMany(t, status, body)

	var third string
	refused := 1
	require.Eventually(t, func() bool {
		status, third, body = h.brokerLive(t, vk)
		if status == http.StatusTooManyRequests {
			refused++
		}
		return status == http.StatusCreated
	}, 10*time.Second, 100*time.Millisecond, "no slot came free")
	assert.Greater(t, time.Since(created), 3*time.Second, "a slot came free before a cap was due")

	seconds := func() float64 {
		v, _ := sample(h.metrics(t), `realtimesecret_session_seconds_total{endpoint="live_sessions",provider="openai",virtual_key="gov"}`)
		return v
	}
	require.Eventually(t, func() bool { return seconds() > 0 }, 10*time.Second, 50*time.Millisecond,
		"no session seconds metered")
	h.awaitMetrics(t,
		`realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="429"} `+strconv.Itoa(refused),
		`realtimesecret_session_requests_total{endpoint="live_sessions",provider="openai",status="201"} 3`)
	eventually(t, func() bool {
		v, _ := sample(h.metrics(t), `realtimesecret_sessions_ended_total{endpoint="live_sessions",provider="openai",reason="cap"}`)
		return v == 2
	}, "the two caps were not counted")
	for _, line := range logs.lines(t, "realtime session usage") {
		assert.Contains(t, first, line["session_id"])
		assert.Equal(t, "cap", line["end"])
	}

	// Revocation through the admin listener ends the third one.
	resp, body := adminPost(t, h.Admin, "gov", "Bearer "+adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"ended": 1}`, string(body))
	assert.InDelta(t, 0, h.inFlight(t, "gov"), 0)
	require.NotEmpty(t, third)
}
