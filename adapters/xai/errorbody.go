package xai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
	"github.com/realtimesecret/realtimesecret/internal/upstream"
)

// maxMessageBytes caps the message of a rewritten error body.
const maxMessageBytes = 2048

// mapError rewrites the non-2xx reply body of xAI into the OpenAI error
// shape. xAI answers {"code":"Client specified an invalid argument",
// "error":"Incorrect API key provided: xa***cd. ..."}; an OpenAI-shaped
// body ({"error":{"message":...}}), which a proxy in front of xAI may
// answer, keeps its message. The message is stripped of secret and
// clipped; a body of another shape gets a message naming the status only,
// as it may echo anything.
func mapError(status int, body []byte, secret string) []byte {
	var top struct {
		Code  json.RawMessage `json:"code"`
		Error json.RawMessage `json:"error"`
	}
	message := ""
	if json.Unmarshal(body, &top) == nil {
		var s string
		var nested struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(top.Error, &s) == nil:
			message = s
		case json.Unmarshal(top.Error, &nested) == nil:
			message = nested.Message
		}
	}
	message = clip(strings.ToValidUTF8(upstream.Redact(message, secret), ""), maxMessageBytes)
	code := ""
	if message == "" {
		message, code = "xAI answered with status "+strconv.Itoa(status), "upstream_error"
	}
	return errorbody.Marshal(message, statusType(status), "", code)
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// statusType is the OpenAI error.type for an HTTP status.
func statusType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}
