package sidecar_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

func TestCORSConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cors    string // the cors section, as YAML flow mapping
		wantErr string // "" means valid
	}{
		{name: "one origin", cors: `{allowed_origins: ["https://app.example.com"]}`},
		{name: "origin with port", cors: `{allowed_origins: ["http://127.0.0.1:5173"]}`},
		{name: "wildcard subdomain", cors: `{allowed_origins: ["https://*.example.com"]}`},
		{name: "wildcard port", cors: `{allowed_origins: ["http://localhost:*"]}`},
		{name: "every origin", cors: `{allowed_origins: ["*"]}`},
		{name: "all settings", cors: `{allowed_origins: ["https://a.example"], allowed_headers: [X-Trace], exposed_headers: [X-Ratelimit-Remaining-Requests], allow_credentials: true, max_age: 1h}`},
		{name: "empty section", cors: `{}`},
		{
			name: "trailing slash", cors: `{allowed_origins: ["https://app.example.com/"]}`,
			wantErr: `cors.allowed_origins[0] "https://app.example.com/": an origin has no path, query or fragment, not even a trailing /: write https://app.example.com`,
		},
		{name: "path", cors: `{allowed_origins: ["https://app.example.com/voice"]}`, wantErr: "write https://app.example.com"},
		{name: "query", cors: `{allowed_origins: ["https://app.example.com?x=1"]}`, wantErr: "no path, query or fragment"},
		{name: "not http", cors: `{allowed_origins: ["ftp://app.example.com"]}`, wantErr: "want an http or https origin"},
		{name: "no scheme", cors: `{allowed_origins: ["app.example.com"]}`, wantErr: "want scheme://host[:port]"},
		{name: "user info", cors: `{allowed_origins: ["https://me@app.example.com"]}`, wantErr: "no user info"},
		{name: "two wildcards", cors: `{allowed_origins: ["https://*.*.example.com"]}`, wantErr: "at most one *"},
		{name: "star among others", cors: `{allowed_origins: ["*", "https://a.example"]}`, wantErr: "list it alone"},
		{name: "star with credentials", cors: `{allowed_origins: ["*"], allow_credentials: true}`, wantErr: "cors.allow_credentials"},
		{name: "bad header name", cors: `{allowed_origins: ["https://a.example"], allowed_headers: ["X Trace"]}`, wantErr: `cors.allowed_headers[0] "X Trace": not a header name`},
		{name: "bad exposed header", cors: `{allowed_origins: ["https://a.example"], exposed_headers: ["X:Y"]}`, wantErr: "cors.exposed_headers[0]"},
		{name: "negative max_age", cors: `{allowed_origins: ["https://a.example"], max_age: -1s}`, wantErr: "must not be negative"},
		{name: "settings without origins", cors: `{allowed_headers: [X-Trace]}`, wantErr: "allowed_origins is empty"},
		{name: "misspelt key", cors: `{allowed_origin: ["https://a.example"]}`, wantErr: `unknown key "allowed_origin" in cors`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sidecar.Parse([]byte(minimalYAML+"cors: "+tc.cors+"\n"), env(baseEnv()))
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

const corsYAML = `
cors:
  allowed_origins: ["http://app.test:3000", "https://*.example.com"]
  exposed_headers: [X-Ratelimit-Remaining-Requests]
`

// preflight returns the headers that decide a CORS preflight.
func preflight(t *testing.T, url, origin, method, headers string) http.Header {
	t.Helper()
	h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
	if headers != "" {
		h.Set("Access-Control-Request-Headers", headers)
	}
	resp, _ := do(t, http.MethodOptions, url, h, "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "the sidecar answers the preflight itself")
	return resp.Header
}

func TestCORSPreflightOnMintRoutes(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	tests := []struct {
		name    string
		path    string
		origin  string
		method  string
		headers string
		allowed bool
	}{
		{
			name: "allowed origin, virtual key as bearer", path: "/v1/realtime/client_secrets",
			origin: "http://app.test:3000", method: "POST", headers: "authorization,content-type", allowed: true,
		},
		{
			name: "provider-scoped route", path: "/openai/v1/realtime/translations/client_secrets",
			origin: "http://app.test:3000", method: "POST", headers: "authorization,content-type", allowed: true,
		},
		{
			name: "beta route", path: "/v1/realtime/sessions",
			origin: "http://app.test:3000", method: "POST", headers: "content-type", allowed: true,
		},
		{
			name: "broker route: WebRTC call", path: "/v1/realtime/calls",
			origin: "http://app.test:3000", method: "POST", headers: "authorization", allowed: true,
		},
		{
			name: "broker route: provider-scoped call", path: "/openai/v1/realtime/calls",
			origin: "http://app.test:3000", method: "POST", headers: "authorization", allowed: true,
		},
		{
			name: "broker route: GPT-Live session", path: "/v1/live/sessions",
			origin: "http://app.test:3000", method: "POST", headers: "authorization,content-type", allowed: true,
		},
		{
			name: "broker route: call hang-up", path: "/v1/realtime/calls/rtc_0123abc/hangup",
			origin: "http://app.test:3000", method: "POST", headers: "authorization", allowed: true,
		},
		{
			name: "broker route: provider-scoped Live hang-up", path: "/openai/v1/live/sessions/sess_0123.abc/hangup",
			origin: "http://app.test:3000", method: "POST", headers: "authorization", allowed: true,
		},
		{
			name: "broker route, origin not allowed", path: "/v1/realtime/calls/rtc_0123abc/hangup",
			origin: "http://evil.test:3000", method: "POST", headers: "authorization",
		},
		{
			name: "wildcard subdomain", path: "/v1/realtime/client_secrets",
			origin: "https://voice.example.com", method: "POST", headers: "content-type,x-virtual-key", allowed: true,
		},
		{
			name: "forwarded headers", path: "/v1/realtime/client_secrets",
			origin: "http://app.test:3000", method: "POST", headers: "content-type,openai-safety-identifier,x-request-id", allowed: true,
		},
		{
			name: "origin not allowed", path: "/v1/realtime/client_secrets",
			origin: "http://evil.test:3000", method: "POST", headers: "authorization,content-type",
		},
		{
			name: "same host, other port", path: "/v1/realtime/client_secrets",
			origin: "http://app.test:3001", method: "POST", headers: "content-type",
		},
		{
			name: "wildcard does not match the bare domain", path: "/v1/realtime/client_secrets",
			origin: "https://example.com", method: "POST", headers: "content-type",
		},
		{
			name: "header not allowed", path: "/v1/realtime/client_secrets",
			origin: "http://app.test:3000", method: "POST", headers: "content-type,x-something-else",
		},
		{
			name: "method not allowed", path: "/v1/realtime/client_secrets",
			origin: "http://app.test:3000", method: "PUT", headers: "content-type",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := preflight(t, h.URL+tc.path, tc.origin, tc.method, tc.headers)
			assert.Contains(t, got.Values("Vary"), "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
			if !tc.allowed {
				assert.Empty(t, got.Values("Access-Control-Allow-Origin"), "the browser must refuse")
				return
			}
			assert.Equal(t, tc.origin, got.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, "POST", got.Get("Access-Control-Allow-Methods"))
			assert.Equal(t, tc.headers, got.Get("Access-Control-Allow-Headers"))
			assert.Equal(t, "600", got.Get("Access-Control-Max-Age"), "default max_age 10m")
			assert.Empty(t, got.Get("Access-Control-Allow-Credentials"))
		})
	}
	assert.Zero(t, h.Fake.Count(), "no preflight reached the upstream")
	assert.Zero(t, h.Proxy.count(), "no preflight on a mint route reached the existing proxy")
}

func TestCORSActualMintRequests(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	tests := []struct {
		name       string
		origin     string
		auth       string
		wantStatus int
		allowed    bool
	}{
		{name: "allowed origin mints", origin: "http://app.test:3000", auth: "Bearer " + virtualKey, wantStatus: http.StatusOK, allowed: true},
		{name: "allowed origin can read an error", origin: "http://app.test:3000", wantStatus: http.StatusUnauthorized, allowed: true},
		// CORS is not authentication: the server answers, the browser
		// withholds the answer from the page.
		{name: "other origin gets no CORS headers", origin: "http://evil.test:3000", auth: "Bearer " + virtualKey, wantStatus: http.StatusOK},
		{name: "no origin (not a browser)", auth: "Bearer " + virtualKey, wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{"Content-Type": {"application/json"}}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			if tc.auth != "" {
				hdr.Set("Authorization", tc.auth)
			}
			resp, body := do(t, http.MethodPost, h.URL+"/v1/realtime/client_secrets", hdr, mintBody)
			require.Equal(t, tc.wantStatus, resp.StatusCode, string(body))
			assert.Contains(t, resp.Header.Values("Vary"), "Origin", "caches must key on Origin")
			if !tc.allowed {
				assert.Empty(t, resp.Header.Values("Access-Control-Allow-Origin"))
				return
			}
			assert.Equal(t, []string{tc.origin}, resp.Header.Values("Access-Control-Allow-Origin"))
			exposed := strings.Split(resp.Header.Get("Access-Control-Expose-Headers"), ", ")
			assert.Subset(t, exposed, []string{"Retry-After", "X-Request-Id", "Location", "X-Ratelimit-Remaining-Requests"},
				"a page reads a brokered call's id from Location")
		})
	}
}

// TestCORSLeavesProxiedPathsAlone: the existing proxy keeps its own CORS, so
// a response never carries two Access-Control-Allow-Origin headers.
func TestCORSLeavesProxiedPathsAlone(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	h.Proxy.Mux.HandleFunc("OPTIONS /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://proxy-decides.example")
		w.WriteHeader(http.StatusOK)
	})

	got := preflight200(t, h.URL+"/v1/chat/completions", "http://app.test:3000")
	assert.Equal(t, []string{"https://proxy-decides.example"}, got.Values("Access-Control-Allow-Origin"))
	assert.Equal(t, http.MethodOptions, h.Proxy.last(t).Method, "the preflight reached the existing proxy")

	resp, _ := do(t, http.MethodGet, h.URL+"/v1/models", http.Header{"Origin": {"http://app.test:3000"}}, "")
	assert.Empty(t, resp.Header.Values("Access-Control-Allow-Origin"), "the sidecar adds nothing to proxied answers")
}

// TestCORSNotOnLookalikeHangupPaths: a path that only looks like a hang-up
// (an id the core refuses, an unknown collection) is not the sidecar's: its
// preflight goes to the existing proxy, as the request itself would.
func TestCORSNotOnLookalikeHangupPaths(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	for _, path := range []string{
		"/v1/realtime/calls/rtc%21x/hangup",
		"/v1/realtime/calls/rtc%20x/hangup",
		"/v1/realtime/calls/" + strings.Repeat("a", 129) + "/hangup",
		"/v1/realtime/client_secrets/x/hangup",
		"/nope/v1/realtime/calls/rtc_1/hangup",
		"/v1/live/sessions/sess_1/hangup/",
	} {
		t.Run(path, func(t *testing.T) {
			before := h.Proxy.count()
			got := preflight200(t, h.URL+path, "http://app.test:3000")
			assert.Empty(t, got.Values("Access-Control-Allow-Origin"))
			assert.Equal(t, before+1, h.Proxy.count(), "the preflight reached the existing proxy")
		})
	}
}

// TestCORSOffByDefault: without a cors section the sidecar answers no
// preflight; on a mint route the core passes OPTIONS on, so the app's CORS handler answers it.
func TestCORSOffByDefault(t *testing.T) {
	h := start(t, options{})
	got := preflight200(t, h.URL+"/v1/realtime/client_secrets", "http://app.test:3000")
	assert.Empty(t, got.Values("Access-Control-Allow-Origin"))
	assert.Equal(t, http.MethodOptions, h.Proxy.last(t).Method)
	assert.Zero(t, h.Fake.Count())
}

// preflight200 sends a preflight that the existing proxy answers.
func preflight200(t *testing.T, url, origin string) http.Header {
	t.Helper()
	resp, _ := do(t, http.MethodOptions, url, http.Header{
		"Origin":                        {origin},
		"Access-Control-Request-Method": {"POST"},
	}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp.Header
}

// sdkPreflightHeaders is what headless Chromium asked for before
// openai-node 7.59.0 (dangerouslyAllowBrowser) POSTed client_secrets, as
// logged by the sidecar in internal/e2e TestBrowserOpenAINodeSDK.
const sdkPreflightHeaders = "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os," +
	"x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version"

// TestCORSOfficialSDKHeaders: a preflight for what the official SDKs send
// is allowed (Chromium sends the requested headers lower-cased and sorted,
// the form rs/cors accepts), on every route CORS covers: the mint routes and the brokered
// session routes with their hang-ups, under the prefix and per provider.
func TestCORSOfficialSDKHeaders(t *testing.T) {
	h := start(t, options{extra: corsYAML + "path_prefix: /api\n"})
	const origin = "http://app.test:3000"
	tests := []struct {
		name    string
		path    string
		headers string
	}{
		{name: "openai-node from a browser", path: "/api/v1/realtime/client_secrets", headers: sdkPreflightHeaders},
		{name: "beta and project headers", path: "/api/openai/v1/realtime/sessions",
			headers: "content-type,idempotency-key,openai-beta,openai-organization,openai-project,x-stainless-helper-method"},
		{name: "Python SDK headers", path: "/api/v1/realtime/transcription_sessions",
			headers: "content-type,x-stainless-async,x-stainless-raw-response,x-stainless-read-timeout"},
		{name: "WebRTC call", path: "/api/v1/realtime/calls", headers: sdkPreflightHeaders},
		{name: "WebRTC call, provider-scoped", path: "/api/openai/v1/realtime/calls", headers: "authorization,content-type"},
		{name: "Live session", path: "/api/v1/live/sessions", headers: sdkPreflightHeaders},
		{name: "call hang-up", path: "/api/v1/realtime/calls/rtc_abc123/hangup", headers: "authorization"},
		{name: "Live hang-up, provider-scoped", path: "/api/openai/v1/live/sessions/sess_1/hangup", headers: "authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := preflight(t, h.URL+tc.path, origin, "POST", tc.headers)
			assert.Equal(t, origin, got.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, tc.headers, got.Get("Access-Control-Allow-Headers"))
		})
	}
	assert.Empty(t, h.Logs.lines(t, "cors preflight refused"))
}

// TestCORSPathsNotCovered: paths that only look like a covered route go to
// the existing proxy, which keeps its own CORS.
func TestCORSPathsNotCovered(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	for _, path := range []string{
		"/v1/realtime/calls/rtc_1/hangup/x",
		"/v1/realtime/calls/a/b/hangup",
		"/v1/realtime/calls//hangup",
		"/v1/realtime/calls/rtc_1",
		"/azure/v1/realtime/calls", // not a configured provider
		"/api/v1/realtime/client_secrets",
	} {
		t.Run(path, func(t *testing.T) {
			got := preflight200(t, h.URL+path, "http://app.test:3000")
			assert.Empty(t, got.Values("Access-Control-Allow-Origin"))
			assert.Equal(t, http.MethodOptions, h.Proxy.last(t).Method, "the preflight reached the existing proxy")
		})
	}
}

// TestCORSRefusedPreflightLogged: the sidecar logs what it refused, so an
// operator can see why a page's fetch() fails with a bare network error.
func TestCORSRefusedPreflightLogged(t *testing.T) {
	h := start(t, options{extra: corsYAML})
	tests := []struct {
		name    string
		origin  string
		headers string
	}{
		{name: "origin not allowed", origin: "http://evil.test:3000", headers: "authorization,content-type"},
		{name: "header not allowed", origin: "http://app.test:3000", headers: "content-type,x-custom-thing"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := preflight(t, h.URL+"/v1/realtime/client_secrets", tc.origin, "POST", tc.headers)
			require.Empty(t, got.Get("Access-Control-Allow-Origin"))
			lines := h.Logs.lines(t, "cors preflight refused")
			require.Len(t, lines, i+1)
			line := lines[i]
			assert.Equal(t, "INFO", line["level"])
			assert.Equal(t, tc.origin, line["origin"])
			assert.Equal(t, tc.headers, line["requested_headers"])
			assert.Equal(t, "POST", line["requested_method"])
			assert.Equal(t, "/v1/realtime/client_secrets", line["path"])
		})
	}
	// An allowed preflight is not logged.
	preflight(t, h.URL+"/v1/realtime/client_secrets", "http://app.test:3000", "POST", "content-type")
	assert.Len(t, h.Logs.lines(t, "cors preflight refused"), len(tests))
}
