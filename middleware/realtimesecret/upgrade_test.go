package realtimesecret_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
)

// TestUpgradeLeaseEndsWithItsUpstream: behind httputil.ReverseProxy, a
// WebSocket redeemed with a token of a key with MaxSessions 1 holds the
// key's slot while it runs; once its upstream connection is killed, the
// slot is free again although the client keeps its side open (the proxy
// has half-closed it and waits for the client's direction).
func TestUpgradeLeaseEndsWithItsUpstream(t *testing.T) {
	upstreams := make(chan *websocket.Conn, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		upstreams <- c // open until the test closes it
	}))
	t.Cleanup(upstream.Close)
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)

	cfg := baseConfig(newFakeProvider())
	cfg.VirtualKeys[0].MaxSessions = 1
	h, err := realtimesecret.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	mw := h.Wrap(httputil.NewSingleHostReverseProxy(target))
	srv := httptest.NewServer(mw)
	t.Cleanup(srv.Close)
	token := mintedValue(t, do(t, mw, http.MethodPost, "/v1/realtime/client_secrets",
		`{"session":{"type":"realtime","model":"openai/gpt-realtime"}}`, "Authorization", "Bearer "+vkWeb))

	dial := func() (*websocket.Conn, int, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		//nolint:bodyclose // coder/websocket: the body is nil on success, read and closed on failure
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/realtime?model=gpt-realtime",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return c, status, err
	}
	awaitUpstream := func() *websocket.Conn {
		select {
		case c := <-upstreams:
			return c
		case <-time.After(5 * time.Second):
			require.FailNow(t, "the WebSocket did not reach the upstream")
			return nil
		}
	}

	client, status, err := dial()
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, status)
	// The client never closes its side (until the test ends) and never
	// reads, so it does not see the proxy's half-close either.
	t.Cleanup(func() { _ = client.CloseNow() })
	up := awaitUpstream()

	_, status, err = dial()
	require.Error(t, err)
	require.Equal(t, http.StatusTooManyRequests, status, "the open WebSocket holds the key's only slot")

	// The upstream is killed: its TCP connection closed without a close
	// frame.
	require.NoError(t, up.CloseNow())

	var second *websocket.Conn
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		second, status, err = dial()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "a WebSocket whose upstream is gone still holds its lease while the client keeps its side open")
	assert.Equal(t, http.StatusSwitchingProtocols, status)
	require.NoError(t, awaitUpstream().CloseNow())
	require.NoError(t, second.CloseNow())
}
