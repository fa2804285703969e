package sidecar_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// holdMints is a fake upstream fault that holds every mint until release
// is closed (or the request ends), after signalling arrived.
func holdMints(arrived chan<- struct{}, release <-chan struct{}) func(http.ResponseWriter, *http.Request) bool {
	return func(_ http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != fakeupstream.PathClientSecrets {
			return false
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false // then answer normally
	}
}

type result struct {
	status int
	body   string
	err    error
}

// mintAsync mints in the background; the result arrives on the channel.
func (h *harness) mintAsync() <-chan result {
	out := make(chan result, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, h.URL+"/v1/realtime/client_secrets", strings.NewReader(mintBody))
		if err != nil {
			out <- result{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+virtualKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	return out
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		require.FailNow(t, "timed out waiting for "+what)
		panic("unreachable")
	}
}

func TestShutdownDrainsInFlightMint(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	h := start(t, options{fault: holdMints(arrived, release), adminListen: true})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	pending := h.mintAsync()
	receive(t, arrived, "the mint to reach the upstream")
	h.shutdown() // as SIGTERM does

	eventually(t, h.refusesConnections, "new connections are refused once the shutdown starts")
	resp, body := do(t, http.MethodGet, h.Admin+"/readyz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "readiness fails while draining")
	assert.JSONEq(t, `{"status":"shutting down","governance":"fail_closed"}`, string(body))
	assert.False(t, h.isStopped(), "the server waits for the in-flight mint")

	close(release)
	got := receive(t, pending, "the held mint")
	require.NoError(t, got.err)
	assert.Equal(t, http.StatusOK, got.status, got.body)
	var out struct{ Value string }
	require.NoError(t, json.Unmarshal([]byte(got.body), &out))
	assert.True(t, strings.HasPrefix(out.Value, "ek_"))

	eventually(t, h.isStopped, "Serve returns once drained")
	require.NoError(t, h.serveErr)
	assert.Len(t, h.Logs.lines(t, "shutting down: draining in-flight requests"), 1)
	assert.Empty(t, h.Logs.lines(t, "drain limit reached: closing the remaining connections"))
}

func TestShutdownDrainLimit(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	h := start(t, options{fault: holdMints(arrived, release), extra: "server: {shutdown_timeout: 200ms}\n"})

	pending := h.mintAsync()
	receive(t, arrived, "the mint to reach the upstream")
	h.shutdown()

	eventually(t, h.isStopped, "Serve returns at the drain limit")
	require.NoError(t, h.serveErr)
	got := receive(t, pending, "the held mint")
	require.Error(t, got.err, "the connection of a mint still held at the limit is closed")
	assert.Len(t, h.Logs.lines(t, "drain limit reached: closing the remaining connections"), 1)
}

func TestShutdownWebSocket(t *testing.T) {
	dial := func(t *testing.T, h *harness) (*websocket.Conn, context.Context) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		token := h.mint(t)
		//nolint:bodyclose // the body is nil on success: coder/websocket says never to close it
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.URL, "http")+"/v1/realtime",
			&websocket.DialOptions{Subprotocols: []string{"realtime", "openai-insecure-api-key." + token}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.CloseNow() })
		return c, ctx
	}
	echo := func(ctx context.Context, c *websocket.Conn, msg string) error {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return err
		}
		_, got, err := c.Read(ctx)
		if err == nil && string(got) != msg {
			return io.ErrUnexpectedEOF
		}
		return err
	}

	t.Run("open connections are drained", func(t *testing.T) {
		h := start(t, options{})
		c, ctx := dial(t, h)
		h.shutdown()
		eventually(t, h.refusesConnections, "new connections are refused")
		require.NoError(t, echo(ctx, c, "still talking"), "an open WebSocket keeps working during the drain")
		assert.False(t, h.isStopped(), "the server waits for the open WebSocket")

		require.NoError(t, c.Close(websocket.StatusNormalClosure, "done"))
		eventually(t, h.isStopped, "Serve returns once the WebSocket closed")
		require.NoError(t, h.serveErr)
	})
	t.Run("closed at the drain limit", func(t *testing.T) {
		h := start(t, options{extra: "server: {shutdown_timeout: 200ms}\n"})
		c, ctx := dial(t, h)
		h.shutdown()
		eventually(t, h.isStopped, "Serve returns at the drain limit")
		require.NoError(t, h.serveErr)
		eventually(t, func() bool { return echo(ctx, c, "anyone?") != nil }, "the WebSocket is closed")
		lines := h.Logs.lines(t, "drain limit reached: closing the remaining connections")
		require.Len(t, lines, 1)
		assert.InDelta(t, 1, lines[0]["websockets"], 0)
	})
}
