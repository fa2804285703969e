package fakeupstream

import (
	"encoding/hex"
	"net/http"
	"strconv"
)

// apiError is an OpenAI-shaped error answer.
type apiError struct {
	status  int
	message string
	typ     string // "" = invalid_request_error
	param   string // "" = null
	code    string // "" = null
}

var (
	errMethod   = &apiError{status: http.StatusMethodNotAllowed, message: "Method not allowed.", code: "method_not_allowed"}
	errTooLarge = &apiError{status: http.StatusRequestEntityTooLarge,
		message: "Request body too large.", code: "request_too_large"}
	errUnreadable = &apiError{status: http.StatusBadRequest, message: "Could not read the request body."}
	errNotJSON    = &apiError{status: http.StatusBadRequest,
		message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your " +
			"HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"}
	errNotObject = &apiError{status: http.StatusBadRequest,
		message: "Invalid type for body: expected an object.", code: "invalid_type"}
	// errBetaDisabled is OpenAI's answer on the beta routes since it
	// switched the beta API off.
	errBetaDisabled = &apiError{status: http.StatusBadRequest,
		message: "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.", code: "beta_api_shape_disabled"}
)

func missing(param string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "missing_required_parameter",
		message: "Missing required parameter: '" + param + "'."}
}

func invalidType(param, want string, got []byte) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "invalid_type",
		message: "Invalid type for '" + param + "': expected " + want + ", but got " + kindOf(got) + " instead."}
}

func invalidValue(param, got, allowed string) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: "invalid_value",
		message: "Invalid value: '" + got + "'. Supported values are: " + allowed + "."}
}

func writeError(w http.ResponseWriter, e *apiError) {
	typ := e.typ
	if typ == "" {
		typ = "invalid_request_error"
	}
	b := make([]byte, 0, 96+len(e.message))
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, e.message)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullable(b, e.param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, e.code)
	b = append(b, "}}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	setCommonHeaders(h)
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// setCommonHeaders sets what OpenAI sends on every API answer: a request id
// and a Cloudflare cookie, the latter so that code under test proves it
// does not pass Set-Cookie on.
func setCommonHeaders(h http.Header) {
	var raw [16]byte
	randomBytes(raw[:])
	id := hex.EncodeToString(raw[:])
	h.Set("X-Request-Id", "req_"+id)
	h.Set("Set-Cookie", "__cf_bm="+id+"; path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None")
}
