package realtimesecret

import (
	"errors"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// The members of a GPT-Live request the middleware reads besides
// session.model: {"session":{...},"transport":{"type":"webrtc","sdp":"v=0..."}}.
var (
	liveRootKeys      = []string{"transport"}
	liveTransportKeys = []string{"type", "sdp"}
)

// checkLiveTransport checks the transport of a GPT-Live request: an object
// with type "webrtc" and an SDP offer. Nothing in it is rewritten; the
// checks spare the provider a request it would refuse, and a session that
// would never connect.
func checkLiveTransport(doc []byte, root jsonscan.Span) *Error {
	var top [1]jsonscan.Member
	if err := jsonscan.Members(doc, root, liveRootKeys, top[:]); err != nil {
		return membersError(err, "the request body", "")
	}
	t := top[0]
	if !t.Found() || jsonscan.IsNull(doc, t.Value) {
		return badRequest("transport is required: {\"type\":\"webrtc\",\"sdp\":\"<offer>\"}", "transport", "missing_transport")
	}
	if !jsonscan.IsObject(doc, t.Value) {
		return badRequest("transport must be an object", "transport", "invalid_type")
	}
	var m [2]jsonscan.Member
	if err := jsonscan.Members(doc, t.Value, liveTransportKeys, m[:]); err != nil {
		return membersError(err, "transport", "transport")
	}
	typ, ok := jsonscan.String(doc, m[0].Value)
	switch {
	case !m[0].Found():
		return badRequest("transport.type is required and must be \"webrtc\"", "transport.type", "missing_transport_type")
	case !ok || typ != "webrtc":
		return badRequest("transport.type must be \"webrtc\"", "transport.type", "invalid_transport_type")
	}
	if !m[1].Found() {
		return badRequest("transport.sdp is required: the WebRTC SDP offer", "transport.sdp", "missing_sdp")
	}
	at := m[1].Value
	if !jsonscan.IsString(doc, at) {
		return badRequest("transport.sdp must be a string", "transport.sdp", "invalid_type")
	}
	// The checks of checkOffer on the JSON string, decoding only its first
	// line: the document is valid UTF-8 already (Valid), and decoding a
	// whole offer was a third of a Live creation.
	switch {
	case at.End-at.Start == len(`""`):
		return emptyOffer("transport.sdp")
	case !jsonscan.StringHasPrefix(doc, at, "v=0\r\n") && !jsonscan.StringHasPrefix(doc, at, "v=0\n"):
		return notAnOffer("transport.sdp")
	}
	// The offer is limited as a call's sdp part is. A JSON string is never
	// shorter than what it decodes to, so only a long one is decoded.
	if at.End-at.Start-2 > maxOfferBytes {
		if sdp, _ := jsonscan.String(doc, at); len(sdp) > maxOfferBytes {
			return offerTooLarge("transport.sdp")
		}
	}
	return nil
}

// membersError is the answer for a jsonscan.Members failure in the object
// named where.
func membersError(err error, where, param string) *Error {
	if errors.Is(err, jsonscan.ErrDuplicateKey) {
		return badRequest(where+" repeats a key the middleware reads", param, "duplicate_key")
	}
	return badRequest(where+" must be valid JSON", param, "invalid_json")
}
