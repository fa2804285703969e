package sidecar

import (
	"net/http"
	"strings"
)

// adminMux serves the admin paths for GET and HEAD (405 otherwise), the
// admin API under adminAPIPrefix when it is on, and passes every other
// path to next; next nil answers 404.
type adminMux struct {
	routes map[string]http.HandlerFunc
	api    http.Handler // nil without admin.token: the admin API does not exist
	next   http.Handler
}

func (m *adminMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.api != nil && (strings.HasPrefix(r.URL.Path, adminAPIPrefix) || r.URL.Path == adminUsagePath) {
		m.api.ServeHTTP(w, r)
		return
	}
	h, ok := m.routes[r.URL.Path]
	if !ok {
		if m.next == nil {
			writeJSONError(w, http.StatusNotFound, "invalid_request_error", "not_found", "no such admin path")
			return
		}
		m.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use GET on this path")
		return
	}
	h(w, r)
}
