package azure_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/azure"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// The transport failure modes are tested in depth in internal/upstream;
// these prove the Azure provider is wired to them.

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

func TestTimeoutIsUpstreamTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { waitForClient(r) })
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Timeout: 50 * time.Millisecond})
	resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	assert.Nil(t, resp)
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestTimeoutMidBodyIsUpstreamTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, `{"value":`)
		w.(http.Flusher).Flush()
		waitForClient(r)
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, realtimesecret.ErrUpstreamTimeout)
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	p := newProvider(t, azure.Config{Endpoint: "http://" + addr})
	_, err = p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
}

func TestConnectionClosedIsUnavailableAndRedacted(t *testing.T) {
	// The upstream answers the api-key as a malformed status line: the
	// transport quotes that line in its error.
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = buf.WriteString(r.Header.Get("Api-Key") + "\r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, realtimesecret.ErrUpstreamUnavailable)
	assert.Contains(t, err.Error(), "[REDACTED]")
}

func TestResponseTooLargeIsBadResponse(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 65))
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL, MaxResponseBytes: 64})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
}

func TestGzipReplyDecoded(t *testing.T) {
	const reply = `{"value":"ek_1","expires_at":1756310470}`
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, reply)
	require.NoError(t, zw.Close())
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(b.Bytes())
	})
	// A transport that does not decode, as a custom one may.
	p := newProvider(t, azure.Config{Endpoint: srv.URL, Client: &http.Client{Transport: &http.Transport{DisableCompression: true}}})
	resp, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	require.NoError(t, err)
	assert.Equal(t, reply, string(resp.Body))
}

func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Errorf("redirect followed; api-key %q", r.Header.Get("Api-Key"))
	})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	_, err := p.Mint(context.Background(), mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, realtimesecret.ErrUpstreamBadResponse)
	assert.Zero(t, hits.Load())
}

func TestCallerCancelIsNotTimeout(t *testing.T) {
	arrived := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		waitForClient(r)
	})
	p := newProvider(t, azure.Config{Endpoint: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := p.Mint(ctx, mintReq(realtimesecret.EndpointClientSecret, `{}`))
	requireSentinel(t, err, context.Canceled)
	assert.NotErrorIs(t, err, realtimesecret.ErrUpstreamTimeout)
}
