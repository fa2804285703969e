package realtimesecret

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
)

// Sentinel errors an Authorizer may return (wrapped or not).
var (
	// ErrUnauthenticated answers 401: the caller is unknown.
	ErrUnauthenticated = errors.New("realtimesecret: unauthenticated")
	// ErrForbidden answers 403: the caller may not mint this.
	ErrForbidden = errors.New("realtimesecret: forbidden")
)

// Error types written in error.type.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeRateLimit      = "rate_limit_error"
	typeUpstream       = "upstream_error"
	typeServer         = "server_error"
)

func badRequest(msg, param, code string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typeInvalidRequest, Message: msg, Param: param, Code: code}
}

// writeError answers the client with e. Retry-After or Allow headers are set
// by the caller before.
func writeError(w http.ResponseWriter, e *Error) {
	body := errorbody.Marshal(e.Message, e.Type, e.Param, e.Code)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// The body is not HTML-escaped ('<' stays '<'): nosniff keeps a browser
	// from ever reading it as anything but JSON.
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body) //nolint:gosec // JSON served as application/json with nosniff, never HTML
}

// upstreamStatusError answers for an upstream error whose body is not
// OpenAI-shaped, keeping the upstream status.
func upstreamStatusError(status int) *Error {
	return &Error{Status: status, Type: typeUpstream, Code: "upstream_error",
		Message: "the upstream provider answered with status " + strconv.Itoa(status)}
}

// isOpenAIError reports whether body is an OpenAI-shaped error:
// a JSON object whose "error" is an object with a string "message".
func isOpenAIError(body []byte) bool {
	var v struct {
		Error *struct {
			Message *string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(body, &v) == nil && v.Error != nil && v.Error.Message != nil
}
