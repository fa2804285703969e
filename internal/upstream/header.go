package upstream

import "net/http"

// Header returns the header of an upstream mint request: the forwarded
// client headers in fwd, minus any that could replace what authenticates or
// frames the request, plus "Content-Type: application/json" and
// "Accept: application/json". The caller adds its credential header. The
// value slices are shared with fwd, which is not modified; nothing
// downstream modifies them.
func Header(fwd http.Header) http.Header {
	h := make(http.Header, len(fwd)+3)
	for k, vs := range fwd {
		ck := http.CanonicalHeaderKey(k)
		if dropped(ck) {
			continue
		}
		if h[ck] == nil {
			h[ck] = vs
		} else { // "x-a" and "X-A" both forwarded: keep both, copy on append
			h[ck] = append(h[ck][:len(h[ck]):len(h[ck])], vs...)
		}
	}
	h["Content-Type"] = jsonOnly
	h["Accept"] = jsonOnly
	return h
}

// jsonOnly is shared by every header Header returns, which saves two
// allocations a mint; like the forwarded values, it is never modified.
var jsonOnly = []string{"application/json"}

// dropped reports whether a forwarded header (canonical name) must not reach
// the upstream: credentials of any provider, framing, hop-by-hop headers,
// and Accept-Encoding, since a forwarded encoding would stop the transport
// from decoding gzip itself.
func dropped(ck string) bool {
	switch ck {
	case "Authorization", "Proxy-Authorization", "Api-Key", "Cookie", "Host",
		"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Trailer", "Te",
		"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade",
		"Accept", "Accept-Encoding":
		return true
	}
	return false
}
