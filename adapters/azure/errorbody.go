package azure

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
	"github.com/realtimesecret/realtimesecret/internal/upstream"
)

// Caps on the fields of a rewritten error body. Azure's messages are a few
// hundred bytes; one that echoes a whole request need not reach clients.
const (
	maxMessageBytes = 2048
	maxFieldBytes   = 128
)

// azureError is the union of the error bodies Azure OpenAI and API
// Management answer with:
//
//	{"error":{"code":"DeploymentNotFound","message":"..."}}
//	{"error":{"code":"content_filter","message":"...","param":"prompt","type":null,"innererror":{"code":"ResponsibleAIPolicyViolation",...}}}
//	{"error":{"message":"...","type":"invalid_request_error","param":null,"code":"..."}}   (v1 API, OpenAI-shaped)
//	{"statusCode":401,"message":"Access denied due to missing subscription key..."}          (API Management)
//
// Members are decoded as raw JSON, so that a member of an unexpected type
// loses only itself, not the whole body.
type azureError struct {
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
}

type azureErrorDetail struct {
	Message    json.RawMessage `json:"message"`
	Type       json.RawMessage `json:"type"`
	Param      json.RawMessage `json:"param"`
	Code       json.RawMessage `json:"code"`
	InnerError *struct {
		Code json.RawMessage `json:"code"`
	} `json:"innererror"`
}

// mapError rewrites the non-2xx reply body of an Azure upstream into the
// OpenAI error shape, keeping what Azure said when it said it in a known
// shape. Every field is stripped of secret, the credential the request was
// sent with, and clipped. A body that is not a known shape gets a message
// naming the status only: an unknown body may echo anything.
func mapError(status int, body []byte, secret string) []byte {
	message, typ, param, code := "", statusType(status), "", ""

	var top azureError
	if json.Unmarshal(body, &top) == nil {
		var d azureErrorDetail
		switch {
		case isJSONObject(top.Error) && json.Unmarshal(top.Error, &d) == nil:
			message = jsonString(d.Message)
			if t := jsonString(d.Type); isToken(t) && !containsSecret(t, secret) {
				typ = t
			}
			param = clean(jsonString(d.Param), secret, maxFieldBytes)
			code = jsonCode(d.Code)
			if code == "" && d.InnerError != nil {
				code = jsonCode(d.InnerError.Code)
			}
			code = clean(code, secret, maxFieldBytes)
		case jsonString(top.Error) != "":
			message = jsonString(top.Error)
		}
		if message == "" {
			message = jsonString(top.Message)
		}
	}
	message = clean(message, secret, maxMessageBytes)
	if message == "" {
		message = "Azure OpenAI answered with status " + strconv.Itoa(status)
		if code == "" {
			code = "upstream_error"
		}
	}
	return errorbody.Marshal(message, typ, param, code)
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
	default:
		return "invalid_request_error"
	}
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// jsonString returns raw's value if it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonCode returns a code that is a string, or an integer as Azure sends
// some ("code": 429), as a string.
func jsonCode(raw json.RawMessage) string {
	if s := jsonString(raw); s != "" {
		return s
	}
	var n json.Number
	if len(raw) > 0 && raw[0] != '"' && json.Unmarshal(raw, &n) == nil {
		if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return n.String()
		}
	}
	return ""
}

// isToken reports whether s reads like an error type
// ("invalid_request_error"), not prose.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// clean makes s safe to show: valid UTF-8, without secret, at most limit
// bytes (cut at a rune boundary).
func clean(s, secret string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = upstream.Redact(s, secret)
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func containsSecret(s, secret string) bool {
	return secret != "" && strings.Contains(s, secret)
}
