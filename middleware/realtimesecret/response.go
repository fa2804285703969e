package realtimesecret

import (
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// replyKeys are the members of a mint reply that hold the token: at the top
// of a GA reply, inside client_secret of a beta one.
var replyKeys = []string{"value", "expires_at", "client_secret"}

// mintedToken returns the token a 2xx mint reply carries and its expiry in
// unix seconds: value and expires_at at the top (GA), else inside
// client_secret (beta). ok is false unless one of the two places has a
// non-empty string value and a positive integer expires_at.
//
// It reads the reply as encoding/json would decode it into {value *string;
// expires_at int64; client_secret *{value *string; expires_at int64}}, at a
// fraction of the cost: null counts as absent, and a member of another type
// makes the whole reply unusable. Unlike encoding/json, and like the client
// that parses the reply and tokenSpan, it matches names exactly; and a
// reply that repeats one of them, or holds invalid UTF-8, is unusable, as
// the token stored must be the one the client reads.
func mintedToken(body []byte) (token string, expiresAt int64, ok bool) {
	if !jsonscan.Valid(body) {
		return "", 0, false
	}
	root := jsonscan.Root(body)
	if !jsonscan.IsObject(body, root) {
		return "", 0, false
	}
	var top, inner [3]jsonscan.Member
	if jsonscan.Members(body, root, replyKeys, top[:]) != nil {
		return "", 0, false
	}
	token, expiresAt, ok = secretMembers(body, top[0], top[1])
	if !ok {
		return "", 0, false
	}
	if cs := top[2]; cs.Found() && !jsonscan.IsNull(body, cs.Value) {
		if !jsonscan.IsObject(body, cs.Value) || jsonscan.Members(body, cs.Value, replyKeys[:2], inner[:2]) != nil {
			return "", 0, false
		}
	}
	innerToken, innerExpiresAt, ok := secretMembers(body, inner[0], inner[1])
	switch {
	case !ok:
		return "", 0, false
	case token != "" && expiresAt > 0:
		return token, expiresAt, true
	case innerToken != "" && innerExpiresAt > 0:
		return innerToken, innerExpiresAt, true
	}
	return "", 0, false
}

// secretMembers reads a value (string or null) and an expires_at (integer
// or null); ok is false when either has another type.
func secretMembers(body []byte, value, expiresAt jsonscan.Member) (string, int64, bool) {
	var token string
	if value.Found() && !jsonscan.IsNull(body, value.Value) {
		s, ok := jsonscan.String(body, value.Value)
		if !ok {
			return "", 0, false
		}
		token = s
	}
	var at int64
	if expiresAt.Found() && !jsonscan.IsNull(body, expiresAt.Value) {
		// encoding/json decodes an int64 with ParseInt too: a fraction, an
		// exponent, a string or a bool is a type error.
		n, err := strconv.ParseInt(string(body[expiresAt.Value.Start:expiresAt.Value.End]), 10, 64)
		if err != nil {
			return "", 0, false
		}
		at = n
	}
	return token, at, true
}

// answer writes the upstream reply and stores the token record.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, resp *contract.Reply, rec Record, m *mint) *Error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return h.answerUpstreamError(w, resp, m)
	}
	token, expiresAt, ok := mintedToken(resp.Body)
	if !ok {
		return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
			Message: "the upstream provider answered without a client secret"}
	}
	rec.ExpiresAt = time.Unix(expiresAt, 0)
	if h.sealer != nil {
		body, err := h.sealBody(resp.Body, token, &rec)
		if err != nil {
			m.ev.Err = err
			return &Error{Status: http.StatusBadGateway, Type: typeUpstream, Code: "invalid_upstream_response",
				Message: "the upstream provider's client secret could not be sealed"}
		}
		resp = &contract.Reply{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	} else if rec.ExpiresAt.After(h.now()) { // expired on arrival: nothing to attribute
		if err := h.store.Put(r.Context(), contract.HashToken(token), rec); err != nil {
			m.ev.StoreErr = err
			if h.strict {
				return storeUnavailable(err)
			}
		}
	}
	m.ev.Status = resp.StatusCode
	writeUpstream(w, resp)
	return nil
}

// writeUpstream writes an upstream JSON reply with only its safe headers.
func writeUpstream(w http.ResponseWriter, resp *contract.Reply) {
	writeReply(w, resp, jsonContentType)
}

// writeReply writes an upstream reply, its body byte for byte, with only
// its safe headers and contentType.
func writeReply(w http.ResponseWriter, resp *contract.Reply, contentType []string) {
	dst := w.Header()
	for name, values := range resp.Header {
		if safeUpstreamHeader(name) {
			dst[http.CanonicalHeaderKey(name)] = values
		}
	}
	// Set would canonicalize these constant, canonical keys again.
	dst["Content-Type"] = contentType
	dst["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body) //nolint:gosec // G705: the upstream reply passed through as SPEC 2.10 and 7 require, under its own Content-Type
}

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

// sealBody returns the upstream body with the token's value replaced by its
// sealed form; every other byte is the upstream's.
func (h *Handler) sealBody(body []byte, token string, rec *Record) ([]byte, error) {
	sealed, err := h.sealer.seal(token, rec)
	if err != nil {
		return nil, err
	}
	at, ok := tokenSpan(body, token)
	if !ok {
		return nil, errSealedMalformed
	}
	return jsonscan.Apply(body, []jsonscan.Edit{{Span: at, Text: jsonscan.AppendString(nil, sealed)}}), nil
}

var (
	secretKeys = []string{"value", "client_secret"}
	valueKey   = []string{"value"}
)

// tokenSpan finds the JSON string holding token: value or
// client_secret.value, whichever mintedSecret took it from.
func tokenSpan(body []byte, token string) (jsonscan.Span, bool) {
	var top [2]jsonscan.Member
	if jsonscan.Members(body, jsonscan.Root(body), secretKeys, top[:]) != nil {
		return jsonscan.Span{}, false
	}
	if s, ok := jsonscan.String(body, top[0].Value); ok && top[0].Found() && s == token {
		return top[0].Value, true
	}
	cs := top[1]
	if !cs.Found() || !jsonscan.IsObject(body, cs.Value) {
		return jsonscan.Span{}, false
	}
	var inner [1]jsonscan.Member
	if jsonscan.Members(body, cs.Value, valueKey, inner[:]) != nil {
		return jsonscan.Span{}, false
	}
	if s, ok := jsonscan.String(body, inner[0].Value); ok && inner[0].Found() && s == token {
		return inner[0].Value, true
	}
	return jsonscan.Span{}, false
}
