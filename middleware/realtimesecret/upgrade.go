package realtimesecret

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// A WebSocket's lease ends with its upstream, not only when next returns.
//
// A WebSocket upgrade that redeems a token of a principal with MaxSessions
// holds a lease while next serves it; the release after next returns is
// not soon enough behind httputil.ReverseProxy. When the upstream closes
// its connection (a FIN), the proxy half-closes the client's (CloseWrite)
// and then waits for the client's direction too: a client that keeps its
// side open keeps next running, and the lease held, with no session
// upstream, the principal at its limit. So for a leased upgrade only (the
// pass-through path allocates nothing), the ResponseWriter is wrapped and
// the connection next hijacks from it releases the lease when next
// half-closes it (the upstream has finished sending) or closes it,
// whichever comes first; the release after next returns stays, for a next
// that never hijacks, and the release runs once in all.
//
// An upstream that goes silent without closing (its host gone: no FIN, no
// RST) is not seen here: its lease lasts until the connection closes on
// either side or fails (the client closing, a deadline, TCP keep-alive on
// the upstream connection giving up, where next's transport enables it),
// or, at the latest, until the lease's lifetime ends.

// leaseUpgrade returns w wrapped so that a connection hijacked from it
// releases the lease when it is half-closed or closed, and release made to
// run once: the caller still calls the returned release once next has
// returned.
func leaseUpgrade(w http.ResponseWriter, release func()) (http.ResponseWriter, func()) {
	var once sync.Once
	released := func() { once.Do(release) }
	u := upgradeWriter{ResponseWriter: w, release: released}
	if _, ok := w.(http.Flusher); ok {
		return &flushingUpgradeWriter{u}, released
	}
	return &u, released
}

// upgradeWriter is the ResponseWriter of a leased upgrade. It implements
// Hijack whatever w is, finding w's through http.ResponseController (an
// outer wrapper's Unwrap included), and answers http.ErrNotSupported
// where w has none, as the controller would; Unwrap gives the controller
// w's other methods (deadlines, full duplex).
type upgradeWriter struct {
	http.ResponseWriter
	release func()
}

func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	return leaseConn(c, u.release), brw, nil
}

func (u *upgradeWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// flushingUpgradeWriter is an upgradeWriter over a w that is an
// http.Flusher, and is one itself.
type flushingUpgradeWriter struct{ upgradeWriter }

func (u *flushingUpgradeWriter) Flush() { u.ResponseWriter.(http.Flusher).Flush() }

// closeWriter is a connection that can be half-closed, as
// httputil.ReverseProxy asks of the client's once the upstream's has ended.
type closeWriter interface{ CloseWrite() error }

// leaseConn returns c releasing the lease on Close, and on CloseWrite when
// c has it: a connection without CloseWrite must not gain one, since the
// proxy would then call it instead of reporting the copy done.
func leaseConn(c net.Conn, release func()) net.Conn {
	lc := leasedConn{Conn: c, release: release}
	if cw, ok := c.(closeWriter); ok {
		return &halfClosableLeasedConn{leasedConn: lc, cw: cw}
	}
	return &lc
}

// leasedConn is a hijacked connection that releases its lease on Close.
type leasedConn struct {
	net.Conn
	release func()
}

func (c *leasedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// halfClosableLeasedConn is a leasedConn that can be half-closed, which
// releases the lease too: next has nothing more to send the client.
type halfClosableLeasedConn struct {
	leasedConn
	cw closeWriter
}

func (c *halfClosableLeasedConn) CloseWrite() error {
	err := c.cw.CloseWrite()
	c.release()
	return err
}
