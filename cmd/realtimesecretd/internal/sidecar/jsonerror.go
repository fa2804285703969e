package sidecar

import (
	"net/http"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
)

// writeJSONError writes an OpenAI-shaped error with the core's writer, so
// that the official SDKs surface the sidecar's own errors the same way.
func writeJSONError(w http.ResponseWriter, status int, typ, code, message string) {
	b := errorbody.Marshal(message, typ, "", code)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
