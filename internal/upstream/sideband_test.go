package upstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/upstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// sidebandServer accepts a sideband and reads it until the client goes.
// answer decides whether a ping gets its pong; after sends a message once
// that many pings were answered (0: never).
func sidebandServer(t *testing.T, answer bool, after int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pings atomic.Int32
		sent := make(chan struct{})
		var c *websocket.Conn
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OnPingReceived: func(context.Context, []byte) bool {
			if answer && pings.Add(1) == after {
				close(sent)
			}
			return answer
		}})
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		go func() {
			select {
			case <-sent:
				_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"after pings"}`))
			case <-r.Context().Done():
			}
		}()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSidebandDropsAConnectionThatStopsAnswering: a sideband whose peer
// no longer answers pings fails its Read, so that the meter attaches
// again, instead of waiting for the session's expiry.
func TestSidebandDropsAConnectionThatStopsAnswering(t *testing.T) {
	p := newPoster(t, upstream.Options{})
	upstream.SetSidebandKeepalive(p, 20*time.Millisecond, 50*time.Millisecond)
	sb, err := p.Sideband(t.Context(), contract.EndpointCall, sidebandServer(t, false, 0).URL, http.Header{}, "")
	require.NoError(t, err)
	defer func() { _ = sb.Close() }()

	guard, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fails the test, never the keepalive
	defer cancel()
	_, err = sb.Read(guard)
	require.NoError(t, guard.Err(), "Read waited for the guard: the silent connection was not dropped")
	assert.ErrorIs(t, err, contract.ErrUpstreamUnavailable)
}

// TestSidebandKeepaliveKeepsAnAnsweringConnection: pings that are answered
// leave the connection up; the message sent after several of them is read.
func TestSidebandKeepaliveKeepsAnAnsweringConnection(t *testing.T) {
	p := newPoster(t, upstream.Options{})
	upstream.SetSidebandKeepalive(p, 10*time.Millisecond, 5*time.Second)
	sb, err := p.Sideband(t.Context(), contract.EndpointCall, sidebandServer(t, true, 5).URL, http.Header{}, "")
	require.NoError(t, err)
	defer func() { _ = sb.Close() }()

	guard, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	event, err := sb.Read(guard)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"after pings"}`, string(event))
	require.NoError(t, sb.Close())
}
