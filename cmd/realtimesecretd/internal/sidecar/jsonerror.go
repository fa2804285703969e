package sidecar

import (
	"encoding/json"
	"net/http"
)

// writeJSONError writes an OpenAI-shaped error, like the core's, so that
// the official SDKs surface the sidecar's own errors the same way.
func writeJSONError(w http.ResponseWriter, status int, typ, code, message string) {
	type body struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	}
	b, _ := json.Marshal(map[string]body{"error": {Message: message, Type: typ, Code: code}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
