package realtimesecret

import (
	"context"
	"net/http"
	"strings"
)

// subprotocolPrefix carries the token in a browser WebSocket, which cannot
// set an Authorization header.
const subprotocolPrefix = "openai-insecure-api-key."

const ephemeralPrefix = "ek_"

// ephemeralToken returns the ephemeral token a request carries in
// "Authorization: Bearer ek_..." or in the WebSocket subprotocol
// "openai-insecure-api-key.ek_...", or "". It allocates nothing.
func ephemeralToken(header http.Header) string {
	for _, v := range header["Authorization"] {
		if tok, ok := bearer(v); ok && strings.HasPrefix(tok, ephemeralPrefix) {
			return tok
		}
	}
	for _, v := range header["Sec-Websocket-Protocol"] {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			item = strings.TrimSpace(item)
			if tok, ok := strings.CutPrefix(item, subprotocolPrefix); ok && strings.HasPrefix(tok, ephemeralPrefix) {
				return tok
			}
		}
	}
	return ""
}

// redeem looks the token up and returns r with its record in the context
// when found. The request itself is not changed.
func (h *Handler) redeem(r *http.Request, token string) *http.Request {
	rec, found, err := h.Lookup(r.Context(), token)
	if err != nil {
		h.log.LogAttrs(r.Context(), warnLevel, "realtime redemption lookup failed", errAttr(err))
	}
	if found {
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, &rec))
	}
	if h.onRedeem != nil {
		h.onRedeem(RedeemEvent{Request: r, Record: rec, Found: found, Err: err})
	}
	return r
}
