package realtimesecret

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hijackable is a ResponseWriter whose Hijack returns conn.
type hijackable struct {
	*httptest.ResponseRecorder // a Flusher
	conn                       net.Conn
}

func (h *hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// plainWriter is a ResponseWriter with none of the optional interfaces.
type plainWriter struct{ http.ResponseWriter }

// halfClosable is a connection with CloseWrite.
type halfClosable struct {
	net.Conn
	closedWrite int
}

func (c *halfClosable) CloseWrite() error { c.closedWrite++; return nil }

func TestLeaseUpgradeReleasesOnceOnHalfCloseCloseOrReturn(t *testing.T) {
	for _, end := range []string{"CloseWrite", "Close", "next returns"} {
		t.Run(end, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			conn := &halfClosable{Conn: a}
			released := 0
			w, release := leaseUpgrade(&hijackable{ResponseRecorder: httptest.NewRecorder(), conn: conn}, func() { released++ })
			c, brw, err := http.NewResponseController(w).Hijack()
			require.NoError(t, err)
			require.NotNil(t, brw)
			cw, ok := c.(closeWriter)
			require.True(t, ok, "the hijacked connection keeps its CloseWrite")
			assert.Zero(t, released)
			switch end {
			case "CloseWrite":
				require.NoError(t, cw.CloseWrite())
				assert.Equal(t, 1, conn.closedWrite)
				assert.Equal(t, 1, released, "next half-closed the client: the upstream has ended")
			case "Close":
				require.NoError(t, c.Close())
				assert.Equal(t, 1, released)
			}
			require.NoError(t, cw.CloseWrite())
			_ = c.Close()
			release()
			assert.Equal(t, 1, released, "released once in all")
		})
	}
}

func TestLeaseUpgradeKeepsTheWritersAndConnsInterfaces(t *testing.T) {
	rec := httptest.NewRecorder()
	w, _ := leaseUpgrade(rec, func() {})
	assert.Implements(t, (*http.Flusher)(nil), w)
	assert.Implements(t, (*http.Hijacker)(nil), w)
	assert.Same(t, rec, w.(interface{ Unwrap() http.ResponseWriter }).Unwrap())
	w.(http.Flusher).Flush()
	assert.True(t, rec.Flushed)

	w, _ = leaseUpgrade(plainWriter{rec}, func() {})
	_, ok := w.(http.Flusher)
	assert.False(t, ok, "no Flush where the writer has none")
	_, _, err := w.(http.Hijacker).Hijack()
	assert.ErrorIs(t, err, http.ErrNotSupported, "no hijack where the writer has none")

	// A connection without CloseWrite does not gain one: the proxy would
	// call it instead of reporting its copy done.
	a, b := net.Pipe()
	defer b.Close()
	released := 0
	w, _ = leaseUpgrade(&hijackable{ResponseRecorder: rec, conn: a}, func() { released++ })
	c, _, err := w.(http.Hijacker).Hijack()
	require.NoError(t, err)
	_, ok = c.(closeWriter)
	assert.False(t, ok)
	require.NoError(t, c.Close())
	assert.Equal(t, 1, released)
}
