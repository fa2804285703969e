package faultupstream

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// UntrustedTLS returns the https URL of an upstream whose certificate (the
// httptest one) the client does not trust: the handshake fails. A request
// that reaches it is a test error.
func UntrustedTLS(t testing.TB) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request reached a server the client does not trust")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}
