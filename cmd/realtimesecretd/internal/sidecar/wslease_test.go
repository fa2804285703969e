package sidecar_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// TestWebSocketLeaseEndsWithItsUpstream: a WebSocket through the sidecar,
// redeeming a token of a key with max_sessions: 1, holds the key's slot;
// once the existing proxy's end of it is killed (its TCP connection
// closed, no close frame), the slot is free again although the client
// keeps its side open. The sidecar's proxy has half-closed the client and
// waits for its direction, so this is the upstream's end releasing the
// lease, not the WebSocket's close (issue 21, finding 6).
func TestWebSocketLeaseEndsWithItsUpstream(t *testing.T) {
	noLeaks(t)
	upstreams := make(chan *websocket.Conn, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}})
		if err != nil {
			return
		}
		upstreams <- c // open until the test closes it
	}))
	t.Cleanup(upstream.Close)
	h := start(t, options{noUpstream: true, env: map[string]string{"PROXY_URL": upstream.URL}, webPolicy: "    max_sessions: 1\n"})
	token := h.mint(t)

	dial := func() (*websocket.Conn, int, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		//nolint:bodyclose // coder/websocket: the body is nil on success, read and closed on failure
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.URL, "http")+"/v1/realtime?model=gpt-realtime",
			&websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + token}})
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
			require.FailNow(t, "the WebSocket did not reach the existing proxy")
			return nil
		}
	}

	client, status, err := dial()
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, status)
	// The client neither closes its side (until the test ends) nor reads.
	t.Cleanup(func() { _ = client.CloseNow() })
	up := awaitUpstream()

	_, status, err = dial()
	require.Error(t, err)
	require.Equal(t, http.StatusTooManyRequests, status, "the open WebSocket holds the key's only slot")

	require.NoError(t, up.CloseNow()) // the upstream is killed

	var second *websocket.Conn
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		second, status, err = dial()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "a WebSocket whose upstream is gone still holds its lease while the client keeps its side open")
	require.Equal(t, http.StatusSwitchingProtocols, status)
	require.NoError(t, awaitUpstream().CloseNow())
	require.NoError(t, second.CloseNow())
}
