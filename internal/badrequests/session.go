package badrequests

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SessionIDPlaceholder is replaced, in the path of a case with session_by,
// by the id of the session created for it.
const SessionIDPlaceholder = "{session_id}"

// Offer is a browser's WebRTC SDP offer (audio and a data channel), as the
// session_by setup and the broker cases send it.
const Offer = "v=0\r\n" +
	"o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Xq3B\r\n" +
	"a=ice-pwd:0b2iW9yZ5OHcbT0ZUdqXcN8X\r\n" +
	"a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=recvonly\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Xq3B\r\n" +
	"a=ice-pwd:0b2iW9yZ5OHcbT0ZUdqXcN8X\r\n" +
	"a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:1\r\n" +
	"a=sctp-port:5000\r\n"

// CallBoundary is the multipart boundary of the call bodies that
// SessionSetup and the call_sdp generator build.
const CallBoundary = "corpus-boundary"

// The kinds of brokered session a session_by case hangs up, told apart by
// the collection its path starts with.
const (
	callsCollection = "/v1/realtime/calls"
	liveCollection  = "/v1/live/sessions"
)

// SessionSetup returns the request that creates the session a session_by
// case needs, or nil when the case has none: a WebRTC call when the case's
// path is below .../v1/realtime/calls/, a GPT-Live session below
// .../v1/live/sessions/, created at that collection (prefix and provider
// scope included) with the session_by virtual key and the model
// openai/gpt-realtime or openai/gpt-live-1. Send it, read the id with
// CreatedID, and resolve the case with ResolveSession.
func (c *Corpus) SessionSetup(tc *Case) (*Request, error) {
	if tc.SessionBy == "" {
		return nil, nil
	}
	value, ok := c.OtherVirtualKeys[tc.SessionBy]
	if !ok {
		return nil, fmt.Errorf("case %q: session_by %q is not in other_virtual_keys", tc.Name, tc.SessionBy)
	}
	collection, _, ok := strings.Cut(tc.Path, "/"+SessionIDPlaceholder+"/")
	if !ok {
		return nil, fmt.Errorf("case %q: session_by needs a path with /%s/", tc.Name, SessionIDPlaceholder)
	}
	r := &Request{Method: http.MethodPost, Target: collection, Header: http.Header{"Authorization": {"Bearer " + value}}}
	switch {
	case strings.HasSuffix(collection, callsCollection):
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+CallBoundary)
		r.Body = callBody(Offer, `{"type":"realtime","model":"openai/gpt-realtime"}`)
	case strings.HasSuffix(collection, liveCollection):
		r.Header.Set("Content-Type", "application/json")
		body, err := json.Marshal(map[string]any{
			"session":   map[string]string{"model": "openai/gpt-live-1"},
			"transport": map[string]string{"type": "webrtc", "sdp": Offer},
		})
		if err != nil {
			return nil, err
		}
		r.Body = body
	default:
		return nil, fmt.Errorf("case %q: session_by needs a path below %s or %s", tc.Name, callsCollection, liveCollection)
	}
	return r, nil
}

// CreatedID returns the id of the session that the SessionSetup request
// setup created, from the answer: the last segment of a call's Location,
// or a Live session's session.id.
func CreatedID(setup *Request, status int, header http.Header, body []byte) (string, error) {
	if status != http.StatusCreated && status != http.StatusOK {
		return "", fmt.Errorf("session setup answered %d: %s", status, body)
	}
	if strings.HasSuffix(setup.Target, callsCollection) {
		loc := header.Get("Location")
		id := loc[strings.LastIndexByte(loc, '/')+1:]
		if id == "" {
			return "", errors.New("session setup: a call without a Location")
		}
		return id, nil
	}
	var live struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	if err := json.Unmarshal(body, &live); err != nil || live.Session.ID == "" {
		return "", fmt.Errorf("session setup: no session.id in %s", body)
	}
	return live.Session.ID, nil
}

// callBody is a multipart call body with the parts sdp and session.
func callBody(sdp, session string) []byte {
	return []byte("--" + CallBoundary + "\r\n" +
		"Content-Disposition: form-data; name=\"sdp\"\r\n\r\n" + sdp + "\r\n" +
		"--" + CallBoundary + "\r\n" +
		"Content-Disposition: form-data; name=\"session\"\r\nContent-Type: application/json\r\n\r\n" + session + "\r\n" +
		"--" + CallBoundary + "--\r\n")
}
