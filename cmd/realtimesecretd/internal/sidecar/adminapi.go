package sidecar

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// adminAPIPrefix is where the admin API is served, on the admin listener
// (or among the admin paths of the main one), when admin.token is set.
const adminAPIPrefix = "/admin/v1/virtual_keys/"

// endSessionsSuffix ends the path of the revocation route:
// POST /admin/v1/virtual_keys/{id}/end_sessions.
const endSessionsSuffix = "/end_sessions"

// adminAPI serves the admin API: the revocation of a virtual key's live
// brokered sessions. Every request needs "Authorization: Bearer <admin
// token>"; nothing is done for one without it.
type adminAPI struct {
	// token is the SHA-256 of admin.token: compared in constant time, and
	// of one length whatever the caller sends.
	token [sha256.Size]byte
	// keys are the configured virtual key ids.
	keys map[string]bool
	// endSessions is the core's Handler.EndSessions.
	endSessions func(ctx context.Context, virtualKeyID string) (int, error)
	// failures counts and logs the refused requests; it outlives the
	// adminAPI across reloads, so its log stays rate-limited.
	failures *authFailures
	log      *slog.Logger
	// usage answers the usage routes (usage.go); nil: none.
	usage *usageReport
}

func newAdminAPI(token realtimesecret.Secret, cfg *Config, endSessions func(context.Context, string) (int, error),
	failures *authFailures, log *slog.Logger) *adminAPI {
	a := &adminAPI{token: sha256.Sum256([]byte(token.Reveal())), keys: map[string]bool{}, endSessions: endSessions,
		failures: failures, log: log}
	for _, vk := range cfg.VirtualKeys {
		a.keys[vk.ID] = true
	}
	return a
}

// ServeHTTP answers a path under adminAPIPrefix: the route's path (404
// otherwise), then POST (405), then the token (401), then a configured
// virtual key (404).
func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if a.usage != nil && isUsagePath(r.URL) {
		a.serveUsage(w, r)
		return
	}
	id, ok := endSessionsID(r.URL)
	if !ok {
		writeJSONError(w, http.StatusNotFound, "invalid_request_error", "not_found", "no such admin path")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use POST on this path")
		return
	}
	if !a.authorized(r) {
		a.failures.refused(r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="realtimesecretd admin"`)
		writeJSONError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_admin_token",
			"send the admin token as Authorization: Bearer <admin.token>")
		return
	}
	if !a.keys[id] {
		writeJSONError(w, http.StatusNotFound, "invalid_request_error", "virtual_key_not_found",
			"no virtual key with this id is configured")
		return
	}
	// A revocation runs to its end even if the caller goes away.
	n, err := a.endSessions(context.WithoutCancel(r.Context()), id)
	attrs := []slog.Attr{slog.String("virtual_key_id", id), slog.Int("ended", n)}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.log.LogAttrs(r.Context(), level, "admin: sessions of a virtual key ended", attrs...)
	if err != nil {
		// The sessions counted are ended here (their leases are free) even
		// when their hang-up failed upstream; the log says which.
		writeEndedError(w, n)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"ended": n})
}

// authorized reports whether r carries the admin token as a bearer token.
func (a *adminAPI) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], a.token[:]) == 1
}

// endSessionsID returns the virtual key id of a revocation path,
// percent-decoded, so that any id can be named.
func endSessionsID(u *url.URL) (string, bool) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), adminAPIPrefix)
	if !ok {
		return "", false
	}
	escaped, ok := strings.CutSuffix(rest, endSessionsSuffix)
	if !ok || escaped == "" || strings.Contains(escaped, "/") {
		return "", false
	}
	id, err := url.PathUnescape(escaped)
	if err != nil {
		return "", false
	}
	return id, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeEndedError answers a revocation that did not fully succeed: 502 with
// how many sessions it ended and an OpenAI-shaped error.
func writeEndedError(w http.ResponseWriter, n int) {
	type errBody struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	}
	writeJSON(w, http.StatusBadGateway, struct {
		Ended int     `json:"ended"`
		Error errBody `json:"error"`
	}{Ended: n, Error: errBody{
		Message: "some sessions could not be listed or hung up upstream; the sidecar's log says which",
		Type:    "server_error", Code: "end_sessions_incomplete",
	}})
}
