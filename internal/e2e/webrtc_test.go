package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionCreatedEvent is what the answerer sends on the page's data
// channel once it opens, as OpenAI sends session.created first.
const sessionCreatedEvent = `{"type":"session.created","event_id":"event_e2e","session":{"object":"realtime.session","model":"gpt-realtime"}}`

// TestBrowserWebRTCCallThroughBroker is the browser's brokered WebRTC
// call end to end: a page in headless Chromium makes a real
// RTCPeerConnection offer (an audio transceiver and the "oai-events" data
// channel), posts it with a virtual key to the middleware, which creates
// the call upstream with the real key; the upstream is a real WebRTC peer
// (pion) that answers it. The page applies the answer, its data channel
// opens over loopback ICE and DTLS, and it receives the event the peer
// sends: the browser held no provider credential at any point.
func TestBrowserWebRTCCallThroughBroker(t *testing.T) {
	t.Parallel()
	chromium := lookTool(t, "install Debian's chromium: apt-get install chromium", "chromium")

	answerer := newWebRTCAnswerer(t)
	st := newStackWith(t, stackOptions{
		upstream: func(fake http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("POST "+upstreamCallsPath, answerer)
			mux.Handle("/", fake)
			return mux
		},
		next: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /webrtc/", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, webrtcPage)
			})
		},
	})

	// Host candidates as IP addresses rather than mDNS names the answerer
	// (mDNS off) could not resolve, and loopback allowed. The answerer
	// gathers on lo only, so the pair ICE selects is loopback at both ends
	// (asserted below): Chromium's checks to 127.0.0.1 reach it over lo
	// and it learns the browser's address as a peer-reflexive candidate.
	browser := newBrowser(t, chromium,
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
	)
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, 40*time.Second)
	defer cancel()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(st.URL+"/webrtc/")))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[webrtcResult](
		`runCall(`+jsString(vkWeb)+`, "openai/gpt-realtime")`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "the page's call")
	t.Logf("page: %+v", got)

	require.Empty(t, got.Error, "page error (steps: %v)", got.Steps)
	assert.Equal(t, http.StatusCreated, got.Status, "the broker's answer: %s", got.Body)
	assert.Equal(t, "application/sdp", got.ContentType)
	assert.Regexp(t, `^/v1/realtime/calls/rtc_[0-9a-f]+$`, got.Location, "Location on the broker's own path")
	assert.Equal(t, "open", got.ChannelState, "the data channel opened")
	assert.Equal(t, "connected", got.ConnectionState)
	assert.JSONEq(t, sessionCreatedEvent, got.Event, "the event the upstream peer sent")

	// The upstream peer saw the real key and the bare model; the call id
	// the broker recorded is the one the peer made.
	calls := answerer.calls()
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, "Bearer "+upstreamKeyRealtime, c.Authorization)
	assert.Equal(t, "gpt-realtime", c.Model)
	assert.True(t, c.ChannelOpened, "the answerer's side of the data channel opened")
	assert.Equal(t, "127.0.0.1 <-> 127.0.0.1", c.SelectedPair, "loopback ICE only")
	assert.Equal(t, "/v1/realtime/calls/"+c.ID, got.Location)
	rec, found, err := st.Handler.LookupSession(t.Context(), c.ID)
	require.NoError(t, err)
	require.True(t, found, "the broker recorded the call")
	assert.Equal(t, "web", rec.VirtualKeyID)
	assert.Equal(t, "gpt-realtime", rec.Model)
	assert.Equal(t, 0, st.Upstream.Count(), "nothing else reached the upstream")
}

// webrtcResult is what the page's runCall reports.
type webrtcResult struct {
	Status          int      `json:"status"`
	ContentType     string   `json:"contentType"`
	Location        string   `json:"location"`
	Body            string   `json:"body"` // the broker's answer when not 201
	ChannelState    string   `json:"channelState"`
	ConnectionState string   `json:"connectionState"`
	Event           string   `json:"event"`
	Error           string   `json:"error"`
	Steps           []string `json:"steps"`
	Candidates      []string `json:"candidates"` // the offer's a=candidate lines
}

// webrtcPage is the application page: what a voice app does in the
// browser with a broker, and nothing more. runCall resolves with a
// webrtcResult; every wait is bounded so a failure reports where it was.
const webrtcPage = `<!doctype html>
<meta charset="utf-8">
<title>realtimesecret e2e: brokered WebRTC call</title>
<script>
function within(ms, what, p) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms))]);
}
async function runCall(vk, model) {
  const out = { steps: [] };
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    const dc = pc.createDataChannel('oai-events');
    const opened = new Promise((resolve) => { dc.onopen = resolve; });
    const message = new Promise((resolve) => { dc.onmessage = (e) => resolve(e.data); });

    await pc.setLocalDescription(await pc.createOffer());
    // One offer with its candidates, as the broker forwards it whole.
    await within(10000, 'ICE gathering', new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    }));
    out.steps.push('offer');
    out.candidates = pc.localDescription.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));

    const form = new FormData();
    form.set('sdp', pc.localDescription.sdp);
    form.set('session', JSON.stringify({ type: 'realtime', model }));
    const res = await within(10000, 'POST /v1/realtime/calls', fetch('/v1/realtime/calls', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + vk },
      body: form,
    }));
    out.status = res.status;
    out.contentType = res.headers.get('Content-Type');
    out.location = res.headers.get('Location');
    const answer = await res.text();
    if (res.status !== 201) { out.body = answer; return out; }
    out.steps.push('answer');

    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await within(15000, 'data channel open', opened);
    out.steps.push('open');
    out.channelState = dc.readyState;
    out.connectionState = pc.connectionState;
    out.event = await within(5000, 'first event', message);
    out.steps.push('event');
  } catch (e) {
    out.error = String(e);
    out.channelState = out.channelState || '';
    out.connectionState = pc.connectionState;
  } finally {
    pc.close();
  }
  return out;
}
</script>
<p>brokered WebRTC call</p>
`

// jsString quotes s as a JavaScript string literal (s is plain ASCII here).
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// webrtcAnswerer is the upstream's POST /v1/realtime/calls played by a
// real WebRTC peer: it answers the offer with pion, on loopback only, and
// sends sessionCreatedEvent on the "oai-events" data channel when it opens.
type webrtcAnswerer struct {
	t   *testing.T
	api *webrtc.API

	mu  sync.Mutex
	pcs []*webrtc.PeerConnection
	log []answeredCall
}

// answeredCall is what the answerer saw of one call.
type answeredCall struct {
	ID            string
	Authorization string
	Model         string
	ChannelOpened bool
	// SelectedPair is the ICE candidate pair the data channel opened on,
	// "local <-> remote" addresses.
	SelectedPair string
}

func newWebRTCAnswerer(t *testing.T) *webrtcAnswerer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Bounded: a peer that never connects fails within seconds.
	se.SetICETimeouts(5*time.Second, 10*time.Second, time.Second)

	var me webrtc.MediaEngine
	require.NoError(t, me.RegisterDefaultCodecs())
	a := &webrtcAnswerer{
		t:   t,
		api: webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me)),
	}
	t.Cleanup(func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, pc := range a.pcs {
			assert.NoError(t, pc.Close())
		}
	})
	return a
}

func (a *webrtcAnswerer) calls() []answeredCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]answeredCall(nil), a.log...)
}

func (a *webrtcAnswerer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parts, err := readParts(r.Header.Get("Content-Type"), body)
	if err != nil || parts["sdp"] == "" {
		http.Error(w, "want multipart/form-data with an sdp part", http.StatusBadRequest)
		return
	}
	var session struct {
		Model string `json:"model"`
	}
	if parts["session"] != "" && json.Unmarshal([]byte(parts["session"]), &session) != nil {
		http.Error(w, "the session part is not a JSON object", http.StatusBadRequest)
		return
	}
	call := answeredCall{ID: newCallID(), Authorization: r.Header.Get("Authorization"), Model: session.Model}

	pc, err := a.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	a.pcs = append(a.pcs, pc)
	idx := len(a.log)
	a.log = append(a.log, call)
	a.mu.Unlock()

	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != "oai-events" {
			return
		}
		dc.OnOpen(func() {
			var pair string
			if p, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
				pair = p.Local.Address + " <-> " + p.Remote.Address
			}
			a.mu.Lock()
			a.log[idx].ChannelOpened = true
			a.log[idx].SelectedPair = pair
			a.mu.Unlock()
			if err := dc.SendText(sessionCreatedEvent); err != nil {
				a.t.Errorf("answerer: send on the data channel: %v", err)
			}
		})
	})

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: parts["sdp"]}); err != nil {
		http.Error(w, "offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, "answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		http.Error(w, "answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	select {
	case <-gathered:
	case <-r.Context().Done():
		return
	case <-time.After(10 * time.Second):
		http.Error(w, "ICE gathering did not complete", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", upstreamCallsPath+"/"+call.ID)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

// newCallID returns a call id as OpenAI writes them: "rtc_" and hex.
func newCallID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "rtc_" + hex.EncodeToString(b[:])
}
