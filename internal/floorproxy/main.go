// Command floorproxy is the reference point of `make loadtest`: the least a
// Go proxy can do in front of the fake upstream (one httputil.ReverseProxy
// hop that sets the upstream key) and nothing else. The load test runs the
// sidecar against it round by round, so that what the sidecar's mint path
// costs is told apart from what any extra net/http hop costs on the same
// machine. It is not part of the product.
//
//	floorproxy -addr 127.0.0.1:18081 -upstream http://127.0.0.1:9999
//
// The upstream key is read from FLOORPROXY_KEY (default "sk-test").
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "loopback address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:9999", "fake upstream base URL")
	flag.Parse()
	if err := run(*addr, *upstream, os.Getenv("FLOORPROXY_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "floorproxy:", err)
		os.Exit(1)
	}
}

func run(addr, upstream, key string) error {
	if !strings.HasPrefix(addr, "127.") && !strings.HasPrefix(addr, "localhost:") {
		return errors.New("-addr must be a loopback address")
	}
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return errors.New("-upstream must be an absolute URL")
	}
	if key == "" {
		key = "sk-test"
	}
	// The same idle pool as the sidecar's upstream transport: Go's default
	// of 2 idle connections per host would redial under load.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 256, 256
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Set("Authorization", "Bearer "+key)
		},
		Transport: transport,
	}
	return http.ListenAndServe(addr, proxy) //nolint:gosec // a load-test tool on loopback, stopped by its caller
}
