package realtimesecret

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSealed   = "ek_rs_SEALED-TOKEN-0001"
	testUpstream = "xai-realtime-client-secret-UPSTREAM"
)

// recordingConn is a connection that keeps what is written on it.
type recordingConn struct {
	net.Conn // nil: only Write and Close are called
	mu       sync.Mutex
	written  bytes.Buffer
	closed   bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written.Write(p)
}

func (c *recordingConn) Close() error { c.closed = true; return nil }

func (c *recordingConn) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written.String()
}

// a101 is a 101 as httputil.ReverseProxy writes it from the upstream's,
// which echoed the subprotocol it was offered.
const a101 = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" +
	"Sec-Websocket-Protocol: xai-client-secret." + testUpstream + "\r\nUpgrade: websocket\r\n" +
	"X-" + testUpstream + ": " + testUpstream + "," + testUpstream + "\r\n\r\n"

func TestResealConnReplacesTheTokenInTheHeadOnly(t *testing.T) {
	frames := "\x81\x05hello " + testUpstream // after the head: the WebSocket's, passed as they are
	want := strings.ReplaceAll(a101, testUpstream, testSealed) + frames
	for _, chunk := range []int{1, 2, 3, 7, 64, len(a101) + len(frames)} {
		for _, hold := range []int{maxHeldHead, 0, 5, 40} {
			t.Run("", func(t *testing.T) {
				rec := &recordingConn{}
				c := resealConn(rec, []byte(testSealed), []byte(testUpstream))
				c.(*resealingConn).head.max = hold
				in := a101 + frames
				for len(in) > 0 {
					n := min(chunk, len(in))
					got, err := c.Write([]byte(in[:n]))
					require.NoError(t, err)
					require.Equal(t, n, got)
					require.True(t, strings.HasPrefix(want, rec.String()),
						"what is written is the resealed answer's beginning, no part of the token (chunks of %d, holding %d): %q", chunk, hold, rec.String())
					in = in[n:]
					if hold == maxHeldHead && len(in) > len(frames) {
						assert.Empty(t, rec.String(), "the head is held until it ends")
					}
				}
				assert.Equal(t, want, rec.String(), "chunks of %d, holding %d", chunk, hold)
			})
		}
	}
}

func TestResealConnDropsAHeadThatNeverEnded(t *testing.T) {
	for _, end := range []string{"Close", "CloseWrite"} {
		rec := &recordingConn{}
		c := resealConn(&halfClosable{Conn: rec}, []byte(testSealed), []byte(testUpstream))
		_, err := c.Write([]byte(a101[:len(a101)-10]))
		require.NoError(t, err)
		if end == "Close" {
			require.NoError(t, c.Close())
			assert.True(t, rec.closed)
		} else {
			require.NoError(t, c.(closeWriter).CloseWrite())
		}
		assert.Empty(t, rec.String(), end)
	}
}

func TestResealConnHasCloseWriteOnlyWhereTheConnHasIt(t *testing.T) {
	_, ok := resealConn(&recordingConn{}, nil, []byte("x")).(closeWriter)
	assert.False(t, ok, "a connection without CloseWrite must not gain one: the proxy would call it")
	hc := &halfClosable{Conn: &recordingConn{}}
	c, ok := resealConn(hc, nil, []byte("x")).(closeWriter)
	require.True(t, ok)
	require.NoError(t, c.CloseWrite())
	assert.Equal(t, 1, hc.closedWrite)
}

// TestResealAnswerHeaders: the header map is resealed before it is
// written, whichever of WriteHeader, Write or Flush writes it, and at
// finish, for trailers; a slice next gave is not written to.
func TestResealAnswerHeaders(t *testing.T) {
	for _, first := range []string{"WriteHeader", "Write", "Flush"} {
		t.Run(first, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w, finish := resealAnswer(rec, testSealed, testUpstream)
			shared := []string{"a", "xai-client-secret." + testUpstream}
			w.Header()["Sec-Websocket-Protocol"] = shared
			w.Header()["X-"+testUpstream] = []string{"b"} // not canonical: as next may set it
			switch first {
			case "WriteHeader":
				w.WriteHeader(http.StatusOK)
			case "Write":
				_, err := w.Write([]byte("body"))
				require.NoError(t, err)
			case "Flush":
				require.NoError(t, http.NewResponseController(w).Flush())
			}
			assert.Equal(t, []string{"a", "xai-client-secret." + testSealed}, rec.Result().Header["Sec-Websocket-Protocol"]) //nolint:bodyclose // a recorder's
			resealedName := "X-" + testSealed
			assert.Equal(t, []string{"b"}, rec.Result().Header[resealedName]) //nolint:bodyclose // a recorder's
			assert.Equal(t, "xai-client-secret."+testUpstream, shared[1], "next's slice is not written to")

			w.Header().Set("Trailer-Echo", testUpstream)
			finish()
			assert.Equal(t, testSealed, rec.Header().Get("Trailer-Echo"))
		})
	}
}

func TestResealAnswerKeepsTheWritersInterfaces(t *testing.T) {
	rec := httptest.NewRecorder()
	w, _ := resealAnswer(rec, testSealed, testUpstream)
	assert.Implements(t, (*http.Flusher)(nil), w)
	assert.Implements(t, (*http.Hijacker)(nil), w)
	assert.Same(t, rec, w.(interface{ Unwrap() http.ResponseWriter }).Unwrap())
	w.(http.Flusher).Flush()
	assert.True(t, rec.Flushed)

	w, _ = resealAnswer(plainWriter{rec}, testSealed, testUpstream)
	_, ok := w.(http.Flusher)
	assert.False(t, ok, "no Flush where the writer has none")
	require.ErrorIs(t, http.NewResponseController(w).Flush(), http.ErrNotSupported)
	assert.False(t, w.(*resealWriter).wroteHeader, "a writer that cannot flush wrote no header")
	_, _, err := w.(http.Hijacker).Hijack()
	assert.ErrorIs(t, err, http.ErrNotSupported, "no hijack where the writer has none")
}

// TestResealAnswerOverALeasedUpgrade: a request both leased and sealed has
// both wrappers, in the middleware's order; the head next writes on the
// hijacked connection is resealed, and half-closing it still releases the
// lease.
func TestResealAnswerOverALeasedUpgrade(t *testing.T) {
	conn := &halfClosable{Conn: &recordingConn{}}
	released := 0
	w, release := leaseUpgrade(&hijackable{ResponseRecorder: httptest.NewRecorder(), conn: conn}, func() { released++ })
	w, finish := resealAnswer(w, testSealed, testUpstream)
	c, brw, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	_, err = brw.WriteString(a101)
	require.NoError(t, err)
	require.NoError(t, brw.Flush())
	_, err = c.Write([]byte("frames"))
	require.NoError(t, err)
	assert.Equal(t, strings.ReplaceAll(a101, testUpstream, testSealed)+"frames", conn.Conn.(*recordingConn).String())

	cw, ok := c.(closeWriter)
	require.True(t, ok, "the hijacked connection keeps its CloseWrite")
	require.NoError(t, cw.CloseWrite())
	assert.Equal(t, 1, conn.closedWrite)
	assert.Equal(t, 1, released, "the upstream has ended: the lease is released")
	finish()
	release()
	assert.Equal(t, 1, released)
}

// TestResealAnswerHijackAfterTheHeader: once a final header has been
// written (from the resealed map), the connection carries no head of
// next's: it is returned as it is.
func TestResealAnswerHijackAfterTheHeader(t *testing.T) {
	conn := &recordingConn{}
	w, _ := resealAnswer(&hijackable{ResponseRecorder: httptest.NewRecorder(), conn: conn}, testSealed, testUpstream)
	w.WriteHeader(http.StatusSwitchingProtocols)
	c, _, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	assert.Same(t, conn, c)
}
