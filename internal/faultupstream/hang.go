package faultupstream

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// Partial is the start of a mint reply that HangMidBody and ResetMidBody
// send before they fail, cut inside PartialSecret: a test can check that
// none of it reaches the caller.
const (
	PartialSecret = "ek_partial"
	Partial       = `{"value":"` + PartialSecret
)

// Hang returns the URL of an upstream that reads the request and never
// answers; the client must give up (its timeout or its context).
func Hang(t testing.TB) string {
	t.Helper()
	return serveHanging(t, func(_ http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		drain(r)
		waitForClient(r, stop)
	})
}

// CancelOnArrival is Hang, and also returns a context that is cancelled
// once a request has arrived and its body has been read: a caller that
// gives up on a call already in flight.
func CancelOnArrival(t testing.TB) (string, context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url := serveHanging(t, func(_ http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		drain(r)
		cancel()
		waitForClient(r, stop)
	})
	return url, ctx
}

// HangMidBody returns the URL of an upstream that reads the request, sends
// a 200 with headers promising a longer body, then Partial, and blocks until
// the client gives up.
func HangMidBody(t testing.TB) string {
	t.Helper()
	return serveHanging(t, func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
		drain(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, Partial)
		w.(http.Flusher).Flush()
		waitForClient(r, stop)
	})
}

// WaitForClient reads r's body, then blocks until the client is gone: for
// a test's own handler that must hang (one that also counts requests, say).
func WaitForClient(r *http.Request) {
	drain(r)
	<-r.Context().Done()
}

// waitForClient blocks until the client is gone or the test is over. A
// client that never gives up is the bug under test, and must not also hang
// the test's cleanup: httptest waits for every handler to return.
func waitForClient(r *http.Request, stop <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
}

// serveHanging is serve for a handler that blocks: stop is closed when the
// test is over, before the server's Close waits for its handlers (cleanups
// run last-registered first).
func serveHanging(t testing.TB, h func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})) string {
	t.Helper()
	stop := make(chan struct{})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { h(w, r, stop) })
	t.Cleanup(func() { close(stop) })
	return url
}
