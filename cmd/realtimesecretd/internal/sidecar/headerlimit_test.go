package sidecar_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeaderLimit: headers over server.max_header_bytes get an
// OpenAI-shaped 431, which the official SDKs raise as an API error, instead
// of Go's text/plain one; headers within it pass, on both listeners.
func TestHeaderLimit(t *testing.T) {
	const limit = 4096
	h := start(t, options{extra: "server: {max_header_bytes: 4096}\n", adminListen: true})
	const want431 = `{"error":{"message":"the request's headers are larger than this server's limit (server.max_header_bytes: 4096)",` +
		`"type":"invalid_request_error","param":null,"code":"request_header_fields_too_large"}}`
	tests := []struct {
		name   string
		url    string
		header int // bytes of one X-Padding header's value
		status int
		json   bool // the 431 is the JSON one
	}{
		// Go's server allowed 4 KiB over max_header_bytes; it still does.
		{name: "within the limit and Go's slop reaches the proxy", url: h.URL + "/v1/models", header: limit + 3500, status: http.StatusOK},
		{name: "just over the limit", url: h.URL + "/v1/models", header: limit + 4096, status: http.StatusRequestHeaderFieldsTooLarge, json: true},
		{name: "over the limit on a mint route", url: h.URL + "/v1/realtime/client_secrets", header: limit + 5000,
			status: http.StatusRequestHeaderFieldsTooLarge, json: true},
		{name: "over the limit on the admin listener", url: h.Admin + "/healthz", header: 2*limit + 1000,
			status: http.StatusRequestHeaderFieldsTooLarge, json: true},
		// Past what the server reads at all, Go's own answer stays: the
		// memory a request's headers take is bounded.
		{name: "far over the limit", url: h.URL + "/v1/models", header: 4*limit + 8192, status: http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, http.MethodGet, tc.url, http.Header{"X-Padding": {strings.Repeat("p", tc.header)}}, "")
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			if tc.status == http.StatusOK {
				assert.Equal(t, proxyAnswer, string(body))
				return
			}
			if tc.json {
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				assert.JSONEq(t, want431, string(body))
			}
		})
	}
	assert.Equal(t, 1, h.Proxy.count(), "only the request within the limit reached the existing proxy")
}
