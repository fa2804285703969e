package openai_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

const testKey = "sk-test-0123456789abcdefSECRET"

const mintReply = `{"value":"ek_abc","expires_at":1756310470,"session":{"type":"realtime","model":"gpt-realtime"}}`

func mintReq(e realtimesecret.Endpoint, body string) *realtimesecret.MintRequest {
	return &realtimesecret.MintRequest{
		Endpoint: e,
		Key:      &realtimesecret.Key{ID: "k1", Value: testKey},
		Body:     []byte(body),
	}
}

func newProvider(t testing.TB, cfg openai.Config) *openai.Provider {
	t.Helper()
	p, err := openai.New(cfg)
	require.NoError(t, err)
	return p
}

// requireErr checks err matches target and never shows the key.
func requireErr(t *testing.T, err, target error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, target)
	assert.NotContains(t, err.Error(), testKey)
}

// captured is what a test upstream saw.
type captured struct {
	method, path string
	header       http.Header
	body         []byte
	length       int64
}

func recorder(t *testing.T, status int, reply string) (*httptest.Server, <-chan captured) {
	seen := make(chan captured, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		seen <- captured{r.Method, r.URL.Path, r.Header.Clone(), b, r.ContentLength}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_1")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestMintEndpointPaths(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	want := map[realtimesecret.Endpoint]string{
		realtimesecret.EndpointClientSecret:         "/v1/realtime/client_secrets",
		realtimesecret.EndpointSession:              "/v1/realtime/sessions",
		realtimesecret.EndpointTranscriptionSession: "/v1/realtime/transcription_sessions",
		realtimesecret.EndpointTranslation:          "/v1/realtime/translations/client_secrets",
	}
	require.Len(t, realtimesecret.Endpoints(), len(want))
	for _, e := range realtimesecret.Endpoints() {
		resp, err := p.Mint(context.Background(), mintReq(e, `{}`))
		require.NoError(t, err, e)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.JSONEq(t, mintReply, string(resp.Body))
		got := <-seen
		assert.Equal(t, http.MethodPost, got.method, e)
		assert.Equal(t, want[e], got.path, e)
	}
}

func TestMintUnknownEndpoint(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	for _, e := range []realtimesecret.Endpoint{0, 200} {
		_, err := p.Mint(context.Background(), mintReq(e, `{}`))
		var re *realtimesecret.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, http.StatusBadRequest, re.Status)
	}
	assert.Empty(t, seen)
}

func TestMintNoKey(t *testing.T) {
	p := newProvider(t, openai.Config{BaseURL: "http://127.0.0.1:1"})
	_, err := p.Mint(context.Background(), &realtimesecret.MintRequest{Endpoint: realtimesecret.EndpointSession})
	require.Error(t, err)
	_, err = p.Mint(context.Background(), nil)
	require.Error(t, err)
}

func TestMintHeaders(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	req := mintReq(realtimesecret.EndpointClientSecret, `{}`)
	req.Header = http.Header{
		"Openai-Safety-Identifier": {"user-42"},
		"X-Request-Id":             {"abc"},
		"x-request-id":             {"def"},
		// Not canonical on purpose: must still not reach the wire.
		"authorization":    {"Bearer sk-attacker"},
		"Content-Type":     {"text/plain"},
		"accept":           {"text/html"},
		"Accept-Encoding":  {"br"},
		"api-key":          {"azure-key"},
		"Content-Encoding": {"gzip"}, // the body sent is plain JSON
	}
	before := req.Header.Clone()
	_, err := p.Mint(context.Background(), req)
	require.NoError(t, err)
	got := <-seen
	assert.Equal(t, []string{"Bearer " + testKey}, got.header.Values("Authorization"))
	assert.Equal(t, []string{"application/json"}, got.header.Values("Content-Type"))
	assert.Equal(t, []string{"application/json"}, got.header.Values("Accept"))
	assert.Equal(t, "user-42", got.header.Get("OpenAI-Safety-Identifier"))
	assert.ElementsMatch(t, []string{"abc", "def"}, got.header.Values("X-Request-Id"))
	assert.NotContains(t, got.header.Get("Accept-Encoding"), "br")
	assert.Empty(t, got.header.Values("Api-Key"))
	assert.Empty(t, got.header.Values("Content-Encoding"))
	assert.Equal(t, before, req.Header, "caller's header not modified")
}

func TestMintBodyForwardedVerbatim(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	body := "{ \"session\" :{\"type\":\"realtime\",\n\t\"model\":\"gpt-realtime\",\"z\":1,\"a\":\"\\u00e9\"}  }"
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, body))
	require.NoError(t, err)
	got := <-seen
	assert.Equal(t, body, string(got.body))
	assert.Equal(t, int64(len(body)), got.length)
}

func TestBaseURL(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	for _, tc := range []struct{ base, path string }{
		{srv.URL, "/v1/realtime/sessions"},
		{srv.URL + "/", "/v1/realtime/sessions"},
		{srv.URL + "/v1", "/v1/realtime/sessions"},
		{srv.URL + "/v1/", "/v1/realtime/sessions"},
		{srv.URL + "/vendor/openai", "/vendor/openai/v1/realtime/sessions"},
		{srv.URL + "/vendor/openai/v1/", "/vendor/openai/v1/realtime/sessions"},
		{srv.URL + "/api/v1beta", "/api/v1beta/v1/realtime/sessions"},
	} {
		p := newProvider(t, openai.Config{BaseURL: tc.base})
		_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointSession, `{}`))
		require.NoError(t, err, tc.base)
		assert.Equal(t, tc.path, (<-seen).path, tc.base)
	}
}

// roundTripFunc lets a test see the outgoing request without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultBaseURL(t *testing.T) {
	var got string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(mintReply)), ContentLength: -1, Request: r}, nil
	})}
	p := newProvider(t, openai.Config{Client: client})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointTranslation, `{}`))
	require.NoError(t, err)
	assert.Equal(t, "https://api.openai.com/v1/realtime/translations/client_secrets", got)
}

func TestNewRejects(t *testing.T) {
	for _, cfg := range []openai.Config{
		{BaseURL: "api.openai.com"},
		{BaseURL: "/v1"},
		{BaseURL: "ftp://example.com"},
		{BaseURL: "https://"},
		{BaseURL: "https:opaque"},
		{BaseURL: "https://user:pa55word@example.com"},
		{BaseURL: "https://example.com/?x=1"},
		{BaseURL: "https://example.com/#frag"},
		{BaseURL: "https://exa mple.com\x7f"},
		{Timeout: -time.Second},
		{MaxResponseBytes: -1},
	} {
		_, err := openai.New(cfg)
		if assert.Error(t, err, "%+v", cfg) {
			assert.NotContains(t, err.Error(), "pa55word")
		}
	}
	_, err := openai.New(openai.Config{BaseURL: "HTTP://Example.com:8080/x"})
	assert.NoError(t, err)
}

// waitForClient blocks until the client is gone. It reads the body first
// because the server only watches the connection once the body is consumed.
func waitForClient(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	assert.Nil(t, resp)
	requireErr(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestTimeoutMidBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"value":`)
		w.(http.Flusher).Flush()
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamTimeout)
}

func TestClientTimeoutIsUpstreamTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL, Client: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamTimeout)
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := p.Mint(ctx, mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, context.Canceled)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestCallerDeadlineIsTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Mint(ctx, mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	p := newProvider(t, openai.Config{BaseURL: "http://" + addr})
	_, err = p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestClosedBeforeHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if assert.NoError(t, err) {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestTLSFailure(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a server the client does not trust")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestResetMidBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"value\":\"ek_")
		_ = buf.Flush()
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func gzipped(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// gzipServer always answers body gzip-encoded, asked for or not.
func gzipServer(t *testing.T, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGzip(t *testing.T) {
	srv := gzipServer(t, gzipped(t, mintReply))
	asksItself := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("Accept-Encoding", "gzip") // so the transport leaves decoding to the caller
		return http.DefaultTransport.RoundTrip(r)
	})
	clients := map[string]*http.Client{
		"own client":           nil, // the transport asks for gzip and decodes it
		"no auto-decompress":   {Transport: &http.Transport{DisableCompression: true}},
		"round tripper asking": {Transport: asksItself},
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, openai.Config{BaseURL: srv.URL, Client: c})
			resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
			require.NoError(t, err)
			assert.Equal(t, mintReply, string(resp.Body))
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Empty(t, resp.Header.Get("Content-Length"))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		})
	}
}

func TestGzipCorrupt(t *testing.T) {
	good := gzipped(t, mintReply)
	bad := append([]byte(nil), good...)
	bad[len(bad)-5] ^= 0xff // CRC-32 trailer
	for name, body := range map[string][]byte{
		"not gzip":  []byte(mintReply),
		"checksum":  bad,
		"truncated": good[:len(good)/2],
	} {
		t.Run(name, func(t *testing.T) {
			srv := gzipServer(t, body)
			p := newProvider(t, openai.Config{BaseURL: srv.URL, Client: &http.Client{Transport: &http.Transport{DisableCompression: true}}})
			_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
			requireErr(t, err, realtimesecret.ErrUpstreamBadResponse)
		})
	}
}

func TestContentEncodings(t *testing.T) {
	for name, tc := range map[string]struct {
		enc  []string
		body []byte
		ok   bool
	}{
		"identity":          {enc: []string{"identity"}, body: []byte(mintReply), ok: true},
		"upper-case GZIP":   {enc: []string{"GZIP"}, body: gzipped(t, mintReply), ok: true},
		"x-gzip":            {enc: []string{"x-gzip"}, body: gzipped(t, mintReply), ok: true},
		"gzip, empty body":  {enc: []string{"gzip"}, body: nil, ok: true},
		"br":                {enc: []string{"br"}, body: []byte("\x1b\x00")},
		"deflate":           {enc: []string{"deflate"}, body: []byte("x")},
		"gzip twice, list":  {enc: []string{"gzip, gzip"}, body: gzipped(t, string(gzipped(t, mintReply)))},
		"gzip twice, lines": {enc: []string{"gzip", "gzip"}, body: gzipped(t, string(gzipped(t, mintReply)))},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Encoding"] = tc.enc
				_, _ = w.Write(tc.body)
			}))
			t.Cleanup(srv.Close)
			p := newProvider(t, openai.Config{BaseURL: srv.URL, Client: &http.Client{Transport: &http.Transport{DisableCompression: true}}})
			resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
			if !tc.ok {
				requireErr(t, err, realtimesecret.ErrUpstreamBadResponse)
				return
			}
			require.NoError(t, err)
			if tc.body != nil {
				assert.Equal(t, mintReply, string(resp.Body))
			} else {
				assert.Empty(t, resp.Body)
			}
		})
	}
}

func TestMaxResponseBytes(t *testing.T) {
	const limit = 64
	exact := strings.Repeat("x", limit)
	big := strings.Repeat("y", 100_000)
	for name, tc := range map[string]struct {
		body    []byte
		limit   int64
		gzip    bool
		chunked bool
		want    string // "" = too large
	}{
		"at limit":                   {body: []byte(exact), want: exact},
		"over, content-length":       {body: []byte(exact + "x")},
		"over, chunked":              {body: []byte(exact + "x"), chunked: true},
		"gzip at limit":              {body: gzipped(t, exact), gzip: true, want: exact},
		"gzip decodes past limit":    {body: gzipped(t, exact+"x"), gzip: true},
		"gzip bomb":                  {body: gzipped(t, strings.Repeat("x", 1<<20)), gzip: true},
		"chunked, default limit":     {body: []byte(big), chunked: true, want: big},
		"gzip chunked, big, default": {body: gzipped(t, big), gzip: true, chunked: true, want: big},
		"at default limit":           {body: []byte(strings.Repeat("z", 1<<20)), want: strings.Repeat("z", 1<<20)},
		"over default limit":         {body: []byte(strings.Repeat("z", 1<<20+1)), chunked: true},
	} {
		if tc.limit == 0 && !strings.Contains(name, "default") {
			tc.limit = limit
		}
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				if tc.chunked {
					_, _ = w.Write(tc.body[:10])
					w.(http.Flusher).Flush()
					_, _ = w.Write(tc.body[10:])
					return
				}
				_, _ = w.Write(tc.body)
			}))
			t.Cleanup(srv.Close)
			p := newProvider(t, openai.Config{BaseURL: srv.URL, MaxResponseBytes: tc.limit,
				Client: &http.Client{Transport: &http.Transport{DisableCompression: true}}})
			resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(resp.Body))
				return
			}
			requireErr(t, err, realtimesecret.ErrUpstreamBadResponse)
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Errorf("redirect followed; Authorization %q", r.Header.Get("Authorization"))
	}))
	t.Cleanup(target.Close)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, status)
		}))
		t.Cleanup(srv.Close)
		user := &http.Client{}
		for _, c := range []*http.Client{nil, user} {
			p := newProvider(t, openai.Config{BaseURL: srv.URL, Client: c})
			resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
			assert.Nil(t, resp)
			requireErr(t, err, realtimesecret.ErrUpstreamBadResponse)
		}
		assert.Nil(t, user.CheckRedirect, "caller's client not modified")
	}
	assert.Zero(t, hits.Load())
}

func TestNon2xxPassedThrough(t *testing.T) {
	const reply = `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		srv, _ := recorder(t, status, reply)
		p := newProvider(t, openai.Config{BaseURL: srv.URL})
		resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointSession, `{}`))
		require.NoError(t, err)
		assert.Equal(t, status, resp.StatusCode)
		assert.Equal(t, reply, string(resp.Body))
		assert.Equal(t, "req_1", resp.Header.Get("X-Request-Id"))
	}
}

func TestErrorsNeverContainKey(t *testing.T) {
	// An upstream that echoes the key as a malformed status line: the
	// transport quotes that line in its error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = buf.WriteString(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + "\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireErr(t, err, realtimesecret.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), "[REDACTED]")

	// A key that is not a valid header value.
	bad := mintReq(realtimesecret.EndpointClientSecret, `{}`)
	bad.Key.Value = testKey + "\r\nX-Injected: 1"
	_, err = p.Mint(context.Background(), bad)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
}

func BenchmarkMint(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, mintReply)
	}))
	b.Cleanup(srv.Close)
	p := newProvider(b, openai.Config{BaseURL: srv.URL})
	req := mintReq(realtimesecret.EndpointClientSecret, `{"session":{"type":"realtime","model":"gpt-realtime"}}`)
	req.Header = http.Header{"X-Request-Id": {"abc"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Mint(ctx, req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
	}
}
