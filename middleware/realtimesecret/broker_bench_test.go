package realtimesecret_test

import (
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// chromeOffer is the shape of the offer a browser makes for a voice call:
// one audio transceiver and the data channel, with host candidates.
var chromeOffer = strings.Join([]string{
	"v=0",
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
	"s=-",
	"t=0 0",
	"a=group:BUNDLE 0 1",
	"a=extmap-allow-mixed",
	"a=msid-semantic: WMS",
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
	"c=IN IP4 0.0.0.0",
	"a=rtcp:9 IN IP4 0.0.0.0",
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.20 50123 typ host generation 0 network-id 1",
	"a=candidate:3163936123 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 network-id 1",
	"a=ice-ufrag:Zx3H",
	"a=ice-pwd:dCQZ3dG8w1yR9QyN3sGi1iSL",
	"a=ice-options:trickle",
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
	"a=setup:actpass",
	"a=mid:0",
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
	"a=sendrecv",
	"a=msid:- 6a2b1f0e-6d63-4f0e-9f6e-3c1d5b7a9e21",
	"a=rtcp-mux",
	"a=rtcp-rsize",
	"a=rtpmap:111 opus/48000/2",
	"a=rtcp-fb:111 transport-cc",
	"a=fmtp:111 minptime=10;useinbandfec=1",
	"a=rtpmap:63 red/48000/2",
	"a=fmtp:63 111/111",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:13 CN/8000",
	"a=rtpmap:110 telephone-event/48000",
	"a=rtpmap:126 telephone-event/8000",
	"a=ssrc:2837546354 cname:Dd0v7dGm0fQ9vH2x",
	"a=ssrc:2837546354 msid:- 6a2b1f0e-6d63-4f0e-9f6e-3c1d5b7a9e21",
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	"c=IN IP4 0.0.0.0",
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.20 50124 typ host generation 0 network-id 1",
	"a=ice-ufrag:Zx3H",
	"a=ice-pwd:dCQZ3dG8w1yR9QyN3sGi1iSL",
	"a=ice-options:trickle",
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
	"a=setup:actpass",
	"a=mid:1",
	"a=sctp-port:5000",
	"a=max-message-size:262144",
	"",
}, "\r\n")

// quotedChromeOffer is chromeOffer as a JSON string, built once so that
// the fake provider costs the benchmark little.
var quotedChromeOffer = strconv.Quote(chromeOffer)

const benchCallSession = `{"type":"realtime","model":"openai/gpt-realtime","instructions":"You are a friendly assistant.",` +
	`"audio":{"output":{"voice":"marin"}}}`

// sessionFixtureProvider answers brokered sessions as OpenAI does, with an
// answer the size of a real one, in a new slice each time as an adapter
// reading a response would.
type sessionFixtureProvider struct {
	fixtureProvider
	n atomic.Uint64
}

var (
	callReplyHeader = http.Header{"Content-Type": {"application/sdp"}, "X-Request-Id": {"req_0123456789abcdef"}}
	liveReplyHeader = http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_0123456789abcdef"}}
)

func (p *sessionFixtureProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	id := strconv.FormatUint(p.n.Add(1), 10)
	if req.Endpoint == contract.EndpointLiveSession {
		body := append([]byte(`{"session":{"id":"sess_`+id+`"},"transport":{"type":"webrtc","sdp":`), quotedChromeOffer...)
		return &contract.Reply{StatusCode: http.StatusCreated, Header: liveReplyHeader, Body: append(body, "}}"...)}, nil
	}
	h := http.Header{"Content-Type": callReplyHeader["Content-Type"], "X-Request-Id": callReplyHeader["X-Request-Id"],
		"Location": {"/v1/realtime/calls/rtc_" + id}}
	return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(chromeOffer)}, nil
}

// BenchmarkCall brokers a WebRTC call in process: a browser-sized offer
// and session in multipart, parsed, policy-checked, rebuilt as multipart
// for the provider, answered and recorded.
func BenchmarkCall(b *testing.B) {
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("sdp", chromeOffer)
	_ = mw.WriteField("session", benchCallSession)
	_ = mw.Close()
	benchSession(b, contract.EndpointCall, mw.FormDataContentType(), body.String())
}

// BenchmarkLive creates a GPT-Live session in process.
func BenchmarkLive(b *testing.B) {
	body := `{"session":{"model":"openai/gpt-live-1","instructions":"You are a friendly assistant."},` +
		`"transport":{"type":"webrtc","sdp":` + strconv.Quote(chromeOffer) + `}}`
	benchSession(b, contract.EndpointLiveSession, "application/json", body)
}

func benchSession(b *testing.B, ep realtimesecret.Endpoint, contentType, body string) {
	h := realtimesecret.Middleware(baseConfig(&sessionFixtureProvider{}))(http.NotFoundHandler())
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodPost, ep.Path(), nil)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Authorization", "Bearer "+vkWeb)
	rd := strings.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = readCloser{rd}
		r.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.status != http.StatusCreated {
		b.Fatalf("status %d", w.status)
	}
}
