package realtimesecret

import "net/http"

// serveMethodNotAllowed answers a method other than POST or OPTIONS on a
// mint route with 405 and Allow: POST. It is logged and reported to OnMint
// like any answer on a mint route, so that a client stuck on GET shows up
// in the log and the metrics.
func (h *Handler) serveMethodNotAllowed(w http.ResponseWriter, r *http.Request, rt route) {
	start := h.now()
	e := &Error{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
		Code: "method_not_allowed", Message: "use POST on this route"}
	ev := MintEvent{Endpoint: rt.endpoint, Status: e.Status, Code: e.Code, Err: e}
	if rt.provider != nil {
		ev.Provider = rt.provider.name
	}
	w.Header().Set("Allow", http.MethodPost)
	writeError(w, e)
	flush(w) // as serveMint: the log line and the hook are not the caller's wait
	ev.Duration = h.now().Sub(start)
	h.logMint(r.Context(), &ev)
	if h.onMint != nil {
		h.onMint(ev)
	}
}
