package realtimesecret

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	if rec.ExpiresAt.After(h.now()) { // expired on arrival: nothing to attribute
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
	n := strings.ToLower(name)
	return n == "x-request-id" || n == "apim-request-id" ||
		strings.HasPrefix(n, "openai-") || strings.HasPrefix(n, "x-ratelimit-")
}
