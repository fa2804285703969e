package fakeupstream

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
)

// SampleOffer is a WebRTC SDP offer as Chrome makes it for a Realtime
// voice session: one audio transceiver (Opus, G.711) and one data channel,
// bundled, ICE candidates gathered. Tests send it where a browser would.
const SampleOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS 3f1b8c2e\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1467250027 1 udp 2122260223 127.0.0.1 46243 typ host generation 0\r\n" +
	"a=ice-ufrag:Yd2H\r\n" +
	"a=ice-pwd:R1kbK0k5qXqg4v0Gdd3XJ3Tn\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:3f1b8c2e 7a9d0c41\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=rtcp-fb:111 transport-cc\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:63 red/48000/2\r\n" +
	"a=fmtp:63 111/111\r\n" +
	"a=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\n" +
	"a=rtpmap:126 telephone-event/8000\r\n" +
	"a=ssrc:1001 cname:Ab3dEf6hIj9kLm2n\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=candidate:1467250027 1 udp 2122260223 127.0.0.1 46243 typ host generation 0\r\n" +
	"a=ice-ufrag:Yd2H\r\n" +
	"a=ice-pwd:R1kbK0k5qXqg4v0Gdd3XJ3Tn\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:1\r\n" +
	"a=sctp-port:5000\r\n" +
	"a=max-message-size:262144\r\n"

// CallBody returns a POST /v1/realtime/calls body the way the OpenAI SDKs
// send it, and its Content-Type: multipart/form-data with a part "sdp"
// (application/sdp) holding sdp and, unless session is "", a part
// "session" (application/json) holding session as it is.
func CallBody(sdp, session string) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	writePart(w, "sdp", "application/sdp", sdp)
	if session != "" {
		writePart(w, "session", "application/json", session)
	}
	_ = w.Close() // writes to a bytes.Buffer, which cannot fail
	return buf.Bytes(), w.FormDataContentType()
}

func writePart(w *multipart.Writer, name, contentType, content string) {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+name+`"`)
	h.Set("Content-Type", contentType)
	pw, _ := w.CreatePart(h) // cannot fail on a bytes.Buffer
	_, _ = pw.Write([]byte(content))
}
