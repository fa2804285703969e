package upstream

import "net/http"

// Header returns the header of an upstream mint request: the forwarded
// client headers in fwd, minus any that could replace what authenticates or
// frames the request, plus "Content-Type: application/json" and
// "Accept: application/json". The caller adds its credential header. The
// value slices are shared with fwd, which is not modified; nothing
// downstream modifies them.
func Header(fwd http.Header) http.Header {
	h := forwarded(fwd)
	h["Content-Type"] = jsonOnly
	h["Accept"] = jsonOnly
	return h
}

// SessionHeader returns the header of a brokered session request (a WebRTC
// call, a GPT-Live session or a hang-up): the forwarded client headers in fwd
// filtered as by Header, "Content-Type: contentType" unless contentType is
// "" (a hang-up has no body), and "Accept: */*", because a call is answered
// with application/sdp and a hang-up with an empty body, not JSON. The
// caller adds its credential header.
func SessionHeader(fwd http.Header, contentType string) http.Header {
	h := forwarded(fwd)
	if contentType != "" {
		h["Content-Type"] = []string{contentType}
	}
	h["Accept"] = anyType
	return h
}

// forwarded copies fwd without the headers dropped, with room for the
// three the caller adds.
func forwarded(fwd http.Header) http.Header {
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
	return h
}

// jsonOnly is shared by every header Header returns, which saves two
// allocations a mint; like the forwarded values, it is never modified.
var jsonOnly = []string{"application/json"}

// anyType is the Accept of every session request, shared like jsonOnly. It
// is what the OpenAI SDKs send on these endpoints.
var anyType = []string{"*/*"}

// dropped reports whether a forwarded header (canonical name) must not reach
// the upstream: credentials of any provider, framing, hop-by-hop headers,
// and Accept-Encoding, since a forwarded encoding would stop the transport
// from decoding gzip itself.
func dropped(ck string) bool {
	switch ck {
	case "Authorization", "Proxy-Authorization", "Api-Key", "X-Goog-Api-Key", "Cookie", "Host",
		"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Trailer", "Te",
		"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade",
		"Accept", "Accept-Encoding":
		return true
	}
	return false
}
