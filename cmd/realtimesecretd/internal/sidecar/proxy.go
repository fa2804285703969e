package sidecar

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// Attribution headers set on requests passed to the existing proxy for a
// redeemed token or a request naming a brokered session
// (?call_id= on the Realtime WebSocket path, a Live session's attach). Every header starting with "X-Realtime-" that the
// client sent is deleted first, so the proxy can trust them. One whose
// value would be empty (no virtual key, the provider's default model) is
// not set.
const (
	// HeaderKeyID is the ID of the upstream key the token was minted with.
	HeaderKeyID = "X-Realtime-Key-Id"
	// HeaderVirtualKeyID is the ID of the virtual key that minted it.
	HeaderVirtualKeyID = "X-Realtime-Virtual-Key-Id"
	// HeaderProvider is the configured provider name.
	HeaderProvider = "X-Realtime-Provider"
	// HeaderModel is the model sent upstream, after aliases.
	HeaderModel = "X-Realtime-Model"

	attributionPrefix = "X-Realtime-"
)

// newProxy returns the handler for everything that is not a mint or an
// admin path: the existing proxy at target, or, without one, 404.
func newProxy(target *url.URL, timeout time.Duration, conns *tracker, log *slog.Logger) http.Handler {
	if target == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSONError(w, http.StatusNotFound, "invalid_request_error", "not_found",
				"no such route: this sidecar has no upstream configured, so it serves only the realtime mint and session routes")
		})
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The existing proxy is a neighbour: an HTTP_PROXY meant for outbound
	// traffic must not reroute it.
	transport.Proxy = nil
	// Every request goes to the same host: keep enough idle connections
	// to it for a busy node.
	transport.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			setAttribution(pr.Out.Header, pr.In)
		},
		Transport: transport,
		// Streamed responses (server-sent events, chunked completions)
		// reach the client as they arrive.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			level := slog.LevelWarn
			if r.Context().Err() != nil {
				level = slog.LevelDebug // the client went away
			}
			log.LogAttrs(r.Context(), level, "upstream proxy request failed",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("error", proxyErrorText(err)))
			writeJSONError(w, http.StatusBadGateway, "api_error", "upstream_unavailable",
				"the upstream proxy could not be reached")
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &proxyHandler{rp: rp, timeout: timeout, conns: conns}
}

// proxyHandler replaces the server's read and write deadlines, meant for
// mints, with the proxy's: a streamed completion or a long upload must not
// be cut at the mint limits, and an expired read deadline would cancel the
// request's context mid-stream.
type proxyHandler struct {
	rp      *httputil.ReverseProxy
	timeout time.Duration
	conns   *tracker
}

func (h *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var deadline time.Time
	if h.timeout > 0 {
		deadline = time.Now().Add(h.timeout)
	}
	rc := http.NewResponseController(w)
	// Errors mean the writer cannot set deadlines (a test recorder); the
	// server's then stay.
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
	if isUpgrade(r) {
		// An upgraded connection is hijacked: the server's Shutdown no
		// longer waits for it, so the drain does.
		h.conns.add()
		defer h.conns.done()
	}
	h.rp.ServeHTTP(w, r)
}

// setAttribution deletes every X-Realtime-* header the client sent and,
// when the request redeems a known token or names a known brokered
// session, sets the attribution headers.
func setAttribution(out http.Header, in *http.Request) {
	for name := range out {
		if isAttributionName(name) {
			delete(out, name)
		}
	}
	rec, ok := realtimesecret.FromContext(in.Context())
	if !ok {
		return
	}
	set := func(name, v string) {
		if v != "" {
			out[name] = []string{v}
		}
	}
	set(HeaderKeyID, rec.KeyID)
	set(HeaderVirtualKeyID, rec.VirtualKeyID)
	set(HeaderProvider, rec.Provider)
	set(HeaderModel, rec.Model)
}

// isAttributionName reports whether a client header could be read as one
// of ours: case-insensitively, and with '_' as '-', since CGI and WSGI
// backends map both spellings to the same HTTP_X_REALTIME_... variable.
func isAttributionName(name string) bool {
	if len(name) < len(attributionPrefix) {
		return false
	}
	for i := range len(attributionPrefix) {
		c, want := name[i], attributionPrefix[i]
		if c == '_' {
			c = '-'
		}
		if c != want && c|0x20 != want|0x20 {
			return false
		}
	}
	return true
}

// isUpgrade reports whether r asks to switch protocols (WebSocket).
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for item := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(item), token) {
				return true
			}
		}
	}
	return false
}

// proxyErrorText is a proxy error for the log without the request URL,
// whose query may carry a credential.
func proxyErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
