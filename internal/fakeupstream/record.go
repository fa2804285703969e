package fakeupstream

import (
	"bytes"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Request is one request the server received, as it arrived.
type Request struct {
	Method   string
	Path     string
	RawQuery string // without '?'
	Host     string
	Header   http.Header // a clone of the request's headers
	Body     []byte      // at most Options.MaxBodyBytes
	Time     time.Time   // from Options.Now when it arrived
}

// Query parses RawQuery; malformed pairs are dropped.
func (r Request) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
	return v
}

// clone returns a deep copy of r, so callers may change what they get.
func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// requestLog keeps the last max requests in a ring.
type requestLog struct {
	max   int // <= 0: keep none
	mu    sync.Mutex
	buf   []Request
	next  int // oldest entry once buf is full
	total int
	last  map[string]Request // by route (routeOf), for LastRequest
}

func (l *requestLog) add(r *http.Request, body []byte, now time.Time) {
	if l.max <= 0 {
		l.mu.Lock()
		l.total++
		l.mu.Unlock()
		return
	}
	// body is never written to after this, so it is shared, not copied.
	req := Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Host:     r.Host,
		Header:   r.Header.Clone(),
		Body:     body,
		Time:     now,
	}
	l.mu.Lock()
	l.total++
	if l.last == nil {
		l.last = make(map[string]Request)
	}
	l.last[routeOf(req.Path)] = req
	if len(l.buf) < l.max {
		l.buf = append(l.buf, req)
	} else {
		l.buf[l.next] = req
		l.next = (l.next + 1) % l.max
	}
	l.mu.Unlock()
}

// Requests returns copies of the recorded requests, oldest first: the most
// recent Options.MaxRequests of those received since New or Reset.
func (s *Server) Requests() []Request {
	l := &s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, 0, len(l.buf))
	for _, r := range l.buf[l.next:] {
		out = append(out, r.clone())
	}
	for _, r := range l.buf[:l.next] {
		out = append(out, r.clone())
	}
	return out
}

// Last returns a copy of the most recent recorded request; ok is false when
// there is none.
func (s *Server) Last() (req Request, ok bool) {
	l := &s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return Request{}, false
	}
	i := len(l.buf) - 1
	if l.next > 0 {
		i = l.next - 1
	}
	return l.buf[i].clone(), true
}

// LastRequest returns a copy of the most recent request to route: a path
// the server serves (PathCalls, PathClientSecrets ...), PathCallHangup or
// PathLiveSessionHangup for a hang-up of any id, or any other path as it
// was requested. ok is false when there is none since New or Reset, or when
// recording is disabled (Options.MaxRequests < 0). Tests use it to check
// what reached the upstream byte for byte.
func (s *Server) LastRequest(route string) (req Request, ok bool) {
	l := &s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.last[route]
	if !ok {
		return Request{}, false
	}
	return r.clone(), true
}

// Count returns how many requests were received since New or Reset,
// including those the bounded log no longer holds.
func (s *Server) Count() int {
	l := &s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Reset forgets every recorded request and sets Count and the session and
// sideband counters to zero (but SessionStats().Active and
// SidebandStats().Open). Sessions are not forgotten: they can still be hung up,
// and SessionStats().Active still counts them.
func (s *Server) Reset() {
	l := &s.log
	l.mu.Lock()
	l.buf, l.next, l.total, l.last = nil, 0, 0, nil
	l.mu.Unlock()
	s.sessions.resetStats()
}
