package realtimesecret

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/internal/recordctx"
)

// subprotocolPrefix carries the token in a browser WebSocket, which cannot
// set an Authorization header.
const subprotocolPrefix = "openai-insecure-api-key."

const ephemeralPrefix = "ek_"

// ephemeralToken returns the ephemeral token a request carries in
// "Authorization: Bearer ek_..." or in the WebSocket subprotocol
// "openai-insecure-api-key.ek_...", or "". It allocates nothing.
//
// The subprotocol is read only on a request that can open a WebSocket: a
// GET (RFC 6455) or, over HTTP/2, a CONNECT (RFC 8441). Skipping its lookup
// on every other request halved what a pass-through POST with a provider
// key costs the middleware (BenchmarkPassthroughOverhead).
func ephemeralToken(method string, header http.Header) string {
	for _, v := range header["Authorization"] {
		if !mayBeEphemeral(v) {
			continue
		}
		if tok, ok := bearer(v); ok && strings.HasPrefix(tok, ephemeralPrefix) {
			return tok
		}
	}
	if method != http.MethodGet && method != http.MethodConnect {
		return ""
	}
	for _, v := range header["Sec-Websocket-Protocol"] {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			item = strings.TrimSpace(item)
			if tok, ok := strings.CutPrefix(item, subprotocolPrefix); ok && strings.HasPrefix(tok, ephemeralPrefix) && !strings.ContainsAny(tok, " \t") {
				return tok
			}
		}
	}
	return ""
}

// mayBeEphemeral reports whether bearer(v) may start with "ek_": the byte
// after "Bearer " must be 'e', or a space or the start of a non-ASCII rune
// that bearer's TrimSpace could remove. A pass-through request with a
// provider key ("Bearer sk-...") is told apart here, without bearer's
// case-folded comparison and trim: they were most of what the middleware
// added to such a request.
func mayBeEphemeral(v string) bool {
	const n = len("Bearer ")
	if len(v) <= n {
		return false
	}
	switch c := v[n]; c {
	case 'e', ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	default:
		return c >= utf8.RuneSelf
	}
}

// redeem looks the token up and returns r with its record in the context
// when found; the request is otherwise unchanged, except that a sealed token
// is replaced by the upstream token it seals. A sealed token that does not
// open is answered with the returned error.
func (h *Handler) redeem(r *http.Request, token string) (*http.Request, *Error) {
	if h.sealer != nil && strings.HasPrefix(token, sealedPrefix) {
		return h.redeemSealed(r, token)
	}
	rec, found, err := h.Lookup(r.Context(), token)
	if err != nil {
		h.log.LogAttrs(r.Context(), warnLevel, "realtime redemption lookup failed", errAttr(err))
	}
	if found {
		r = r.WithContext(recordctx.With(r.Context(), &rec))
	}
	if h.onRedeem != nil {
		h.onRedeem(RedeemEvent{Request: r, Record: rec, Found: found, Err: err})
	}
	return r, nil
}

func (h *Handler) redeemSealed(r *http.Request, sealed string) (*http.Request, *Error) {
	upstream, rec, err := h.sealer.open(sealed, h.now())
	if err != nil {
		if h.onRedeem != nil {
			h.onRedeem(RedeemEvent{Request: r, Err: err})
		}
		return nil, &Error{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_client_secret",
			Message: "the client secret is expired or not valid", Err: err}
	}
	r = r.WithContext(recordctx.With(r.Context(), &rec))
	r.Header = replaceToken(r.Header, sealed, upstream)
	if h.onRedeem != nil {
		h.onRedeem(RedeemEvent{Request: r, Record: rec, Found: true})
	}
	return r, nil
}

// replaceToken returns a copy of header with the sealed token replaced by
// the upstream one wherever redemption reads it.
func replaceToken(header http.Header, sealed, upstream string) http.Header {
	out := header.Clone()
	for _, name := range [...]string{"Authorization", "Sec-Websocket-Protocol"} {
		for i, v := range out[name] {
			out[name][i] = strings.ReplaceAll(v, sealed, upstream)
		}
	}
	return out
}
