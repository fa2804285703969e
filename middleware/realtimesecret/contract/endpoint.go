package contract

import "net/url"

// Endpoint is the kind of request a route serves: one of the four kinds of
// client secret a mint route creates, a brokered session (a WebRTC call or
// a GPT-Live session) and its hang-up, or a mint of a provider's own API
// (EndpointAuthToken), which the middleware routes only under the scope of
// a provider that lists it (ProviderEndpoints).
type Endpoint uint8

// The four mint endpoints of the OpenAI Realtime API.
const (
	// EndpointClientSecret is the GA POST /v1/realtime/client_secrets.
	EndpointClientSecret Endpoint = iota + 1
	// EndpointSession is the beta POST /v1/realtime/sessions.
	EndpointSession
	// EndpointTranscriptionSession is the beta POST /v1/realtime/transcription_sessions.
	EndpointTranscriptionSession
	// EndpointTranslation is the GA POST /v1/realtime/translations/client_secrets.
	EndpointTranslation
)

// The brokered session endpoints: the middleware creates the
// session upstream with a provider key and the browser gets only the SDP
// answer.
const (
	// EndpointCall is the Realtime WebRTC POST /v1/realtime/calls.
	EndpointCall Endpoint = iota + 5
	// EndpointLiveSession is the GPT-Live POST /v1/live/sessions.
	EndpointLiveSession
	// EndpointCallHangup is POST /v1/realtime/calls/{call_id}/hangup.
	EndpointCallHangup
	// EndpointLiveSessionHangup is POST /v1/live/sessions/{session_id}/hangup.
	EndpointLiveSessionHangup
)

// The mint endpoints of other providers' own APIs. The middleware answers
// them only under the scope of a provider whose adapter lists them
// (ProviderEndpoints), at /{provider}{Path}, with the provider's request
// and answer shapes.
const (
	// EndpointAuthToken is Google's Gemini API POST /v1alpha/auth_tokens,
	// which mints an ephemeral token for the Live API. Its body is Google's
	// AuthToken (uses, expireTime, newSessionExpireTime,
	// bidiGenerateContentSetup, fieldMask) and its answer
	// {"name":"auth_tokens/..."}.
	EndpointAuthToken Endpoint = iota + 9
)

// endpointPaths maps each endpoint to its OpenAI path; a hang-up's is the
// collection the session id follows.
var endpointPaths = [...]string{ //nolint:gosec // G101: API paths, not credentials
	EndpointClientSecret:         "/v1/realtime/client_secrets",
	EndpointSession:              "/v1/realtime/sessions",
	EndpointTranscriptionSession: "/v1/realtime/transcription_sessions",
	EndpointTranslation:          "/v1/realtime/translations/client_secrets",
	EndpointCall:                 "/v1/realtime/calls",
	EndpointLiveSession:          "/v1/live/sessions",
	EndpointCallHangup:           "/v1/realtime/calls",
	EndpointLiveSessionHangup:    "/v1/live/sessions",
	EndpointAuthToken:            "/v1alpha/auth_tokens",
}

// endpointNames are the endpoints' names in logs and metrics.
var endpointNames = [...]string{ //nolint:gosec // G101: endpoint names, not credentials
	EndpointClientSecret:         "client_secrets",
	EndpointSession:              "sessions",
	EndpointTranscriptionSession: "transcription_sessions",
	EndpointTranslation:          "translations/client_secrets",
	EndpointCall:                 "calls",
	EndpointLiveSession:          "live_sessions",
	EndpointCallHangup:           "calls_hangup",
	EndpointLiveSessionHangup:    "live_sessions_hangup",
	EndpointAuthToken:            "auth_tokens",
}

// Endpoints lists the four mint endpoints of the OpenAI Realtime API, in a
// fixed order. EndpointAuthToken is not among them: it belongs to the
// providers that list it (ProviderEndpoints).
func Endpoints() []Endpoint {
	return []Endpoint{EndpointClientSecret, EndpointSession, EndpointTranscriptionSession, EndpointTranslation}
}

// SessionEndpoints lists the brokered session endpoints, in a fixed order:
// the two creations, then the two hang-ups.
func SessionEndpoints() []Endpoint {
	return []Endpoint{EndpointCall, EndpointLiveSession, EndpointCallHangup, EndpointLiveSessionHangup}
}

// Path returns the endpoint's path in its provider's API, for example
// "/v1/realtime/client_secrets" or, for EndpointAuthToken,
// "/v1alpha/auth_tokens". A hang-up's path has the session id in
// it: Path returns the collection ("/v1/realtime/calls"), and SessionPath
// the whole path. It returns "" for an unknown endpoint.
func (e Endpoint) Path() string {
	if e == 0 || int(e) >= len(endpointPaths) {
		return ""
	}
	return endpointPaths[e]
}

// SessionPath returns the OpenAI path of a request to e about the session
// id: the hang-up path "/v1/realtime/calls/{id}/hangup" for the hang-up
// endpoints (id path-escaped), and Path for every other endpoint.
func (e Endpoint) SessionPath(id string) string {
	if e.IsHangup() {
		return e.Path() + "/" + url.PathEscape(id) + "/hangup"
	}
	return e.Path()
}

// IsSession reports whether e is a brokered session endpoint (a creation
// or a hang-up) rather than a mint.
func (e Endpoint) IsSession() bool { return e >= EndpointCall && e <= EndpointLiveSessionHangup }

// IsHangup reports whether e ends a brokered session.
func (e Endpoint) IsHangup() bool { return e == EndpointCallHangup || e == EndpointLiveSessionHangup }

// String returns the endpoint's name in logs and metrics: the path below
// /v1/realtime/ for a mint ("client_secrets"), "calls", "live_sessions",
// "calls_hangup" or "live_sessions_hangup" for the brokered session
// endpoints, and "auth_tokens" for EndpointAuthToken.
func (e Endpoint) String() string {
	if e == 0 || int(e) >= len(endpointNames) {
		return "unknown"
	}
	return endpointNames[e]
}

// Hangup returns the hang-up endpoint of a session endpoint: a Live
// session's for EndpointLiveSession and its hang-up, a call's otherwise.
func (e Endpoint) Hangup() Endpoint {
	if e == EndpointLiveSession || e == EndpointLiveSessionHangup {
		return EndpointLiveSessionHangup
	}
	return EndpointCallHangup
}

// Creation returns the endpoint that creates the sessions of a session
// endpoint: EndpointLiveSession for a Live session and its hang-up,
// EndpointCall otherwise.
func (e Endpoint) Creation() Endpoint {
	if e == EndpointLiveSessionHangup || e == EndpointLiveSession {
		return EndpointLiveSession
	}
	return EndpointCall
}
