package sidecar

import "net/http"

// adminMux serves the admin paths for GET and HEAD (405 otherwise), and
// passes every other path to next; next nil answers 404.
type adminMux struct {
	routes map[string]http.HandlerFunc
	next   http.Handler
}

func (m *adminMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
