package faultupstream

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// serve starts h on a loopback httptest server, closed by t's cleanup, and
// returns its URL.
func serve(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// drain reads the request body. A handler that hangs must read it first:
// the server watches the connection for the client going away only once
// the body is consumed. One that hijacks must read it first too, so that
// the fault hits the reply and not the request.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
}
