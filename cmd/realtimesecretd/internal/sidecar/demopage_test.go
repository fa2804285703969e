package sidecar_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

const demoYAML = `
demo: true
providers:
  openai:
    keys:
      - id: primary
        value: ${OPENAI_API_KEY:-}
virtual_keys:
  - id: demo
    value: vk-demo-not-secret
`

// demoServer serves the sidecar for yaml with the demo providers minting
// at an in-test fake upstream.
func demoServer(t *testing.T, yaml string, vars map[string]string) *httptest.Server {
	t.Helper()
	cfg, err := sidecar.Parse([]byte(yaml), env(vars))
	require.NoError(t, err)
	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Options{}))
	t.Cleanup(fake.Close)
	s, err := sidecar.New(cfg, sidecar.Options{DemoBaseURL: fake.URL})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

var (
	inlineScript  = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle   = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	mintPathMeta  = regexp.MustCompile(`<meta name="realtimesecret-mint-path" content="([^"]*)">`)
	callsPathMeta = regexp.MustCompile(`<meta name="realtimesecret-calls-path" content="([^"]*)">`)
)

func cspSource(inline []byte) string {
	sum := sha256.Sum256(inline)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func TestDemoPageServedInDemoMode(t *testing.T) {
	srv := demoServer(t, demoYAML, nil)

	resp, body := do(t, http.MethodGet, srv.URL+sidecar.DemoPagePath, nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Contains(t, string(body), "fetch(")
	assert.Contains(t, string(body), `value="openai/gpt-realtime"`, "the model field names the demo provider")
	assert.Regexp(t, `<input id="vk" [^>]*value="vk-demo-not-secret">`, string(body),
		"the published demo key is filled in: the page works at the first click")

	// The policy allows exactly the page's inline script and style: a
	// browser runs them, and nothing injected.
	script := inlineScript.FindSubmatch(body)
	style := inlineStyle.FindSubmatch(body)
	require.NotNil(t, script)
	require.NotNil(t, style)
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src "+cspSource(script[1])+";")
	assert.Contains(t, csp, "style-src "+cspSource(style[1])+";")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "frame-ancestors 'none'")

	meta := mintPathMeta.FindSubmatch(body)
	require.NotNil(t, meta)
	assert.Equal(t, "/v1/realtime/client_secrets", string(meta[1]))
	meta = callsPathMeta.FindSubmatch(body)
	require.NotNil(t, meta)
	assert.Equal(t, "/v1/realtime/calls", string(meta[1]))

	// The call button brokers a real browser offer: multipart FormData
	// with the parts sdp and session, the answer applied, a hang-up by id.
	for _, js := range []string{
		`id="call"`, `id="hangup"`, `id="call-id"`, `id="answer"`,
		`addTransceiver('audio', { direction: 'recvonly' })`, `createDataChannel('oai-events')`,
		`form.set('sdp', pc.localDescription.sdp)`, `form.set('session'`,
		`res.headers.get('Location')`, `setRemoteDescription({ type: 'answer', sdp: answer })`, `/hangup`,
	} {
		assert.Contains(t, string(body), js)
	}
}

// TestDemoPageCallFlow sends what the page's call and hang-up buttons send
// to the demo sidecar: the call gets an SDP answer and a Location whose last
// segment hangs it up.
func TestDemoPageCallFlow(t *testing.T) {
	srv := demoServer(t, demoYAML, nil)
	// A browser's FormData: string fields, no part Content-Type.
	body := "--b\r\nContent-Disposition: form-data; name=\"sdp\"\r\n\r\n" + fakeupstream.SampleOffer +
		"\r\n--b\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\n" +
		`{"type":"realtime","model":"openai/gpt-realtime"}` + "\r\n--b--\r\n"
	auth := http.Header{"Authorization": {"Bearer vk-demo-not-secret"}}
	hdr := auth.Clone()
	hdr.Set("Content-Type", "multipart/form-data; boundary=b")
	resp, answer := do(t, http.MethodPost, srv.URL+"/v1/realtime/calls", hdr, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	assert.Equal(t, "application/sdp", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(string(answer), "v=0\r\n"))
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/v1/realtime/calls/"), loc)

	resp, out := do(t, http.MethodPost, srv.URL+loc+"/hangup", auth, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(out))
}

func TestDemoPageRoutes(t *testing.T) {
	srv := demoServer(t, demoYAML, nil)
	for _, path := range []string{"/demo", "/demo/", "/demo/?sidecar=http://127.0.0.1:9"} {
		resp, body := do(t, http.MethodGet, srv.URL+path, nil, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body), "<title>realtimesecretd demo", path)
	}
	resp, _ := do(t, http.MethodGet, srv.URL+"/demo/other", nil, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "only the page itself; the rest is not the page's")

	head, body := do(t, http.MethodHead, srv.URL+sidecar.DemoPagePath, nil, "")
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Empty(t, body)
	assert.NotEmpty(t, head.Header.Get("Content-Length"))

	post, _ := do(t, http.MethodPost, srv.URL+sidecar.DemoPagePath, nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
	assert.Equal(t, "GET, HEAD", post.Header.Get("Allow"))
}

// TestDemoPageFillsOnlyThePublishedKey: a virtual key of one's own is a
// secret and never goes into the page; the field is then empty.
func TestDemoPageFillsOnlyThePublishedKey(t *testing.T) {
	yaml := strings.Replace(demoYAML, "value: vk-demo-not-secret", "value: ${VK_WEB}", 1)
	srv := demoServer(t, yaml, map[string]string{"VK_WEB": virtualKey})
	_, body := do(t, http.MethodGet, srv.URL+sidecar.DemoPagePath, nil, "")
	assert.NotContains(t, string(body), virtualKey)
	assert.Contains(t, string(body), `<input id="vk" type="password" autocomplete="off" required placeholder="a virtual_keys value from the config" value="">`)
}

func TestDemoPageFollowsPathPrefix(t *testing.T) {
	srv := demoServer(t, "path_prefix: /api\n"+demoYAML, nil)
	_, body := do(t, http.MethodGet, srv.URL+sidecar.DemoPagePath, nil, "")
	meta := mintPathMeta.FindSubmatch(body)
	require.NotNil(t, meta)
	assert.Equal(t, "/api/v1/realtime/client_secrets", string(meta[1]))
	meta = callsPathMeta.FindSubmatch(body)
	require.NotNil(t, meta)
	assert.Equal(t, "/api/v1/realtime/calls", string(meta[1]))
}

// TestDemoPageOnlyInDemoMode: with a real key the page is not served; the
// path belongs to the existing proxy like any other.
func TestDemoPageOnlyInDemoMode(t *testing.T) {
	h := start(t, options{})
	resp, body := do(t, http.MethodGet, h.URL+sidecar.DemoPagePath, nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, proxyAnswer, string(body))
	assert.Equal(t, sidecar.DemoPagePath, h.Proxy.last(t).Path)

	srv := demoServer(t, demoYAML, map[string]string{"OPENAI_API_KEY": upstreamKey})
	resp, _ = do(t, http.MethodGet, srv.URL+sidecar.DemoPagePath, nil, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "demo: true with a key set mints for real and serves no page")
}
