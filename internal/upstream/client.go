package upstream

import (
	"net/http"
	"time"
)

// maxIdleConns is the idle pool of a Poster's own transport. Every mint of a
// provider goes to the same host, so the per-host limit is the pool size;
// the stdlib default of 2 would redial under any concurrency.
const maxIdleConns = 256

// newClient returns the client a Poster sends with: a shallow copy of c (or
// a new client with its own transport when c is nil) that never follows a
// redirect. c itself is not modified.
func newClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	} else {
		out.Transport = newTransport()
	}
	out.CheckRedirect = noRedirect
	return &out
}

// noRedirect makes the client return a 3xx reply as it is, so that a
// credential is never sent to a location the operator did not configure.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// directTransport returns the transport a Poster calls directly, or nil
// when it must go through c.Do. When c would add nothing to its
// transport's exchange (no cookie jar, no client timeout, and redirects
// are never followed), the transport is called directly: Client.Do copies
// the header of every request for a redirect that never comes, which was
// a tenth of a mint's allocations in the sidecar. Base URLs never hold user
// info (ParseBaseURL), so Client.Do's basic-auth step has nothing to do
// either.
func directTransport(c *http.Client) http.RoundTripper {
	switch {
	case c.Jar != nil || c.Timeout != 0:
		return nil
	case c.Transport == nil:
		return http.DefaultTransport
	}
	return c.Transport
}

func newTransport() http.RoundTripper {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else { // replaced by the program: keep the stdlib's defaults
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	t.MaxIdleConns = maxIdleConns
	t.MaxIdleConnsPerHost = maxIdleConns
	t.IdleConnTimeout = 90 * time.Second
	return t
}
