package faultupstream

import (
	"net/http"
	"testing"
)

// Redirect returns the URL of an upstream that answers every request with
// status (a 3xx) and a Location on a second loopback upstream. Following
// it would send the credential where the operator did not configure it, so
// a request reaching the second upstream is a test error.
func Redirect(t testing.TB, status int) string {
	t.Helper()
	elsewhere := serve(t, func(http.ResponseWriter, *http.Request) {
		t.Error("a redirect was followed: the credential left the configured upstream")
	})
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		drain(r)
		w.Header().Set("Location", elsewhere+"/elsewhere")
		w.WriteHeader(status)
	})
}
