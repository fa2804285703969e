package upstream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
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
func post(ctx context.Context, p *upstream.Poster, url string) (*realtimesecret.MintResponse, error) {
	x := p.Begin(ctx, realtimesecret.EndpointClientSecret)
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

// waitForClient blocks until the client is gone. It reads the body first
// because the server only watches the connection once the body is consumed.
func waitForClient(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
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

func TestTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { waitForClient(r) })
	resp, err := post(context.Background(), newPoster(t, upstream.Options{Timeout: 50 * time.Millisecond}), srv.URL)
	assert.Nil(t, resp)
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestTimeoutMidBody(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, `{"value":`)
		w.(http.Flusher).Flush()
		waitForClient(r)
	})
	_, err := post(context.Background(), newPoster(t, upstream.Options{Timeout: 50 * time.Millisecond}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
}

func TestClientTimeoutIsUpstreamTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { waitForClient(r) })
	p := newPoster(t, upstream.Options{Client: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := post(context.Background(), p, srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
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
	arrived := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		waitForClient(r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := post(ctx, newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, context.Canceled)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestCallerDeadlineIsTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { waitForClient(r) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := post(ctx, newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = post(context.Background(), newPoster(t, upstream.Options{}), "http://"+addr)
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestClosedBeforeHeaders(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if assert.NoError(t, err) {
			_ = conn.Close()
		}
	})
	_, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestTLSFailure(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a server the client does not trust")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestResetMidBody(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{\"value\":\"ek_")
		_ = buf.Flush()
		_ = conn.Close()
	})
	_, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestSecretRedactedFromTransportErrors(t *testing.T) {
	// The upstream answers the credential as a malformed status line: the
	// transport quotes that line in its error.
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = buf.WriteString(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + "\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})
	_, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), upstream.Redacted)
	assert.Contains(t, err.Error(), "test client_secrets: ", "names the adapter and endpoint")
}

func gzipped(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// noDecompression is a client whose transport leaves gzip to the caller.
func noDecompression() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}}
}

func TestGzip(t *testing.T) {
	for name, c := range map[string]*http.Client{"own transport": nil, "transport that does not decode": noDecompression()} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(gzipped(t, reply))
			})
			resp, err := post(context.Background(), newPoster(t, upstream.Options{Client: c}), srv.URL)
			require.NoError(t, err)
			assert.Equal(t, reply, string(resp.Body))
			assert.Empty(t, resp.Header.Get("Content-Encoding"))
			assert.Empty(t, resp.Header.Get("Content-Length"))
		})
	}
}

func TestGzipCorrupt(t *testing.T) {
	good := gzipped(t, reply)
	bad := append([]byte(nil), good...)
	bad[len(bad)-5] ^= 0xff // CRC-32 trailer
	for name, body := range map[string][]byte{
		"not gzip":  []byte(reply),
		"checksum":  bad,
		"truncated": good[:len(good)/2],
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(body)
			})
			_, err := post(context.Background(), newPoster(t, upstream.Options{Client: noDecompression()}), srv.URL)
			requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
		})
	}
}

func TestUnsupportedEncoding(t *testing.T) {
	for _, ce := range []string{"br", "gzip, br"} {
		t.Run(ce, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", ce)
				_, _ = io.WriteString(w, "\x1b\x00")
			})
			_, err := post(context.Background(), newPoster(t, upstream.Options{}), srv.URL)
			requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
		})
	}
}

func TestMaxResponseBytes(t *testing.T) {
	const limit = 64
	exact := strings.Repeat("x", limit)
	for name, tc := range map[string]struct {
		body    []byte
		gzip    bool
		chunked bool
		ok      bool
	}{
		"at limit":                {body: []byte(exact), ok: true},
		"over, content-length":    {body: []byte(exact + "x")},
		"over, chunked":           {body: []byte(exact + "x"), chunked: true},
		"gzip at limit":           {body: gzipped(t, exact), gzip: true, ok: true},
		"gzip decodes past limit": {body: gzipped(t, strings.Repeat("x", 1<<20)), gzip: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
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
			})
			p := newPoster(t, upstream.Options{MaxResponseBytes: limit, Client: noDecompression()})
			resp, err := post(context.Background(), p, srv.URL)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, exact, string(resp.Body))
				return
			}
			requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Errorf("redirect followed; Authorization %q", r.Header.Get("Authorization"))
	})
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, status)
		})
		user := &http.Client{}
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		// nil and user are sent through their transport directly; a client
		// with a jar goes through Client.Do.
		for _, c := range []*http.Client{nil, user, {Jar: jar}} {
			resp, err := post(context.Background(), newPoster(t, upstream.Options{Client: c}), srv.URL)
			assert.Nil(t, resp)
			requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
		}
		assert.Nil(t, user.CheckRedirect, "caller's client not modified")
	}
	assert.Zero(t, hits.Load())
}

func TestExchangeFail(t *testing.T) {
	p := newPoster(t, upstream.Options{Timeout: time.Hour})
	cause := errors.New("token source: refreshing " + secret + " failed")

	x := p.Begin(context.Background(), realtimesecret.EndpointSession)
	err := x.Fail(cause, secret)
	x.Close()
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, "realtimesecret: upstream unavailable: test sessions: token source: refreshing [REDACTED] failed", err.Error())

	x = p.Begin(context.Background(), realtimesecret.EndpointSession)
	x.Close() // stands for the timeout firing
	requireSentinel(t, x.Fail(cause, secret), realtimesecret.ErrUpstreamTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	x = p.Begin(ctx, realtimesecret.EndpointSession)
	cancel()
	requireSentinel(t, x.Fail(cause, secret), context.Canceled)
	x.Close()

	x = p.Begin(context.Background(), realtimesecret.EndpointSession)
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
