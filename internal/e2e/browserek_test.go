package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// The OpenAI WebRTC flow with a client secret ("ek_"), through the sidecar:
// the app server mints the secret at the sidecar with its virtual key, the
// browser posts its SDP offer to {sidecar}/v1/realtime/calls with
// "Authorization: Bearer ek_..." and "Content-Type: application/sdp". The
// sidecar governs that call as it governs a brokered one (the minting key's
// lease first, then the call passed on to its upstream, then capped and
// metered with the provider key that minted the secret).

const (
	vkEK          = "vk-e2e-ek"     // max_sessions: 1, max_session: ekCap
	upstreamKeyEK = "sk-e2e-ek-key" // the sidecar's provider key, known to the fake
	ekCap         = 3 * time.Second
)

// ekSidecarYAML points both the provider (mints, hang-ups, sidebands) and
// the reverse proxy (the ek_ call itself, which the sidecar passes on as it
// would to an existing LLM proxy) at the test's upstream, and allows the
// page's origin.
var ekSidecarYAML = `
listen: 127.0.0.1:0
upstream: ${E2E_EK_UPSTREAM}
default_provider: openai
usage_metering: true
log_flush_interval: 0s
providers:
  openai:
    base_url: ${E2E_EK_UPSTREAM}
    keys:
      - id: primary
        value: ${E2E_EK_PROVIDER_KEY}
virtual_keys:
  - id: app
    value: ${E2E_VK_EK}
    models: [gpt-realtime]
    max_sessions: 1
    max_session: ` + ekCap.String() + `
cors:
  allowed_origins: ["%s"]
`

// ekScript is what the upstream's sideband reports for every call: the
// usage the sidecar must meter.
var ekScript = fakeupstream.SidebandScript{
	Responses: []fakeupstream.ResponseUsage{
		{InputTokens: 100, InputAudioTokens: 70, InputTextTokens: 30, InputCachedTokens: 40, OutputTokens: 50, OutputAudioTokens: 45, OutputTextTokens: 5},
		{InputTokens: 11, InputAudioTokens: 10, InputTextTokens: 1, OutputTokens: 7, OutputAudioTokens: 7},
	},
	Every: -1,
}

// ekScriptUsage is ekScript's usage as the sidecar logs it.
var ekScriptUsage = map[string]any{
	"responses": 2.0, "input_tokens": 111.0, "input_audio_tokens": 80.0, "input_text_tokens": 31.0,
	"input_image_tokens": 0.0, "input_cached_tokens": 40.0,
	"output_tokens": 57.0, "output_audio_tokens": 52.0, "output_text_tokens": 5.0,
}

// TestBrowserEKGuideFlow is OpenAI's WebRTC guide by hand in headless
// Chromium, with the sidecar as its base URL: the test, playing the app
// server, mints the client secrets; the page, on another origin, makes an
// RTCPeerConnection with a microphone track (Chromium's fake device) and
// the "oai-events" data channel and fetches its offer to
// {sidecar}/v1/realtime/calls with the secret. The call is governed: a
// second concurrent call of the same virtual key is 429 too_many_sessions
// before anything reaches the provider, the first is hung up at its
// max_session cap and its usage (from the upstream's sideband) is metered.
func TestBrowserEKGuideFlow(t *testing.T) {
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")
	up := newEKUpstream(t)
	pages := newEKPageHost(t, nil)
	sc := startSidecar(t, buildSidecar(t), fmt.Sprintf(ekSidecarYAML, pages.URL),
		"E2E_EK_UPSTREAM="+up.URL, "E2E_EK_PROVIDER_KEY="+upstreamKeyEK, "E2E_VK_EK="+vkEK)
	ek1, ek2, ek3 := mintEK(t, sc.URL), mintEK(t, sc.URL), mintEK(t, sc.URL)
	assert.Equal(t, pages.URL, preflightAllowOrigin(t, sc.URL+"/v1/realtime/calls", pages.URL, "authorization,content-type"),
		"the guide's preflight is allowed for the page's origin")

	page := openEKPage(t, newBrowser(t, chromium, ekBrowserFlags...), pages.URL+"/ek/", "window.guideReady === true")

	// The first call: 201, an SDP answer the browser applies, and a data
	// channel that opens to the upstream's peer over loopback.
	first := guideCall(t, page, sc.URL, ek1)
	require.Empty(t, first.Error, "page error (steps %v)", first.Steps)
	require.Equal(t, http.StatusCreated, first.Status, "the sidecar's answer: %s", first.Body)
	assert.Equal(t, "application/sdp", first.ContentType)
	assert.Equal(t, []string{"mic", "offer", "answer applied", "open", "event"}, first.Steps)
	assert.Equal(t, 1, first.MicTracks, "the offer carried the microphone track")
	assert.JSONEq(t, sessionCreatedEvent, first.Event, "the upstream peer's first event")
	calls := up.calls()
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, "/v1/realtime/calls/"+c.ID, first.Location, "the provider's Location, passed on")
	assert.Equal(t, "Bearer "+ek1, c.Authorization, "the browser's secret went on as it was")
	assert.Equal(t, "application/sdp", c.ContentType)
	assert.Equal(t, "app", c.VirtualKeyID, "the call reached the upstream attributed to the minting key")
	assert.True(t, c.ChannelOpened)

	// A second call while the first runs: refused before the provider,
	// and readable by the page (CORS headers on the refusal).
	second := guideCall(t, page, sc.URL, ek2)
	require.Empty(t, second.Error, "page error (steps %v)", second.Steps)
	assert.Equal(t, http.StatusTooManyRequests, second.Status)
	assert.Equal(t, "too_many_sessions", apiErrorCode(t, second.Body), second.Body)
	assert.Len(t, up.calls(), 1, "the refused call reached nothing upstream")
	assert.Equal(t, 1, up.fake.SessionStats().Calls)
	assert.Empty(t, page.corsErrors())

	// The cap: the sidecar hangs the first call up upstream at about
	// max_session after it let the call through, and the browser sees its
	// data channel close.
	var hungUp time.Time
	require.Eventually(t, func() bool {
		hungUp = up.hangupAt(c.ID)
		return !hungUp.IsZero()
	}, ekCap+10*time.Second, 20*time.Millisecond, "the cap did not hang the call up")
	lived := hungUp.Sub(c.At)
	t.Logf("capped after %v (cap %v)", lived, ekCap)
	assert.GreaterOrEqual(t, lived, ekCap-500*time.Millisecond, "not before the cap")
	assert.Less(t, lived, ekCap+3*time.Second, "at about the cap")
	closedAt := waitEval[float64](t, page, `window.calls[0].closedAt || 0`, func(v float64) bool { return v > 0 }, 10*time.Second,
		"the page's data channel did not close after the hang-up")
	assert.InDelta(t, float64(hungUp.UnixMilli()), closedAt, 5000, "the browser's channel closed with the hang-up")

	// Governed and metered: the sidecar's log and metrics.
	ended := awaitLogLine(t, sc, "realtime session ended", "session_id", c.ID)
	assert.Equal(t, "cap", ended["reason"])
	assert.Equal(t, "app", ended["virtual_key_id"])
	assert.Equal(t, "primary", ended["key_id"])
	usage := awaitLogLine(t, sc, "realtime session usage", "session_id", c.ID)
	assert.Equal(t, "cap", usage["end"])
	assert.Equal(t, "calls", usage["endpoint"])
	assert.Equal(t, "app", usage["virtual_key_id"])
	assert.Equal(t, "primary", usage["key_id"], "metered with the key that minted the secret")
	assert.Equal(t, ekScriptUsage, usage["usage"], "the usage the upstream's sideband reported")
	assert.Equal(t, []string{"Bearer " + upstreamKeyEK}, up.sidebandAuth(c.ID), "the sidecar attached the sideband with its provider key")

	// The cap freed the lease: a new call is let through.
	third := guideCall(t, page, sc.URL, ek3)
	require.Empty(t, third.Error, "page error (steps %v)", third.Steps)
	assert.Equal(t, http.StatusCreated, third.Status, third.Body)
	assert.Len(t, up.calls(), 2)

	samples := map[string]float64{
		`realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="cap"}`:                                    1,
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="audio",provider="openai",virtual_key="app"}`:  80,
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="text",provider="openai",virtual_key="app"}`:   31,
		`realtimesecret_usage_tokens_total{direction="input",endpoint="calls",kind="cached",provider="openai",virtual_key="app"}`: 40,
		`realtimesecret_usage_tokens_total{direction="output",endpoint="calls",kind="audio",provider="openai",virtual_key="app"}`: 52,
		`realtimesecret_usage_tokens_total{direction="output",endpoint="calls",kind="text",provider="openai",virtual_key="app"}`:  5,
		`realtimesecret_sessions_in_flight{virtual_key="app"}`:                                                                    1, // the third
	}
	assertMetrics(t, sc, samples)
	assert.Empty(t, page.corsErrors())
	for _, secret := range []string{vkEK, upstreamKeyEK, ek1, ek2, ek3} {
		assert.NotContains(t, sc.logs.String(), secret, "no secret reaches the log")
	}
}

// TestBrowserEKAgentsSDK is the same flow with the OpenAI Agents SDK's own
// WebRTC transport (@openai/agents-realtime, bundled for the page with
// esbuild): a RealtimeSession connects with the client secret, its calls URL
// set to the sidecar. The SDK's connect resolves only once its data channel
// is open and the upstream acknowledged its session.update, so the
// upstream is a real WebRTC peer. The session is governed like the guide's:
// a second session of the same virtual key is refused 429 before the
// provider, and the first is hung up at its cap.
func TestBrowserEKAgentsSDK(t *testing.T) {
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")
	bundle := bundleAgentsPage(t)
	up := newEKUpstream(t)
	pages := newEKPageHost(t, bundle)
	sc := startSidecar(t, buildSidecar(t), fmt.Sprintf(ekSidecarYAML, pages.URL),
		"E2E_EK_UPSTREAM="+up.URL, "E2E_EK_PROVIDER_KEY="+upstreamKeyEK, "E2E_VK_EK="+vkEK)
	ek1, ek2 := mintEK(t, sc.URL), mintEK(t, sc.URL)

	page := openEKPage(t, newBrowser(t, chromium, ekBrowserFlags...), pages.URL+"/agents/", "window.agentsReady === true")
	callsURL := sc.URL + "/v1/realtime/calls"

	// The SDK's fetch of the offer sends its own header,
	// X-OpenAI-Agents-SDK, beside Authorization and Content-Type: the
	// preflight must allow it by default, as it allows openai-node's.
	assert.Equal(t, pages.URL, preflightAllowOrigin(t, callsURL, pages.URL, "authorization,content-type,x-openai-agents-sdk"),
		"the sidecar's CORS allows the request headers of the Agents SDK's WebRTC transport")

	first := agentConnect(t, page, callsURL, ek1)
	require.True(t, first.OK, "the SDK's connect failed: %s (page errors %q, CORS errors %v)", first.Error, page.console(), page.corsErrors())
	assert.Equal(t, "connected", first.Status)
	assert.Equal(t, "open", first.ChannelState)
	calls := up.calls()
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, c.ID, first.CallID, "the SDK read the call id from the Location the sidecar passed on")
	assert.Equal(t, "Bearer "+ek1, c.Authorization)
	assert.Equal(t, "application/sdp", c.ContentType)
	assert.Regexp(t, `^openai-agents-sdk\.`, c.AgentsSDK, "the SDK's own request")
	assert.Equal(t, "app", c.VirtualKeyID)
	assert.True(t, c.ChannelOpened)
	require.NotEmpty(t, c.SessionUpdate, "the SDK configured its session on the data channel")
	assert.Contains(t, c.SessionUpdate, "Answer in one word.", "the agent's instructions")
	assertMetrics(t, sc, map[string]float64{`realtimesecret_sessions_in_flight{virtual_key="app"}`: 1})

	second := agentConnect(t, page, callsURL, ek2)
	assert.False(t, second.OK, "a second concurrent session of the key")
	assert.Contains(t, second.Error, "status 429", "the SDK reports the sidecar's refusal")
	assert.Contains(t, second.Error, "concurrent sessions")
	assert.Len(t, up.calls(), 1, "the refused session reached nothing upstream")
	assert.Equal(t, 1, up.fake.SessionStats().Calls)

	var hungUp time.Time
	require.Eventually(t, func() bool {
		hungUp = up.hangupAt(c.ID)
		return !hungUp.IsZero()
	}, ekCap+10*time.Second, 20*time.Millisecond, "the cap did not hang the session up")
	t.Logf("capped after %v (cap %v)", hungUp.Sub(c.At), ekCap)
	assert.GreaterOrEqual(t, hungUp.Sub(c.At), ekCap-500*time.Millisecond)
	assert.Less(t, hungUp.Sub(c.At), ekCap+3*time.Second)
	waitEval[float64](t, page, `window.agentState(0).closedAt`, func(v float64) bool { return v > 0 }, 10*time.Second,
		"the SDK's data channel did not close after the hang-up")

	ended := awaitLogLine(t, sc, "realtime session ended", "session_id", c.ID)
	assert.Equal(t, "cap", ended["reason"])
	assert.Equal(t, "app", ended["virtual_key_id"])
	usage := awaitLogLine(t, sc, "realtime session usage", "session_id", c.ID)
	assert.Equal(t, "cap", usage["end"])
	assert.Equal(t, ekScriptUsage, usage["usage"])
	assertMetrics(t, sc, map[string]float64{
		`realtimesecret_sessions_in_flight{virtual_key="app"}`:                                 0,
		`realtimesecret_sessions_ended_total{endpoint="calls",provider="openai",reason="cap"}`: 1,
	})
	assert.Empty(t, page.corsErrors())
	assert.NotContains(t, sc.logs.String(), "cors preflight refused")
}

// ekBrowserFlags: a fake microphone granted without a prompt, as a user
// would grant it; loopback ICE with IP host candidates (see
// TestBrowserWebRTCCallThroughBroker).
var ekBrowserFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	chromedp.Flag("allow-loopback-in-peer-connection", true),
}

// preflightAllowOrigin sends the CORS preflight a page on origin sends
// before POSTing to url with headers, and returns the answer's
// Access-Control-Allow-Origin ("" when refused).
func preflightAllowOrigin(t *testing.T, url, origin, headers string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", headers)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("Access-Control-Allow-Origin")
}

// mintEK mints a client secret at the sidecar with the virtual key, as the
// app server does in OpenAI's guide.
func mintEK(t *testing.T, sidecar string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sidecar+"/v1/realtime/client_secrets",
		strings.NewReader(`{"session":{"type":"realtime","model":"gpt-realtime"}}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+vkEK)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var out struct {
		Value string `json:"value"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Regexp(t, `^ek_[0-9a-f]+$`, out.Value)
	return out.Value
}

// apiErrorCode returns error.code of an OpenAI-shaped error body.
func apiErrorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Error.Code
}

// awaitLogLine waits (10 s) for the sidecar's JSON log line msg whose key
// has value, and returns it.
func awaitLogLine(t *testing.T, sc *sidecarProc, msg, key, value string) map[string]any {
	t.Helper()
	var found map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for found == nil {
		for _, l := range strings.Split(sc.logs.String(), "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(l), &line) == nil && line["msg"] == msg && line[key] == value {
				found = line
				break
			}
		}
		if found == nil {
			require.False(t, time.Now().After(deadline), "no %q line with %s %s in the sidecar's log", msg, key, value)
			time.Sleep(20 * time.Millisecond)
		}
	}
	return found
}

// assertMetrics waits (10 s) for the sidecar's /metrics to hold every
// sample in want, then asserts each.
func assertMetrics(t *testing.T, sc *sidecarProc, want map[string]float64) {
	t.Helper()
	matches := func(m []byte) bool {
		for series, v := range want {
			if got, ok := metricSample(m, series); !ok || got != v {
				return false
			}
		}
		return true
	}
	m := metricsWhen(t, sc.URL+"/metrics", matches)
	for series, v := range want {
		got, ok := metricSample(m, series)
		if assert.True(t, ok, "no %s in /metrics", series) {
			assert.InDelta(t, v, got, 1e-9, series)
		}
	}
}

// metricSample returns the value of series in a Prometheus exposition.
func metricSample(exposition []byte, series string) (float64, bool) {
	for _, line := range strings.Split(string(exposition), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// ekUpstream is the provider and the existing proxy behind the sidecar at
// once, on one loopback server: internal/fakeupstream for the mints,
// hang-ups and sidebands (scripted with ekScript), and a pion WebRTC peer
// that answers the browser's offer, so that the page's data channel really
// opens.
//
// OpenAI's calls created with a client secret belong to the project of the
// key that minted it: the app server hangs them up and attaches their
// sideband with that key (OpenAI's guide on server-side controls). The fake
// owns a raw-offer call by the secret itself, so the upstream creates each
// call in the fake with the minting key (recorded at the mint) and the
// offer, and answers with the fake's Location and the peer's SDP.
type ekUpstream struct {
	URL  string
	fake *fakeupstream.Server
	peer *webrtcAnswerer

	mu       sync.Mutex
	mintedBy map[string]string // a minted ek_ to the key that minted it
	log      []ekUpstreamCall
	hangups  map[string]time.Time
	pcs      map[string]*webrtc.PeerConnection
	sideband map[string][]string // call id to the Authorization of its sideband attaches
}

// ekUpstreamCall is what the upstream saw of one POST /v1/realtime/calls.
type ekUpstreamCall struct {
	At            time.Time
	ID            string
	Authorization string
	ContentType   string
	VirtualKeyID  string // X-Realtime-Virtual-Key-Id, the sidecar's attribution
	AgentsSDK     string // X-OpenAI-Agents-SDK
	ChannelOpened bool
	SessionUpdate string // the first session.update on the data channel
}

func newEKUpstream(t *testing.T) *ekUpstream {
	t.Helper()
	u := &ekUpstream{
		fake:     fakeupstream.New(fakeupstream.Options{Keys: []string{upstreamKeyEK}, Models: []string{"gpt-realtime"}, Sideband: ekScript}),
		peer:     newWebRTCAnswerer(t),
		mintedBy: map[string]string{},
		hangups:  map[string]time.Time{},
		pcs:      map[string]*webrtc.PeerConnection{},
		sideband: map[string][]string{},
	}
	srv := httptest.NewServer(u)
	t.Cleanup(func() {
		u.fake.Close() // its sidebands are hijacked connections
		srv.Close()
	})
	u.URL = srv.URL
	return u
}

func (u *ekUpstream) calls() []ekUpstreamCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]ekUpstreamCall(nil), u.log...)
}

func (u *ekUpstream) hangupAt(id string) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hangups[id]
}

func (u *ekUpstream) sidebandAuth(id string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.sideband[id]...)
}

func (u *ekUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == fakeupstream.PathClientSecrets:
		rec := httptest.NewRecorder()
		u.fake.ServeHTTP(rec, r)
		var out struct {
			Value string `json:"value"`
		}
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &out) == nil && out.Value != "" {
			u.mu.Lock()
			u.mintedBy[out.Value] = r.Header.Get("Authorization")
			u.mu.Unlock()
		}
		copyRecorded(w, rec)
	case r.Method == http.MethodPost && r.URL.Path == upstreamCallsPath:
		u.createCall(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, upstreamCallsPath+"/") && strings.HasSuffix(r.URL.Path, "/hangup"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, upstreamCallsPath+"/"), "/hangup")
		rec := httptest.NewRecorder()
		u.fake.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			u.mu.Lock()
			u.hangups[id] = time.Now()
			pc := u.pcs[id]
			u.mu.Unlock()
			if pc != nil {
				go func() { _ = pc.Close() }() // the provider ends the media too
			}
		}
		copyRecorded(w, rec)
	default:
		if id := r.URL.Query().Get("call_id"); r.Method == http.MethodGet && r.URL.Path == "/v1/realtime" && id != "" {
			u.mu.Lock()
			u.sideband[id] = append(u.sideband[id], r.Header.Get("Authorization"))
			u.mu.Unlock()
		}
		u.fake.ServeHTTP(w, r) // sidebands (WebSockets) and anything else
	}
}

// createCall answers the browser's raw offer, passed on by the sidecar.
func (u *ekUpstream) createCall(w http.ResponseWriter, r *http.Request) {
	call := ekUpstreamCall{
		At:            time.Now(),
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
		VirtualKeyID:  r.Header.Get("X-Realtime-Virtual-Key-Id"),
		AgentsSDK:     r.Header.Get("X-OpenAI-Agents-SDK"),
	}
	u.mu.Lock()
	idx := len(u.log)
	u.log = append(u.log, call)
	owner := u.mintedBy[strings.TrimPrefix(call.Authorization, "Bearer ")]
	u.mu.Unlock()

	offer, err := io.ReadAll(r.Body)
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case owner == "" || !strings.HasPrefix(call.Authorization, "Bearer ek_"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		return
	case call.ContentType != "application/sdp":
		http.Error(w, "want the guide's raw application/sdp offer", http.StatusBadRequest)
		return
	}

	// The call, in the fake, owned by the minting key.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("sdp", string(offer))
	_ = mw.Close()
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, upstreamCallsPath, &body)
	req.Header.Set("Authorization", owner)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	u.fake.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		copyRecorded(w, rec)
		return
	}
	location := rec.Header().Get("Location")
	id := location[strings.LastIndexByte(location, '/')+1:]

	pc, answer, err := u.answer(idx, string(offer))
	if err != nil {
		http.Error(w, "answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	u.mu.Lock()
	u.log[idx].ID = id
	u.pcs[id] = pc
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// answer answers offer with a pion peer on loopback that sends
// sessionCreatedEvent when the "oai-events" channel opens and acknowledges
// a session.update with session.updated, as OpenAI does.
func (u *ekUpstream) answer(idx int, offer string) (*webrtc.PeerConnection, string, error) {
	a := u.peer
	pc, err := a.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	a.mu.Lock()
	a.pcs = append(a.pcs, pc) // closed by the answerer's cleanup
	a.mu.Unlock()
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != "oai-events" {
			return
		}
		dc.OnOpen(func() {
			u.mu.Lock()
			u.log[idx].ChannelOpened = true
			u.mu.Unlock()
			_ = dc.SendText(sessionCreatedEvent)
		})
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			var ev struct {
				Type    string          `json:"type"`
				Session json.RawMessage `json:"session"`
			}
			if json.Unmarshal(m.Data, &ev) != nil || ev.Type != "session.update" {
				return
			}
			u.mu.Lock()
			if u.log[idx].SessionUpdate == "" {
				u.log[idx].SessionUpdate = string(m.Data)
			}
			u.mu.Unlock()
			updated, _ := json.Marshal(map[string]any{"type": "session.updated", "event_id": "event_e2e_updated", "session": ev.Session})
			_ = dc.SendText(string(updated))
		})
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return nil, "", fmt.Errorf("ICE gathering did not complete")
	}
	return pc, pc.LocalDescription().SDP, nil
}

// copyRecorded writes a recorded answer to w.
func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// ekPageHost serves the pages from their own loopback origin, as an app
// serves its page: /ek/ (the guide's steps) and, with a bundle, /agents/
// and its script.
func newEKPageHost(t *testing.T, bundle []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ek/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, ekGuidePage)
		case r.URL.Path == "/agents/" && bundle != nil:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<!doctype html><meta charset="utf-8"><title>Agents SDK WebRTC</title>`+
				`<script type="module" src="/agents/bundle.js"></script><p>Agents SDK</p>`)
		case r.URL.Path == "/agents/bundle.js" && bundle != nil:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(bundle)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// bundleAgentsPage bundles node/agents-webrtc.mjs and
// @openai/agents-realtime for the browser with the esbuild of
// node/node_modules (offline), into a temporary directory.
func bundleAgentsPage(t *testing.T) []byte {
	t.Helper()
	esbuild, err := filepath.Abs(filepath.Join("node", "node_modules", ".bin", "esbuild"))
	require.NoError(t, err)
	for _, p := range []string{esbuild, filepath.Join("node", "node_modules", "@openai", "agents-realtime", "package.json")} {
		if _, err := os.Stat(p); err != nil {
			missingTool(t, "node/node_modules is not installed (%s): run npm ci in internal/e2e/node", p)
		}
	}
	out := filepath.Join(t.TempDir(), "agents.js")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, esbuild, "agents-webrtc.mjs", "--bundle", "--format=esm", "--platform=browser",
		"--target=chrome120", "--log-level=warning", "--outfile="+out)
	cmd.Dir = "node"
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "esbuild: %s", msg)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

// ekPage is a tab on one of the pages, with the page's exceptions, console
// messages and CORS errors collected.
type ekPage struct {
	ctx context.Context
	mu  sync.Mutex
	log []string
	// cors are the CORS errors Chromium reported.
	cors []network.CorsError
}

func (p *ekPage) corsErrors() []network.CorsError {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]network.CorsError(nil), p.cors...)
}

func (p *ekPage) console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// openEKPage opens url in a new tab of browser (60 s for everything the
// test does there) and waits for ready to be true.
func openEKPage(t *testing.T, browser context.Context, url, ready string) *ekPage {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancel)
	p := &ekPage{ctx: ctx}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventLoadingFailed:
			if e.CorsErrorStatus != nil {
				p.cors = append(p.cors, e.CorsErrorStatus.CorsError)
			}
		case *runtime.EventExceptionThrown:
			p.log = append(p.log, exceptionText(e.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			p.log = append(p.log, e.Entry.Text+" "+e.Entry.URL)
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.log = append(p.log, string(e.Type)+": "+strings.Join(args, " "))
		}
	}))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](ready, chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the page did not load; page errors: %q", p.console())
	return p
}

// waitEval evaluates expr in the page until done accepts its value, or
// within passes, and returns the value.
func waitEval[T any](t *testing.T, p *ekPage, expr string, done func(T) bool, within time.Duration, failure string) T {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
		require.NoError(t, err, expr)
		if done(v) {
			return v
		}
		require.False(t, time.Now().After(deadline), "%s (last %v; page log %q)", failure, v, p.console())
		time.Sleep(50 * time.Millisecond)
	}
}

// guideResult is what the page's guideCall reports.
type guideResult struct {
	Status      int      `json:"status"`
	ContentType string   `json:"contentType"`
	Location    string   `json:"location"`
	Body        string   `json:"body"` // the answer when not 2xx
	MicTracks   int      `json:"micTracks"`
	Event       string   `json:"event"`
	Error       string   `json:"error"`
	Steps       []string `json:"steps"`
}

func guideCall(t *testing.T, p *ekPage, sidecar, ek string) guideResult {
	t.Helper()
	got, err := chromedp.Run(p.ctx, chromedp.Evaluate[guideResult](
		`guideCall(`+jsString(sidecar)+`, `+jsString(ek)+`)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "the page's call")
	t.Logf("page: %+v", got)
	return got
}

// agentResult is what the Agents SDK page's agentConnect reports.
type agentResult struct {
	OK           bool     `json:"ok"`
	Error        string   `json:"error"`
	CallID       string   `json:"callId"`
	Status       string   `json:"status"`
	ChannelState string   `json:"channelState"`
	Changes      []string `json:"changes"`
}

func agentConnect(t *testing.T, p *ekPage, url, ek string) agentResult {
	t.Helper()
	got, err := chromedp.Run(p.ctx, chromedp.Evaluate[agentResult](
		`agentConnect(`+jsString(url)+`, `+jsString(ek)+`)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "the page's connect")
	t.Logf("page: %+v", got)
	return got
}

// ekGuidePage follows OpenAI's WebRTC guide ("Connecting with WebRTC")
// step by step, with the sidecar as the base URL and the client secret the
// app server minted. Every wait is bounded so that a failure says where it
// was. window.calls keeps each call's peer connection open, for the test to
// see it end.
const ekGuidePage = `<!doctype html>
<meta charset="utf-8">
<title>realtimesecret e2e: OpenAI's WebRTC guide through the sidecar</title>
<script>
window.calls = [];
function within(ms, what, p) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms))]);
}
async function guideCall(baseUrl, EPHEMERAL_KEY) {
  const out = { steps: [] };
  const call = { out, closedAt: 0 };
  window.calls.push(call);
  try {
    // Create a peer connection
    const pc = new RTCPeerConnection();
    call.pc = pc;
    // Set up to play remote audio from the model
    const audioElement = document.createElement('audio');
    audioElement.autoplay = true;
    pc.ontrack = (e) => { audioElement.srcObject = e.streams[0]; };
    // Add local audio track for microphone input in the browser
    const ms = await navigator.mediaDevices.getUserMedia({ audio: true });
    pc.addTrack(ms.getTracks()[0]);
    out.micTracks = ms.getAudioTracks().length;
    out.steps.push('mic');
    // Set up data channel for sending and receiving events
    const dc = pc.createDataChannel('oai-events');
    const opened = new Promise((resolve) => dc.addEventListener('open', resolve));
    const firstEvent = new Promise((resolve) => dc.addEventListener('message', (e) => resolve(e.data), { once: true }));
    dc.addEventListener('close', () => { call.closedAt = Date.now(); });
    // Start the session using the Session Description Protocol (SDP)
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    out.steps.push('offer');
    const sdpResponse = await within(10000, 'POST /v1/realtime/calls', fetch(baseUrl + '/v1/realtime/calls', {
      method: 'POST',
      body: offer.sdp,
      headers: {
        Authorization: 'Bearer ' + EPHEMERAL_KEY,
        'Content-Type': 'application/sdp',
      },
    }));
    out.status = sdpResponse.status;
    out.contentType = sdpResponse.headers.get('Content-Type');
    out.location = sdpResponse.headers.get('Location');
    const text = await sdpResponse.text();
    if (!sdpResponse.ok) {
      out.body = text;
      pc.close();
      ms.getTracks().forEach((t) => t.stop());
      return out;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
    out.steps.push('answer applied');
    await within(15000, 'data channel open', opened);
    out.steps.push('open');
    out.event = await within(5000, 'first event', firstEvent);
    out.steps.push('event');
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
window.guideReady = true;
</script>
<p>OpenAI's WebRTC guide through the sidecar</p>
`
