package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/faultupstream"
	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

const secret = "sk-test-0123456789SECRET"

const reply = `{"value":"ek_abc","expires_at":1756310470}`

func newPoster(t testing.TB, o upstream.Options) *upstream.Poster {
	t.Helper()
	p, err := upstream.New("test", o)
	require.NoError(t, err)
	return p
}

// post runs one exchange with secret as a bearer credential.
func post(ctx context.Context, p *upstream.Poster, url string) (*contract.Reply, error) {
	x := p.Begin(ctx, contract.EndpointClientSecret)
	defer x.Close()
	h := upstream.Header(nil)
	h["Authorization"] = []string{"Bearer " + secret}
	return x.Post(url, h, []byte(`{}`), secret)
}

// requireSentinel checks err matches target and never shows the secret.
func requireSentinel(t *testing.T, err, target error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, target)
	assert.NotContains(t, err.Error(), secret)
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestPostSendsAndReturnsReply(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Request-Id", "req_1")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, reply)
	})
	resp, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL+"/v1/x?a=b")
	require.NoError(t, err)
	assert.Equal(t, http.StatusTeapot, resp.StatusCode, "any status is a reply")
	assert.Equal(t, reply, string(resp.Body))
	assert.Equal(t, "req_1", resp.Header.Get("X-Request-Id"))
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/v1/x", got.URL.Path)
	assert.Equal(t, "a=b", got.URL.RawQuery)
	assert.Equal(t, "{}", string(body))
	assert.Equal(t, int64(2), got.ContentLength)
	assert.Equal(t, "Bearer "+secret, got.Header.Get("Authorization"))
}

func TestPostRedactsSecretEchoedInReply(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+secret+`"}}`)
	})
	resp, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":{"message":"Incorrect API key provided: [REDACTED]"}}`, string(resp.Body))
}

func TestNewRejectsNegatives(t *testing.T) {
	_, err := upstream.New("x", upstream.Options{Timeout: -time.Second})
	require.ErrorContains(t, err, "x: Timeout")
	_, err = upstream.New("x", upstream.Options{MaxResponseBytes: -1})
	require.ErrorContains(t, err, "x: MaxResponseBytes")
}

// TestFaults runs every failure mode of faultupstream: each fails with its
// own sentinel only, no reply, and no secret in the error.
func TestFaults(t *testing.T) {
	for _, f := range faultupstream.Faults {
		t.Run(f.Name, func(t *testing.T) {
			p := newPoster(t, upstream.Options{Timeout: f.Timeout})
			resp, err := post(context.Background(), p, f.Start(t))
			assert.Nil(t, resp)
			f.Check(t, err, secret)
		})
	}
}

func TestClientTimeoutIsUpstreamTimeout(t *testing.T) {
	p := newPoster(t, upstream.Options{Client: &http.Client{Timeout: faultupstream.HangTimeout}})
	_, err := post(context.Background(), p, faultupstream.Hang(t))
	requireSentinel(t, err, contract.ErrUpstreamTimeout)
}

// A client whose jar must see every exchange is used whole, not bypassed
// for its transport.
func TestClientJarIsHonoured(t *testing.T) {
	var cookies []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		cookies = append(cookies, r.Header.Get("Cookie"))
		http.SetCookie(w, &http.Cookie{Name: "affinity", Value: "node-7"}) //nolint:gosec // a plain-HTTP test server's cookie; Secure would keep the jar from sending it back
		_, _ = io.WriteString(w, reply)
	})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	p := newPoster(t, upstream.Options{Client: &http.Client{Jar: jar}})
	for range 2 {
		_, err := post(context.Background(), p, srv.URL)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"", "affinity=node-7"}, cookies)
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	url, ctx := faultupstream.CancelOnArrival(t)
	_, err := post(ctx, newPoster(t, upstream.Options{}), url)
	requireSentinel(t, err, context.Canceled)
	assert.NotErrorIs(t, err, contract.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, contract.ErrUpstreamUnavailable)
}

func TestCallerDeadlineIsTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), faultupstream.HangTimeout)
	defer cancel()
	_, err := post(ctx, newPoster(t, upstream.Options{}), faultupstream.Hang(t))
	requireSentinel(t, err, contract.ErrUpstreamTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSecretRedactedFromTransportErrors(t *testing.T) {
	// The transport quotes the malformed status line, the credential, in its
	// error.
	_, err := post(context.Background(), newPoster(t, upstream.Options{}), faultupstream.EchoCredential(t))
	requireSentinel(t, err, contract.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), upstream.Redacted)
	assert.Contains(t, err.Error(), "test client_secrets: ", "names the adapter and endpoint")
}

// noDecompression is a client whose transport leaves gzip to the caller.
func noDecompression() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}}
}

func TestGzip(t *testing.T) {
	for name, c := range map[string]*http.Client{"own transport": nil, "transport that does not decode": noDecompression()} {
		t.Run(name, func(t *testing.T) {
			url := faultupstream.Answer(t, faultupstream.Reply{Header: faultupstream.GzipHeader(), Body: faultupstream.Gzip(t, reply)})
			resp, err := post(context.Background(), newPoster(t, upstream.Options{Client: c}), url)
			require.NoError(t, err)
			assert.Equal(t, reply, string(resp.Body))
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Empty(t, resp.Header.Get("Content-Length"))
		})
	}
}

func TestGzipCorrupt(t *testing.T) {
	for name, body := range faultupstream.CorruptGzip(t, reply) {
		t.Run(name, func(t *testing.T) {
			url := faultupstream.Answer(t, faultupstream.Reply{Header: faultupstream.GzipHeader(), Body: body})
			_, err := post(context.Background(), newPoster(t, upstream.Options{Client: noDecompression()}), url)
			requireSentinel(t, err, contract.ErrUpstreamBadResponse)
		})
	}
}

func TestUnsupportedEncoding(t *testing.T) {
	for _, ce := range []string{"br", "gzip, br"} {
		t.Run(ce, func(t *testing.T) {
			url := faultupstream.Answer(t, faultupstream.Reply{Header: http.Header{"Content-Encoding": {ce}}, Body: []byte("\x1b\x00")})
			_, err := post(context.Background(), newPoster(t, upstream.Options{}), url)
			requireSentinel(t, err, contract.ErrUpstreamBadResponse)
		})
	}
}

func TestMaxResponseBytes(t *testing.T) {
	const limit = 64
	exact := strings.Repeat("x", limit)
	gz := faultupstream.GzipHeader()
	for name, tc := range map[string]struct {
		reply faultupstream.Reply
		ok    bool
	}{
		"at limit":                {reply: faultupstream.Reply{Body: []byte(exact)}, ok: true},
		"over, content-length":    {reply: faultupstream.Reply{Body: []byte(exact + "x")}},
		"over, chunked":           {reply: faultupstream.Reply{Body: []byte(exact + "x"), Chunked: true}},
		"gzip at limit":           {reply: faultupstream.Reply{Header: gz, Body: faultupstream.Gzip(t, exact)}, ok: true},
		"gzip decodes past limit": {reply: faultupstream.Reply{Header: gz, Body: faultupstream.Gzip(t, strings.Repeat("x", 1<<20))}},
	} {
		t.Run(name, func(t *testing.T) {
			p := newPoster(t, upstream.Options{MaxResponseBytes: limit, Client: noDecompression()})
			resp, err := post(context.Background(), p, faultupstream.Answer(t, tc.reply))
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, exact, string(resp.Body))
				return
			}
			requireSentinel(t, err, contract.ErrUpstreamBadResponse)
		})
	}
}

// TestRedirectNotFollowed: the redirect target fails the test if reached.
func TestRedirectNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		url := faultupstream.Redirect(t, status)
		user := &http.Client{}
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		// nil and user are sent through their transport directly; a client
		// with a jar goes through Client.Do.
		for _, c := range []*http.Client{nil, user, {Jar: jar}} {
			resp, err := post(context.Background(), newPoster(t, upstream.Options{Client: c}), url)
			assert.Nil(t, resp)
			requireSentinel(t, err, contract.ErrUpstreamBadResponse)
		}
		assert.Nil(t, user.CheckRedirect, "caller's client not modified")
	}
}

func TestExchangeFail(t *testing.T) {
	p := newPoster(t, upstream.Options{Timeout: time.Hour})
	cause := errors.New("token source: refreshing " + secret + " failed")

	x := p.Begin(context.Background(), contract.EndpointSession)
	err := x.Fail(cause, secret)
	x.Close()
	requireSentinel(t, err, contract.ErrUpstreamUnavailable)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "realtimesecret: upstream unavailable: test sessions: token source: refreshing [REDACTED] failed", err.Error())

	x = p.Begin(context.Background(), contract.EndpointSession)
	x.Close() // stands for the timeout firing
	requireSentinel(t, x.Fail(cause, secret), contract.ErrUpstreamTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	x = p.Begin(ctx, contract.EndpointSession)
	cancel()
	requireSentinel(t, x.Fail(cause, secret), context.Canceled)
	x.Close()

	x = p.Begin(context.Background(), contract.EndpointSession)
	defer x.Close()
	dl, ok := x.Context().Deadline()
	require.True(t, ok)
	assert.WithinDuration(t, time.Now().Add(time.Hour), dl, time.Minute)
}

func TestRedact(t *testing.T) {
	assert.Equal(t, "a [REDACTED] b [REDACTED]", upstream.Redact("a "+secret+" b "+secret, secret))
	assert.Equal(t, "nothing", upstream.Redact("nothing", secret))
	assert.Equal(t, "empty secret", upstream.Redact("empty secret", ""))
}

func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, reply)
	}))
	b.Cleanup(srv.Close)
	p := newPoster(b, upstream.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := post(ctx, p, srv.URL)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
	}
}
