package realtimesecret

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/realtimesecrettest"
)

// passesHandler is a Handler with a path prefix, so that routes and
// session paths are found under it and under the provider scope.
func passesHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := New(Config{
		PathPrefix: "/api",
		Providers:  []ProviderConfig{{Name: "openai", Provider: realtimesecrettest.ProviderFunc(nil), Keys: []Key{{ID: "k", Value: "sk"}}}},
	})
	require.NoError(t, err)
	// Records for the seeds' token and sessions, so that serve attributes
	// (and so replaces) a request that names them.
	rec := Record{KeyID: "k", Provider: "openai", ExpiresAt: time.Now().Add(time.Hour)}
	ctx := context.Background()
	require.NoError(t, h.records.putToken(ctx, "ek_1", rec))
	rec.CreatedAt, rec.Endpoint = time.Now(), contract.EndpointCall
	require.NoError(t, h.records.putSession(ctx, "rtc_1", rec))
	rec.Endpoint = contract.EndpointLiveSession
	require.NoError(t, h.records.putSession(ctx, "s_12", rec))
	return h
}

// requirePassesAgrees fails unless serve hands r to next as it is, having
// written nothing, whenever passes(r) says it would.
func requirePassesAgrees(t *testing.T, h *Handler, r *http.Request) {
	t.Helper()
	if !h.routes.passes(r) {
		return
	}
	var got *http.Request
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r })
	w := httptest.NewRecorder()
	h.serve(w, r, next)
	require.Same(t, r, got, "passes said %s %s goes to next untouched", r.Method, r.URL)
	require.False(t, w.Code != http.StatusOK || w.Body.Len() > 0 || len(w.Header()) > 0, "serve answered %s %s itself", r.Method, r.URL)
}

func TestPassesFastPath(t *testing.T) {
	h := passesHandler(t)
	req := func(method, target string, header ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		for ; len(header) >= 2; header = header[2:] {
			r.Header.Add(header[0], header[1])
		}
		return r
	}
	passing := []*http.Request{
		req(http.MethodPost, "/v1/chat/completions"),
		req(http.MethodPost, "/api/v1/responses", "Authorization", "Bearer sk-proj-0123"),
		req(http.MethodGet, "/v1/models", "Authorization", "Basic dXNlcjpwYXNz"),
		req(http.MethodPost, "/api/v1/realtime/x", "Sec-WebSocket-Protocol", "openai-insecure-api-key.ek_1"), // not a WebSocket method
	}
	for _, r := range passing {
		assert.True(t, h.routes.passes(r), "%s %s %v takes the fast path", r.Method, r.URL, r.Header)
		requirePassesAgrees(t, h, r)
	}
	long := []*http.Request{
		req(http.MethodPost, "/v1/chat/completions", "Authorization", "Bearer ek_123"),
		req(http.MethodPost, "/v1/chat/completions", "Authorization", "Bearer  ek_123"),
		req(http.MethodGet, "/v1/realtime/x", "Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key.ek_1"),
		req(http.MethodGet, "/api/v1/realtime?call_id=rtc_1"),
		req(http.MethodGet, "/api/v1/live/sessions/sess_12/attach"),
		req(http.MethodPost, "/api/openai/v1/realtime/calls/rtc_1/hangup"),
		req(http.MethodPost, "/"+strings.Repeat("x", 300)),
	}
	for _, path := range tablePaths(h.routes) {
		long = append(long, req(http.MethodPost, path), req(http.MethodOptions, path), req(http.MethodGet, path+"?call_id=rtc_1"))
	}
	for _, r := range long {
		assert.False(t, h.routes.passes(r), "%s %s %v goes through serve", r.Method, r.URL, r.Header)
	}
}

// FuzzPasses checks passes against serve on any method, path, query,
// Authorization and subprotocol.
func FuzzPasses(f *testing.F) {
	f.Add("POST", "/v1/chat/completions", "", "Bearer sk-1", "")
	f.Add("GET", "/api/v1/realtime", "call_id=rtc_1", "", "")
	f.Add("GET", "/api/openai/v1/realtime", "model=x", "Bearer sk-1", "realtime, openai-insecure-api-key.ek_1")
	f.Add("POST", "/api/v1/realtime/client_secrets", "", "Bearer vk", "")
	f.Add("POST", "/api/v1/live/sessions/s_12/hangup", "", "Bearer vk", "")
	f.Add("GET", "/api/v1/live/sessions/s_12/attach", "", "", "")
	f.Add("GET", "/api/v1/live/sessions/s_12/attach", "", "Bearer\tek_1", "")
	f.Add("CONNECT", "/x", "", "", "openai-insecure-api-key.ek_1")
	h := passesHandler(f)
	f.Fuzz(func(t *testing.T, method, path, query, auth, proto string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		r = r.WithContext(t.Context())
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if proto != "" {
			r.Header["Sec-Websocket-Protocol"] = []string{proto}
		}
		requirePassesAgrees(t, h, r)
	})
}

// tablePaths returns a path of every kind the table matches, derived from
// its entries: each fixed route, each session subpath below each creation
// route, and each WebSocket path. The fast path must send each to serve.
func tablePaths(t *routeTable) []string {
	var paths []string
	for path, rt := range t.fixed {
		paths = append(paths, path)
		if rt.endpoint.IsSession() {
			for _, sub := range sessionSubpaths {
				paths = append(paths, path+"/rtc_1"+sub.suffix)
			}
		}
	}
	for path := range t.realtime {
		paths = append(paths, path)
	}
	return paths
}

// TestRouteTableMatchesEveryEntry checks match on every entry of the
// table, derived from the table itself, with prefixes that put routes below
// and above its 256-byte length filter.
func TestRouteTableMatchesEveryEntry(t *testing.T) {
	for _, prefix := range []string{"", "/api", "/" + strings.Repeat("p", 230), "/" + strings.Repeat("p", 300)} {
		h, err := New(Config{
			PathPrefix: prefix,
			Providers: []ProviderConfig{{Name: "openai", Provider: realtimesecrettest.ProviderFunc(nil),
				Keys: []Key{{ID: "k", Value: "sk"}}}},
		})
		require.NoError(t, err)
		rt := h.routes
		require.NotEmpty(t, rt.fixed)
		get := func(target string) match { return rt.match(httptest.NewRequest(http.MethodPost, target, nil)) }
		for path, want := range rt.fixed {
			assert.Equal(t, match{kind: refRoute, route: want}, get(path), "%q", path)
			assert.Equal(t, refNone, get(path+"x").kind, "%q", path+"x")
			if !want.endpoint.IsSession() {
				continue
			}
			for _, sub := range sessionSubpaths {
				m := get(path + "/rtc_1" + sub.suffix)
				if sub.creation != 0 && sub.creation != want.endpoint {
					assert.Equal(t, refNone, m.kind, "%q below %q", sub.suffix, path)
					continue
				}
				assert.Equal(t, sub.kind, m.kind, "%q below %q", sub.suffix, path)
				assert.Equal(t, "rtc_1", m.id)
				assert.Equal(t, want.provider, m.route.provider)
				assert.Equal(t, sub.kind == refHangup, m.route.endpoint.IsHangup())
				assert.Equal(t, refNone, get(path+"/a/b"+sub.suffix).kind, "a slash in the id")
			}
		}
		for path, scope := range rt.realtime {
			m := get(path + "?call_id=rtc_1")
			assert.Equal(t, match{kind: refRealtime, route: route{endpoint: contract.EndpointCall, provider: scope}, id: "rtc_1"}, m, "%q", path)
			assert.Equal(t, refNone, get(path).kind, "%q without call_id", path)
			assert.Equal(t, refNone, get(path+"?call_id=a/b").kind, "%q with an invalid id", path)
		}
		assert.Equal(t, refNone, get("/v1/chat/completions").kind)
		assert.Equal(t, refNone, get("/v1/chat/hangup").kind)
	}
}
