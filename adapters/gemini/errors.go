package gemini

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo in the errors the
// Provider renders: its reason is the middleware's code, upper-cased
// ("RATE_LIMIT_EXCEEDED", "INVALID_API_KEY", ...).
const ErrorDomain = "realtimesecret"

// googleError is Google's error shape (google.rpc.Status in JSON), with
// one google.rpc.ErrorInfo detail.
type googleError struct {
	Error struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Status  string      `json:"status"`
		Details []errorInfo `json:"details,omitempty"`
	} `json:"error"`
}

type errorInfo struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// RenderError implements contract.ErrorRenderer: the middleware's errors
// on /{provider}/v1alpha/auth_tokens are answered in Google's shape,
//
//	{"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED",
//	  "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"realtimesecret"}]}}
//
// so that the SDK raises its usual ApiError with the status and message.
// The parameter at fault, if any, is the ErrorInfo's metadata "param".
func (p *Provider) RenderError(e *contract.Error) []byte {
	var g googleError
	g.Error.Code, g.Error.Message, g.Error.Status = e.Status, e.Message, grpcStatus(e.Status)
	if e.Code != "" {
		info := errorInfo{Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: strings.ToUpper(e.Code), Domain: ErrorDomain}
		if e.Param != "" {
			info.Metadata = map[string]string{"param": e.Param}
		}
		g.Error.Details = []errorInfo{info}
	}
	b, err := json.Marshal(&g)
	if err != nil { // strings and ints only: cannot fail
		return nil
	}
	return b
}

// grpcStatus is the canonical status Google answers with an HTTP status.
func grpcStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}
