package realtimesecret

import (
	"net/http"
	"strconv"
	"strings"
)

// googAPIKeyHeader is the header Google's SDKs send their API key in: a
// caller may present its virtual key there, and it is never forwarded.
const googAPIKeyHeader = "X-Goog-Api-Key" //nolint:gosec // G101: a header name, not a credential

// forwardHeaders is the allowlist of client headers sent upstream, in
// canonical form.
type forwardHeaders []string

func newForwardHeaders(names []string, virtualKeyHeader string) forwardHeaders {
	if names == nil {
		names = defaultForwardHeaders
	}
	var out forwardHeaders
	for _, name := range names {
		c := http.CanonicalHeaderKey(name)
		if c == "Authorization" || c == "Cookie" || c == virtualKeyHeader || c == googAPIKeyHeader {
			continue
		}
		out = append(out, c)
	}
	return out
}

// pick returns the allowlisted headers of in, or nil.
func (f forwardHeaders) pick(in http.Header) http.Header {
	var out http.Header
	for _, name := range f {
		if v, ok := in[name]; ok {
			if out == nil {
				out = make(http.Header, len(f))
			}
			out[name] = v
		}
	}
	return out
}

// headerValue is header.Get for a key already in canonical form: Get
// canonicalizes its key on every call, which was ~7% of a mint's
// instructions over the handful of lookups a mint makes.
func headerValue(header http.Header, canonicalKey string) string {
	if v := header[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// bearer returns the credentials of an "Authorization: Bearer x" value.
func bearer(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):]), true
	}
	return "", false
}

func quote(s string) string { return strconv.Quote(s) }
