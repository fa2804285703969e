package sidecar

import (
	"net/http"
	"strconv"
)

// minHeaderSlack is the least the HTTP server reads past
// server.max_header_bytes (headerReadLimit).
const minHeaderSlack = 4 << 10

// goHeaderSlop is what net/http reads past http.Server.MaxHeaderBytes
// before it refuses a request (its "bufio slop"): the limit a request
// actually met before withHeaderLimit, which keeps it so that no request
// that passed before is refused now.
const goHeaderSlop = 4096

// headerReadLimit is the http.Server.MaxHeaderBytes for a configured
// header limit: the limit plus as much again (at least 4 KiB). Go's server
// answers headers past its own limit with a text/plain 431 the official
// SDKs cannot parse; reading a little more lets withHeaderLimit answer a
// request over the configured limit in OpenAI's shape, while the memory
// one request's headers may take stays bounded. Headers past the read
// limit still get Go's answer.
func headerReadLimit(limit int) int {
	return limit + max(limit, minHeaderSlack)
}

// withHeaderLimit answers a request whose headers (request line included)
// are larger than limit, with the slop Go's server allows, with an
// OpenAI-shaped 431, and passes the others to next. The connection is
// closed after the answer, as Go's server does for its own 431.
func withHeaderLimit(limit int, next http.Handler) http.Handler {
	message := "the request's headers are larger than this server's limit (server.max_header_bytes: " + strconv.Itoa(limit) + ")"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) <= limit+goHeaderSlop {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		writeJSONError(w, http.StatusRequestHeaderFieldsTooLarge, "invalid_request_error", "request_header_fields_too_large", message)
	})
}

// headerBytes is about the size of r's request line and headers as sent:
// "Name: value\r\n" per value, Host included.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 // "GET /path HTTP/1.1\r\n"
	n += len("Host: \r\n") + len(r.Host)                      // not in r.Header
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4 // ": ", "\r\n"
		}
	}
	return n + 2 // the empty line
}
