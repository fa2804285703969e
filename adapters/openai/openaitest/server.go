package openaitest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// Options configures a Server. The zero value accepts any non-empty key and
// any model.
type Options struct {
	// Keys are the accepted provider keys, sent as
	// "Authorization: Bearer <key>". If empty, any non-empty key is
	// accepted; a missing or unknown key is answered 401.
	Keys []string

	// Models, if not empty, are the only realtime models accepted; any other
	// is answered 400, as OpenAI answers an unknown model.
	Models []string

	// TTL is the lifetime of a secret whose request asks for none. Zero
	// means OpenAI's default, 10 minutes. A lifetime in the request always
	// wins.
	TTL time.Duration

	// Now returns the current time, for expires_at. If nil, time.Now is
	// used.
	Now func() time.Time

	// Latency, if positive, delays every successful mint answer, to mimic a
	// remote upstream.
	Latency time.Duration

	// ServeBeta answers the beta endpoints (/v1/realtime/sessions and
	// /v1/realtime/transcription_sessions) with beta client secrets, as an
	// OpenAI-compatible vendor that still serves them does. False answers
	// them 400 beta_api_shape_disabled, as OpenAI does since it switched
	// the beta API off.
	ServeBeta bool

	// Fault, if set, is called for every request after it is recorded. If
	// it returns true it has answered the request itself. Use it to test
	// how code handles a failing, slow or malformed upstream.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// Request is one request the server received, as it arrived.
type Request struct {
	Method   string
	Path     string
	RawQuery string      // without '?'
	Header   http.Header // a copy of the request's headers
	Body     []byte
	Time     time.Time // from Options.Now when it arrived
}

// Server is a fake OpenAI Realtime upstream listening on a loopback port.
// Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port", to use as
	// openai.Config.BaseURL.
	URL string

	fake   *fakeupstream.Server
	srv    *httptest.Server
	minted atomic.Int64
}

// NewServer starts a Server on a loopback port. The caller must call Close
// when done with it.
func NewServer(opts Options) *Server {
	s := &Server{fake: fakeupstream.New(fakeupstream.Options{
		Keys:      opts.Keys,
		Models:    opts.Models,
		TTL:       opts.TTL,
		Now:       opts.Now,
		Latency:   opts.Latency,
		ServeBeta: opts.ServeBeta,
		Fault:     opts.Fault,
	})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.fake.ServeHTTP(w, r)
		return
	}
	s.fake.ServeHTTP(&statusWriter{ResponseWriter: w, minted: &s.minted}, r)
}

// Close shuts the server down and blocks until every request to it has
// finished.
func (s *Server) Close() { s.srv.Close() }

// Count returns how many requests the server received since NewServer or
// Reset, refused ones included.
func (s *Server) Count() int { return s.fake.Count() }

// Minted returns how many secrets the server minted (POSTs answered 2xx)
// since NewServer or Reset.
func (s *Server) Minted() int { return int(s.minted.Load()) }

// Requests returns copies of the requests received since NewServer or
// Reset, oldest first; the most recent 1024 are kept.
func (s *Server) Requests() []Request {
	got := s.fake.Requests()
	out := make([]Request, len(got))
	for i, r := range got {
		out[i] = request(r)
	}
	return out
}

// Last returns a copy of the most recent request; ok is false when there is
// none.
func (s *Server) Last() (req Request, ok bool) {
	r, ok := s.fake.Last()
	if !ok {
		return Request{}, false
	}
	return request(r), true
}

// Reset forgets the recorded requests and sets Count and Minted to zero.
func (s *Server) Reset() {
	s.fake.Reset()
	s.minted.Store(0)
}

func request(r fakeupstream.Request) Request {
	return Request{Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Header: r.Header, Body: r.Body, Time: r.Time}
}

// statusWriter counts a 2xx answer in minted when its status is written,
// before the client can see it.
type statusWriter struct {
	http.ResponseWriter
	minted *atomic.Int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code >= 200 && code < 300 {
			w.minted.Add(1)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
