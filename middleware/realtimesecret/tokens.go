package realtimesecret

import (
	"net/http"
	"strings"
	"unicode/utf8"
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
