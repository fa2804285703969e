package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// Sideband opens a sideband WebSocket to url (http or https; the
// WebSocket handshake is sent there) with header h, whose credential is
// secret, and returns it as a contract.Sideband. The handshake is
// bounded by the Poster's timeout and goes through its client, so it never
// follows a redirect. Messages are read up to the Poster's
// MaxResponseBytes each; compression is off, so a connection holds no
// flate state, only the library's two 4 KiB buffers.
//
// A 404 answer fails with an error wrapping contract.ErrSessionNotFound;
// other failures wrap ErrUpstreamTimeout or ErrUpstreamUnavailable, as
// Post's do. No error text contains secret.
func (p *Poster) Sideband(ctx context.Context, ep realtimesecret.Endpoint, url string, h http.Header, secret string) (contract.Sideband, error) {
	x := p.Begin(ctx, ep)
	defer x.Close()
	c, resp, err := websocket.Dial(x.ctx, url, &websocket.DialOptions{ //nolint:bodyclose // coder/websocket owns the handshake body
		HTTPClient:      p.client,
		HTTPHeader:      h,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		switch {
		case resp != nil && resp.StatusCode == http.StatusNotFound:
			return nil, fail(contract.ErrSessionNotFound, p.name, ep, errors.New("status 404"), secret)
		case resp != nil:
			cause := errors.New("handshake answered with status " + strconv.Itoa(resp.StatusCode))
			return nil, fail(contract.ErrUpstreamUnavailable, p.name, ep, cause, secret)
		}
		return nil, x.Fail(err, secret)
	}
	c.SetReadLimit(p.maxBytes)
	s := &sideband{c: c, name: p.name, ep: ep, pingEvery: p.sidebandPing, pongWithin: p.sidebandPong}
	s.keepalive = time.AfterFunc(s.pingEvery, s.ping)
	return s, nil
}

// Sideband keepalive: a ping every sidebandPing that must be answered
// within sidebandPong, else the connection is dropped and Read fails, so
// that the meter attaches again. A connection that died without a word (a
// NAT or a proxy forgot it) would otherwise hold Read, and lose the
// session's usage, until the session's expiry: nothing is ever written on
// a sideband that only reads.
const (
	sidebandPing = 30 * time.Second
	sidebandPong = 10 * time.Second
)

// sideband is a contract.Sideband on a coder/websocket connection.
type sideband struct {
	c    *websocket.Conn
	name string
	ep   realtimesecret.Endpoint

	pingEvery, pongWithin time.Duration
	// keepalive runs ping, in a goroutine of its own only while it pings:
	// an idle sideband holds a timer, not a goroutine.
	keepalive *time.Timer
	mu        sync.Mutex // orders closed and the timer's Reset and Stop
	closed    bool
}

// ping sends a ping and drops the connection when no pong comes back in
// time; Read, always running in the meter, reads the pong.
func (s *sideband) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), s.pongWithin)
	defer cancel()
	if err := s.c.Ping(ctx); err != nil {
		_ = s.c.CloseNow() // Read fails and the meter attaches again
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.keepalive.Reset(s.pingEvery)
	}
}

var errSidebandClosed = errors.New("closed normally")

// Read implements contract.Sideband.
func (s *sideband) Read(ctx context.Context) ([]byte, error) {
	_, b, err := s.c.Read(ctx)
	switch {
	case err == nil:
		return b, nil
	case websocket.CloseStatus(err) == websocket.StatusNormalClosure:
		return nil, fail(contract.ErrSidebandClosed, s.name, s.ep, errSidebandClosed, "")
	}
	return nil, fail(contract.ErrUpstreamUnavailable, s.name, s.ep, err, "")
}

// Write implements contract.Sideband.
func (s *sideband) Write(ctx context.Context, event []byte) error {
	if err := s.c.Write(ctx, websocket.MessageText, event); err != nil {
		return fail(contract.ErrUpstreamUnavailable, s.name, s.ep, err, "")
	}
	return nil
}

// Close implements contract.Sideband: a closing handshake, which the
// library bounds to a few seconds. A sideband the upstream closed already
// closes without an error.
func (s *sideband) Close() error {
	s.mu.Lock()
	s.closed = true
	s.keepalive.Stop()
	s.mu.Unlock()
	if err := s.c.Close(websocket.StatusNormalClosure, ""); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
