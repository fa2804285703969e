package azure

import (
	"net/http"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// CodeUnsupportedEndpoint is the error.code of the 400 answered for an
// endpoint Azure does not serve (or this Provider is not configured for).
const CodeUnsupportedEndpoint = "unsupported_endpoint"

// gaClientSecrets is the endpoint the 400s point clients to.
var gaClientSecrets = contract.EndpointClientSecret.Path()

// unsupported is the answer for endpoint e, which has no URL: the message
// says what to use instead. It is built per call: the middleware owns the
// *Error it is given.
func unsupported(e contract.Endpoint) *contract.Error {
	var msg string
	switch e {
	case contract.EndpointSession:
		msg = "Azure OpenAI serves realtime client secrets at " + gaClientSecrets + " (GA); " +
			e.Path() + " needs Azure's preview API, and this provider has no api-version configured for it"
	case contract.EndpointTranscriptionSession:
		msg = "Azure OpenAI serves realtime client secrets at " + gaClientSecrets + " (GA); " +
			e.Path() + ` is not available: mint a transcription secret there with session.type "transcription"`
	default:
		msg = "this endpoint is not served by Azure OpenAI; use " + gaClientSecrets
	}
	return &contract.Error{
		Status:  http.StatusBadRequest,
		Type:    "invalid_request_error",
		Code:    CodeUnsupportedEndpoint,
		Message: msg,
	}
}
