package faultupstream

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// CloseBeforeHeaders returns the URL of an upstream that reads the request
// and closes the connection without a byte of reply.
func CloseBeforeHeaders(t testing.TB) string {
	t.Helper()
	return serveRaw(t, func(*http.Request) string { return "" })
}

// ResetMidBody returns the URL of an upstream that sends a 200 with
// headers promising a longer body, then Partial, and closes the
// connection.
func ResetMidBody(t testing.TB) string {
	t.Helper()
	return serveRaw(t, func(*http.Request) string {
		return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + Partial
	})
}

// EchoCredential returns the URL of an upstream that answers the request's
// credential (the bearer token of Authorization, else the api-key or
// x-goog-api-key header)
// as a malformed status line, and closes the connection. The transport
// quotes that line in its error, so the credential reaches the caller's
// error text unless it is redacted.
func EchoCredential(t testing.TB) string {
	t.Helper()
	return serveRaw(t, func(r *http.Request) string {
		cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			cred = r.Header.Get("Api-Key")
		}
		if cred == "" {
			cred = r.Header.Get("X-Goog-Api-Key")
		}
		assert.NotEmpty(t, cred, "the request carried no credential to echo")
		return cred + "\r\n\r\n"
	})
}

// serveRaw starts an upstream that reads the request, writes what reply
// returns straight to the connection, bypassing HTTP, and closes it.
func serveRaw(t testing.TB, reply func(*http.Request) string) string {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		drain(r)
		out := reply(r)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString(out)
		_ = buf.Flush()
	})
}
