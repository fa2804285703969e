package realtimesecret

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The answer to a sealed redemption gives the client its sealed token
// back, never the upstream one.
//
// redeem replaces a sealed token by the upstream token it seals in the
// request next forwards, the WebSocket subprotocol included
// ("xai-client-secret.<token>", "openai-insecure-api-key.<token>"). A
// WebSocket server answers with the subprotocol it selected among those
// offered: the upstream's 101 names the upstream token. Passed on as it
// is, it would hand the client the secret sealing keeps from it (which
// then opens sessions at the provider directly, past every limit), and
// name a protocol the client never offered, which a client following
// RFC 6455 refuses. So for a sealed redemption only (the pass-through path
// allocates nothing), the ResponseWriter is wrapped and the upstream token
// replaced back by the sealed one in every header value (and name) of
// the answer:
//
//   - in the header map, when next calls WriteHeader, or Write or Flush
//     first (and once more when next returns, for trailers);
//   - in the response head next writes on the connection it hijacked
//     before writing any header, as httputil.ReverseProxy does for a 101:
//     it copies the upstream's headers and writes the head itself.
//
// Over a leased upgrade's writer (upgrade.go), the connection resealed is
// the leased one: its Close and CloseWrite still release the lease.
// Bodies, and a WebSocket's frames, pass as they are: the echo guarded
// against here is the handshake's, in its headers.

// resealAnswer returns w wrapped so that the answer carries sealed where
// next's answer carries upstream, and the finish to call once next has
// returned (trailers are written after it).
func resealAnswer(w http.ResponseWriter, sealed, upstream string) (http.ResponseWriter, func()) {
	rw := resealWriter{ResponseWriter: w, sealed: sealed, upstream: upstream}
	if _, ok := w.(http.Flusher); ok {
		f := &flushingResealWriter{rw}
		return f, f.resealHeader
	}
	return &rw, rw.resealHeader
}

// resealWriter is the ResponseWriter of a sealed redemption. Like
// upgradeWriter, it implements Hijack whatever w is (answering
// http.ErrNotSupported where w has none) and Unwrap; it implements
// FlushError too, so that an http.ResponseController never flushes w,
// writing its headers, around it.
type resealWriter struct {
	http.ResponseWriter
	sealed, upstream string
	// wroteHeader is set once a final header has gone to w: after it, a
	// hijacked connection carries no head of next's.
	wroteHeader bool
}

// resealHeader replaces the upstream token by the sealed one in w's
// header map. Slices are replaced, not written to: next may share them.
func (rw *resealWriter) resealHeader() {
	h := rw.ResponseWriter.Header()
	for name, values := range h {
		if strings.Contains(name, rw.upstream) {
			delete(h, name)
			name = strings.ReplaceAll(name, rw.upstream, rw.sealed)
			h[name] = values
		}
		for i, v := range values {
			if strings.Contains(v, rw.upstream) {
				values = slices.Clone(values)
				for j := i; j < len(values); j++ {
					values[j] = strings.ReplaceAll(values[j], rw.upstream, rw.sealed)
				}
				h[name] = values
				break
			}
		}
	}
}

func (rw *resealWriter) WriteHeader(code int) {
	rw.resealHeader()
	// As net/http: a 1xx other than 101 is informational, its headers
	// stay for the final answer.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		rw.wroteHeader = true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *resealWriter) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.resealHeader()
		rw.wroteHeader = true
	}
	return rw.ResponseWriter.Write(b)
}

func (rw *resealWriter) FlushError() error {
	if rw.wroteHeader {
		return http.NewResponseController(rw.ResponseWriter).Flush()
	}
	rw.resealHeader()
	err := http.NewResponseController(rw.ResponseWriter).Flush()
	rw.wroteHeader = err == nil // a w that cannot flush wrote nothing
	return err
}

// Hijack returns w's connection, which reseals the head next writes on it
// when no final header has been written yet; net/http writes one that was
// (from the header map resealed in WriteHeader) before Hijack returns.
func (rw *resealWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rw.ResponseWriter).Hijack()
	if err != nil || rw.wroteHeader {
		return c, brw, err
	}
	// Bytes w's writer holds were written before next hijacked, not by it:
	// they go first, then brw's writer writes through the resealing conn.
	rc := resealConn(c, []byte(rw.sealed), []byte(rw.upstream))
	if brw != nil && brw.Writer != nil {
		if err := brw.Flush(); err != nil {
			_ = c.Close()
			return nil, nil, err
		}
		brw.Writer.Reset(rc)
	}
	return rc, brw, nil
}

func (rw *resealWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// flushingResealWriter is a resealWriter over a w that is an
// http.Flusher, and is one itself.
type flushingResealWriter struct{ resealWriter }

func (rw *flushingResealWriter) Flush() { _ = rw.FlushError() }

// maxHeldHead bounds what a resealing connection holds while it waits for
// the end of the head: past it, the bytes go on, all but a tail in which
// the upstream token may begin.
const maxHeldHead = 64 << 10

// headEnd ends an HTTP/1 response head.
var headEnd = []byte("\r\n\r\n")

// resealConn returns c replacing upstream by sealed in what is written on
// it up to the end of the response head, and passing the rest as it is.
// Like leaseConn, it has CloseWrite only when c has it.
func resealConn(c net.Conn, sealed, upstream []byte) net.Conn {
	rc := resealingConn{Conn: c, head: &headResealer{sealed: sealed, upstream: upstream, max: maxHeldHead}}
	if cw, ok := c.(closeWriter); ok {
		return &halfClosableResealingConn{resealingConn: rc, cw: cw}
	}
	return &rc
}

// resealingConn is a hijacked connection whose head is resealed.
type resealingConn struct {
	net.Conn
	head *headResealer
}

func (c *resealingConn) Write(p []byte) (int, error) {
	if c.head.done.Load() {
		return c.Conn.Write(p)
	}
	return c.head.write(c.Conn, p)
}

// Close drops a head that never ended: cut anywhere, it could end in a
// part of the upstream token, and no client can use it.
func (c *resealingConn) Close() error {
	c.head.drop()
	return c.Conn.Close()
}

// halfClosableResealingConn is a resealingConn that can be half-closed.
type halfClosableResealingConn struct {
	resealingConn
	cw closeWriter
}

func (c *halfClosableResealingConn) CloseWrite() error {
	c.head.drop()
	return c.cw.CloseWrite()
}

// headResealer holds what is written until the head ends ("\r\n\r\n"),
// then writes it with upstream replaced by sealed; done is set from then
// on. A net.Conn may be written from several goroutines: mu orders the
// writes until done.
type headResealer struct {
	sealed, upstream []byte
	max              int
	mu               sync.Mutex
	held             []byte
	done             atomic.Bool
}

func (h *headResealer) write(c net.Conn, p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done.Load() {
		return c.Write(p)
	}
	h.held = append(h.held, p...)
	var out []byte
	if i := bytes.Index(h.held, headEnd); i >= 0 {
		end := i + len(headEnd)
		out = append(bytes.ReplaceAll(h.held[:end], h.upstream, h.sealed), h.held[end:]...)
		h.held = nil
		h.done.Store(true)
	} else if len(h.held) > h.max {
		// Every whole token is replaced; the tail kept may hold the
		// beginning of one, or of the head's end.
		all := bytes.ReplaceAll(h.held, h.upstream, h.sealed)
		keep := max(len(h.upstream)-1, len(headEnd)-1)
		if len(all) <= keep {
			h.held = all
			return len(p), nil
		}
		out = all[:len(all)-keep]
		h.held = append(h.held[:0], all[len(all)-keep:]...)
	} else {
		return len(p), nil
	}
	if _, err := c.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *headResealer) drop() {
	h.mu.Lock()
	h.held = nil
	h.mu.Unlock()
}
