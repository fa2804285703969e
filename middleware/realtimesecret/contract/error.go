package contract

import "net/http"

// Error is an error answered to the client as an OpenAI-shaped JSON body
// ({"error":{"message","type","param","code"}}) with Status. Its Message is
// shown to clients, so it must never hold a secret or internal error text.
// Authorizer funcs and Providers may return one to choose the answer.
type Error struct {
	Status  int    // HTTP status, 400-599
	Type    string // error.type, for example "invalid_request_error"
	Message string // error.message, safe to show to clients
	Param   string // error.param; "" is written as null
	Code    string // error.code; "" is written as null
	Err     error  // optional cause, for errors.Is and logs; never shown
	// Header holds headers answered with the error, such as Retry-After on
	// a 429 or Allow on a 405; nil means none. Content-Type and
	// Content-Length are the middleware's.
	Header http.Header
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "realtimesecret: " + e.Message + ": " + e.Err.Error()
	}
	return "realtimesecret: " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }
