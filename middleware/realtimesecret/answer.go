package realtimesecret

import (
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/errorbody"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// outcome is what serving one route produced: the answer, and what its
// event and log line report. The steps of a route return a reply or an
// *Error (which carries its own headers); the route gathers them here; the
// Handler writes the answer (write) and reports it (events.go), each in
// one place.
type outcome struct {
	// err is the answer when set; reply otherwise.
	err   *Error
	reply reply

	// Who and what the request was about, as far as it got.
	provider, model, principal, keyID, sessionID string
	// The principal's kind, its policy and its credential's ID (a jti),
	// for the audit trail.
	principalKind, policy, tokenID string
	// upstream is how long the provider call took; 0 without one.
	upstream time.Duration
	// cause is the internal cause of a failure, for the log; never
	// answered. storeErr is a store or registry failure the request
	// survived (or died of).
	cause, storeErr error
	// render writes err's body on a route of a provider's own endpoint;
	// nil: the OpenAI shape.
	render contract.ErrorRenderer
}

// reply is an answer passed on from the upstream: its status, its body
// byte for byte, and only its safe headers (see safeUpstreamHeader).
type reply struct {
	status      int
	upstream    http.Header // filtered when written
	location    string      // this server's path of a created session; "" for none
	contentType []string
	body        []byte
}

// passOn returns the reply that passes resp on under contentType.
func passOn(resp *contract.Reply, contentType []string) reply {
	return reply{status: resp.StatusCode, upstream: resp.Header, contentType: contentType, body: resp.Body}
}

// fail records e as the answer, and as the cause unless one is known.
func (o *outcome) fail(e *Error) {
	o.err = e
	if o.cause == nil {
		o.cause = e
	}
}

// status is the HTTP status answered.
func (o *outcome) status() int {
	if o.err != nil {
		return o.err.Status
	}
	return o.reply.status
}

// code is the code of the error the middleware answered; "" for a success
// and for an upstream error passed on as the provider wrote it.
func (o *outcome) code() string {
	if o.err != nil {
		return o.err.Code
	}
	return ""
}

// write answers the client, then flushes: every answer has a
// Content-Length, and without the flush net/http would send it only when
// the handler returns, after the log line and the hooks.
func (o *outcome) write(w http.ResponseWriter) {
	if o.err != nil {
		var body []byte
		if o.render != nil {
			body = o.render.RenderError(o.err)
		}
		writeErrorBody(w, o.err, body)
	} else {
		o.reply.write(w)
	}
	flush(w)
}

// writeError answers the client with e and its headers.
func writeError(w http.ResponseWriter, e *Error) { writeErrorBody(w, e, nil) }

// writeErrorBody answers the client with e's status and headers and body,
// or e in the OpenAI shape when body is nil.
func writeErrorBody(w http.ResponseWriter, e *Error, body []byte) {
	if body == nil {
		body = errorbody.Marshal(e.Message, e.Type, e.Param, e.Code)
	}
	h := w.Header()
	for name, values := range e.Header {
		h[http.CanonicalHeaderKey(name)] = values
	}
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	// The body is not HTML-escaped ('<' stays '<'): nosniff keeps a browser
	// from ever reading it as anything but JSON.
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(e.Status)
	_, _ = w.Write(body) //nolint:gosec // JSON served as application/json with nosniff, never HTML
}

// write writes the reply: its body byte for byte, with only its safe
// upstream headers.
func (rp *reply) write(w http.ResponseWriter) {
	dst := w.Header()
	for name, values := range rp.upstream {
		if safeUpstreamHeader(name) {
			dst[http.CanonicalHeaderKey(name)] = values
		}
	}
	if rp.location != "" {
		dst["Location"] = []string{rp.location}
	}
	// Set would canonicalize these constant, canonical keys again.
	dst["Content-Type"] = rp.contentType
	dst["Content-Length"] = []string{strconv.Itoa(len(rp.body))}
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body) //nolint:gosec // G705: the upstream reply passed through under its own Content-Type
}

var (
	jsonContentType = []string{"application/json"}
	sdpContentType  = []string{"application/sdp"}
	nosniff         = []string{"nosniff"}
)

// safeUpstreamHeader reports whether an upstream header may reach the
// client: request ids, OpenAI's own and rate limit headers. Cookies, auth
// and hop-by-hop headers never do.
func safeUpstreamHeader(name string) bool {
	return hasLowerPrefix(name, "x-request-id") && len(name) == len("x-request-id") ||
		hasLowerPrefix(name, "apim-request-id") && len(name) == len("apim-request-id") ||
		hasLowerPrefix(name, "openai-") || hasLowerPrefix(name, "x-ratelimit-")
}

// hasLowerPrefix reports whether s starts with the lower-case ASCII prefix,
// with ASCII letters of s compared case-insensitively. Unlike
// strings.ToLower it allocates nothing, and it never matches a non-ASCII
// byte: header names are ASCII tokens, so "X-Request-\u0130d" is not
// x-request-id even though ToLower makes it so.
func hasLowerPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// flush sends what w holds, as http.ResponseController's Flush does (through
// wrappers that have Unwrap), without allocating the controller. A writer
// that cannot flush sends it when the handler returns.
func flush(w http.ResponseWriter) {
	for {
		switch t := w.(type) {
		case http.Flusher:
			t.Flush()
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}
