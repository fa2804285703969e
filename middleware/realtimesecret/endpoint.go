package realtimesecret

// Endpoint is the kind of client secret a mint route creates.
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

// endpointPaths maps each endpoint to its path below /v1/realtime/.
var endpointPaths = [...]string{
	EndpointClientSecret:         "client_secrets",
	EndpointSession:              "sessions",
	EndpointTranscriptionSession: "transcription_sessions",
	EndpointTranslation:          "translations/client_secrets",
}

// Endpoints lists every endpoint, in a fixed order.
func Endpoints() []Endpoint {
	return []Endpoint{EndpointClientSecret, EndpointSession, EndpointTranscriptionSession, EndpointTranslation}
}

// Path returns the endpoint's OpenAI path, for example
// "/v1/realtime/client_secrets". It returns "" for an unknown endpoint.
func (e Endpoint) Path() string {
	if e == 0 || int(e) >= len(endpointPaths) {
		return ""
	}
	return "/v1/realtime/" + endpointPaths[e]
}

// String returns the endpoint's path below /v1/realtime/, for example
// "client_secrets", used in logs and metrics.
func (e Endpoint) String() string {
	if e == 0 || int(e) >= len(endpointPaths) {
		return "unknown"
	}
	return endpointPaths[e]
}
