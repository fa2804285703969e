package openai_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const testKey = "sk-test-0123456789abcdefSECRET"

const mintReply = `{"value":"ek_abc","expires_at":1756310470,"session":{"type":"realtime","model":"gpt-realtime"}}`

func mintReq(e realtimesecret.Endpoint, body string) *contract.MintRequest {
	return &contract.MintRequest{
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
		contract.EndpointClientSecret:         "/v1/realtime/client_secrets",
		contract.EndpointSession:              "/v1/realtime/sessions",
		contract.EndpointTranscriptionSession: "/v1/realtime/transcription_sessions",
		contract.EndpointTranslation:          "/v1/realtime/translations/client_secrets",
	}
	require.Len(t, contract.Endpoints(), len(want))
	for _, e := range contract.Endpoints() {
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
	_, err := p.Mint(context.Background(), &contract.MintRequest{Endpoint: contract.EndpointSession})
	require.Error(t, err)
	_, err = p.Mint(context.Background(), nil)
	require.Error(t, err)
}

func TestMintHeaders(t *testing.T) {
	srv, seen := recorder(t, http.StatusOK, mintReply)
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	req := mintReq(contract.EndpointClientSecret, `{}`)
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
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, body))
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
		_, err := p.Mint(context.Background(), mintReq(contract.EndpointSession, `{}`))
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
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointTranslation, `{}`))
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

// TestFaults proves the provider is wired to the transport's handling of
// every failure mode (tested in depth in internal/upstream), with its own
// client and with the caller's: each fails with its own sentinel only, no
// reply, and no key in the error; the caller's client is not modified.
func TestFaults(t *testing.T) {
	user := &http.Client{}
	for _, f := range faultupstream.Faults {
		for name, c := range map[string]*http.Client{"own client": nil, "caller's client": user} {
			t.Run(f.Name+"/"+name, func(t *testing.T) {
				p := newProvider(t, openai.Config{BaseURL: f.Start(t), Timeout: f.Timeout, Client: c})
				resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
				assert.Nil(t, resp)
				f.Check(t, err, testKey)
			})
		}
	}
	assert.Equal(t, &http.Client{}, user, "caller's client modified")
}

func TestClientTimeoutIsUpstreamTimeout(t *testing.T) {
	p := newProvider(t, openai.Config{BaseURL: faultupstream.Hang(t), Client: &http.Client{Timeout: faultupstream.HangTimeout}})
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	requireErr(t, err, contract.ErrUpstreamTimeout)
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	url, ctx := faultupstream.CancelOnArrival(t)
	p := newProvider(t, openai.Config{BaseURL: url})
	_, err := p.Mint(ctx, mintReq(contract.EndpointClientSecret, `{}`))
	requireErr(t, err, context.Canceled)
	assert.NotErrorIs(t, err, contract.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, contract.ErrUpstreamUnavailable)
}

func TestCallerDeadlineIsTimeout(t *testing.T) {
	p := newProvider(t, openai.Config{BaseURL: faultupstream.Hang(t)})
	ctx, cancel := context.WithTimeout(context.Background(), faultupstream.HangTimeout)
	defer cancel()
	_, err := p.Mint(ctx, mintReq(contract.EndpointClientSecret, `{}`))
	requireErr(t, err, contract.ErrUpstreamTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// gzipped is faultupstream.Gzip, by the name this package's tests use.
var gzipped = faultupstream.Gzip

// gzipReply is a JSON reply of body, sent gzip-encoded, asked for or not.
func gzipReply(body []byte) faultupstream.Reply {
	return faultupstream.Reply{Header: http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, Body: body}
}

// noDecompression is a client whose transport leaves gzip to the caller.
func noDecompression() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}}
}

func TestGzip(t *testing.T) {
	url := faultupstream.Answer(t, gzipReply(gzipped(t, mintReply)))
	asksItself := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("Accept-Encoding", "gzip") // so the transport leaves decoding to the caller
		return http.DefaultTransport.RoundTrip(r)
	})
	clients := map[string]*http.Client{
		"own client":           nil, // the transport asks for gzip and decodes it
		"no auto-decompress":   noDecompression(),
		"round tripper asking": {Transport: asksItself},
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, openai.Config{BaseURL: url, Client: c})
			resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			require.NoError(t, err)
			assert.Equal(t, mintReply, string(resp.Body))
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Empty(t, resp.Header.Get("Content-Length"))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		})
	}
}

func TestGzipCorrupt(t *testing.T) {
	for name, body := range faultupstream.CorruptGzip(t, mintReply) {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, openai.Config{BaseURL: faultupstream.Answer(t, gzipReply(body)), Client: noDecompression()})
			_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			requireErr(t, err, contract.ErrUpstreamBadResponse)
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
			url := faultupstream.Answer(t, faultupstream.Reply{Header: http.Header{"Content-Encoding": tc.enc}, Body: tc.body})
			p := newProvider(t, openai.Config{BaseURL: url, Client: noDecompression()})
			resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			if !tc.ok {
				requireErr(t, err, contract.ErrUpstreamBadResponse)
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
	gz := faultupstream.GzipHeader()
	for name, tc := range map[string]struct {
		reply faultupstream.Reply
		limit int64
		want  string // "" = too large
	}{
		"at limit":                   {reply: faultupstream.Reply{Body: []byte(exact)}, want: exact},
		"over, content-length":       {reply: faultupstream.Reply{Body: []byte(exact + "x")}},
		"over, chunked":              {reply: faultupstream.Reply{Body: []byte(exact + "x"), Chunked: true}},
		"gzip at limit":              {reply: faultupstream.Reply{Header: gz, Body: gzipped(t, exact)}, want: exact},
		"gzip decodes past limit":    {reply: faultupstream.Reply{Header: gz, Body: gzipped(t, exact+"x")}},
		"gzip bomb":                  {reply: faultupstream.Reply{Header: gz, Body: gzipped(t, strings.Repeat("x", 1<<20))}},
		"chunked, default limit":     {reply: faultupstream.Reply{Body: []byte(big), Chunked: true}, want: big},
		"gzip chunked, big, default": {reply: faultupstream.Reply{Header: gz, Body: gzipped(t, big), Chunked: true}, want: big},
		"at default limit":           {reply: faultupstream.Reply{Body: []byte(strings.Repeat("z", 1<<20))}, want: strings.Repeat("z", 1<<20)},
		"over default limit":         {reply: faultupstream.Reply{Body: []byte(strings.Repeat("z", 1<<20+1)), Chunked: true}},
	} {
		if tc.limit == 0 && !strings.Contains(name, "default") {
			tc.limit = limit
		}
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, openai.Config{BaseURL: faultupstream.Answer(t, tc.reply), MaxResponseBytes: tc.limit, Client: noDecompression()})
			resp, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(resp.Body))
				return
			}
			requireErr(t, err, contract.ErrUpstreamBadResponse)
		})
	}
}

func TestNon2xxPassedThrough(t *testing.T) {
	const reply = `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		srv, _ := recorder(t, status, reply)
		p := newProvider(t, openai.Config{BaseURL: srv.URL})
		resp, err := p.Mint(context.Background(), mintReq(contract.EndpointSession, `{}`))
		require.NoError(t, err)
		assert.Equal(t, status, resp.StatusCode)
		assert.Equal(t, reply, string(resp.Body))
		assert.Equal(t, "req_1", resp.Header.Get("X-Request-Id"))
	}
}

func TestErrorsNeverContainKey(t *testing.T) {
	// The upstream echoes the key as a malformed status line, which the
	// transport quotes in its error.
	p := newProvider(t, openai.Config{BaseURL: faultupstream.EchoCredential(t)})
	_, err := p.Mint(context.Background(), mintReq(contract.EndpointClientSecret, `{}`))
	requireErr(t, err, contract.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), "[REDACTED]")

	// A key that is not a valid header value.
	bad := mintReq(contract.EndpointClientSecret, `{}`)
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
	req := mintReq(contract.EndpointClientSecret, `{"session":{"type":"realtime","model":"gpt-realtime"}}`)
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
