package realtimesecret

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
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

func methodNotAllowed() *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest, Code: "method_not_allowed",
		Message: "use POST on this route", Header: http.Header{"Allow": {http.MethodPost}}}
}

func storeUnavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "store_unavailable",
		Message: "the token store is unavailable; try again later", Err: err}
}

// governanceUnavailable refuses a session whose limit cannot be checked:
// retryable, unlike a creation whose outcome is unknown.
func governanceUnavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "governance_unavailable",
		Message: "session limits cannot be checked now; try again shortly", Err: err,
		Header: http.Header{"Retry-After": {"1"}}}
}

// tooManySessions refuses one more session of who ("user alice").
func tooManySessions(who string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "too_many_sessions",
		Message: who + " has as many concurrent sessions as it may; end one first"}
}

// noRetry returns e with x-should-retry: false, which the official SDKs
// honour before their status-based retries: a session request the
// provider may have acted on must not be sent twice.
func noRetry(e *Error) *Error {
	c := *e
	c.Header = http.Header{"X-Should-Retry": {"false"}}
	return &c
}

// upstreamFailure maps a provider call's error to the answer.
func upstreamFailure(ctx context.Context, err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, contract.ErrUpstreamTimeout):
		return &Error{Status: http.StatusGatewayTimeout, Type: typeUpstream, Code: "upstream_timeout",
			Message: "the upstream provider did not answer in time"}
	case ctx.Err() != nil:
		// The client went away; there is no one to answer. 499 is what
		// proxies log for this.
		return &Error{Status: 499, Type: typeUpstream, Code: "client_closed_request", Message: "the client closed the request"}
	default:
		return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "upstream_unavailable",
			Message: "the upstream provider could not be reached or gave an unusable answer"}
	}
}

// upstreamRefusal is the answer to an upstream non-2xx reply: an
// OpenAI-shaped error body passed on with its status, anything else
// wrapped in an error that keeps the status.
func upstreamRefusal(resp *contract.Reply) (reply, *Error) {
	if !isOpenAIError(resp.Body) {
		return reply{}, &Error{Status: resp.StatusCode, Type: typeUpstream, Code: "upstream_error",
			Message: "the upstream provider answered with status " + strconv.Itoa(resp.StatusCode)}
	}
	return passOn(resp, jsonContentType), nil
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

// is2xx reports whether status is a success.
func is2xx(status int) bool { return status >= 200 && status <= 299 }
