package realtimesecret

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// mintedSecret is the part of a mint reply the middleware reads: GA replies
// carry value/expires_at at the top, beta ones inside client_secret.
type mintedSecret struct {
	Value        *string `json:"value"`
	ExpiresAt    int64   `json:"expires_at"`
	ClientSecret *struct {
		Value     *string `json:"value"`
		ExpiresAt int64   `json:"expires_at"`
	} `json:"client_secret"`
}

// token returns the minted token and its expiry, or ok=false.
func (s *mintedSecret) token() (string, int64, bool) {
	if s.Value != nil && *s.Value != "" && s.ExpiresAt > 0 {
		return *s.Value, s.ExpiresAt, true
	}
	if c := s.ClientSecret; c != nil && c.Value != nil && *c.Value != "" && c.ExpiresAt > 0 {
		return *c.Value, c.ExpiresAt, true
	}
	return "", 0, false
}

// answer writes the upstream reply and stores the token record.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, resp *MintResponse, rec Record, m *mint) *Error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if !isOpenAIError(resp.Body) {
			e := upstreamStatusError(resp.StatusCode)
			return e
		}
		m.ev.Status = resp.StatusCode
		writeUpstream(w, resp)
		return nil
	}
	var s mintedSecret
	token, expiresAt, ok := "", int64(0), false
	if json.Unmarshal(resp.Body, &s) == nil {
		token, expiresAt, ok = s.token()
	}
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
		resp = &MintResponse{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	} else if rec.ExpiresAt.After(h.now()) { // expired on arrival: nothing to attribute
		if err := h.store.Put(r.Context(), HashToken(token), rec); err != nil {
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

// writeUpstream writes an upstream reply with only its safe headers.
func writeUpstream(w http.ResponseWriter, resp *MintResponse) {
	dst := w.Header()
	for name, values := range resp.Header {
		if safeUpstreamHeader(name) {
			dst[http.CanonicalHeaderKey(name)] = values
		}
	}
	dst.Set("Content-Type", "application/json")
	dst.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body)
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
