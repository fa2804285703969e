package realtimesecret_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// fakeProvider is an in-process Provider that answers like OpenAI and
// records what it was asked.
type fakeProvider struct {
	mu       sync.Mutex
	requests []contract.MintRequest
	minted   []string // tokens it answered with
	now      func() time.Time
	ttl      time.Duration
	// reply, when set, answers instead of the default.
	reply func(req *contract.MintRequest) (*contract.Reply, error)
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{now: time.Now, ttl: 10 * time.Minute}
}

func (f *fakeProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	f.mu.Lock()
	cp := *req
	cp.Body = bytes.Clone(req.Body)
	cp.Header = req.Header.Clone()
	f.requests = append(f.requests, cp)
	f.mu.Unlock()
	if f.reply != nil {
		return f.reply(req)
	}
	token := newToken()
	f.mu.Lock()
	f.minted = append(f.minted, token)
	f.mu.Unlock()
	exp := f.now().Add(f.ttl).Unix()
	var body string
	switch req.Endpoint {
	case contract.EndpointClientSecret, contract.EndpointTranslation:
		body = `{"value":"` + token + `","expires_at":` + strconv.FormatInt(exp, 10) + `,"session":{"type":"realtime"}}`
	default:
		body = `{"id":"sess_1","object":"realtime.session","client_secret":{"value":"` + token + `","expires_at":` + strconv.FormatInt(exp, 10) + `}}`
	}
	h := http.Header{}
	h.Set("X-Request-Id", "req_123")
	h.Set("Openai-Processing-Ms", "12")
	h.Set("Set-Cookie", "session=upstream")
	h.Set("Connection", "close")
	return &contract.Reply{StatusCode: http.StatusOK, Header: h, Body: []byte(body)}, nil
}

func (f *fakeProvider) last(t *testing.T) contract.MintRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.requests, "the upstream was not called")
	return f.requests[len(f.requests)-1]
}

func (f *fakeProvider) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "ek_" + hex.EncodeToString(b)
}

const (
	upstreamKey = "sk-upstream-secret-0001"
	vkWeb       = "vk-web-secret-0001"
)

// baseConfig has one provider "openai" with one key and one virtual key.
func baseConfig(p contract.Provider) realtimesecret.Config {
	return realtimesecret.Config{
		Providers: []realtimesecret.ProviderConfig{{
			Name:     "openai",
			Provider: p,
			Keys:     []realtimesecret.Key{{ID: "primary", Value: upstreamKey}},
		}},
		VirtualKeys: []realtimesecret.VirtualKey{{ID: "web", Value: vkWeb}},
	}
}

// nextRecorder is the next handler: it answers 299 and keeps the request.
type nextRecorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

const nextStatus = 299

func (n *nextRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	n.reqs = append(n.reqs, r)
	n.mu.Unlock()
	w.WriteHeader(nextStatus)
}

func (n *nextRecorder) last(t *testing.T) *http.Request {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	require.NotEmpty(t, n.reqs, "next was not called")
	return n.reqs[len(n.reqs)-1]
}

// do sends a request through the middleware built from cfg.
func do(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			r.Header.Del(header[i])
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// apiError is the OpenAI error shape.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// requireAPIError checks status, the JSON error shape and returns it.
func requireAPIError(t *testing.T, w *httptest.ResponseRecorder, status int) apiError {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw), "body: %s", w.Body.String())
	require.Contains(t, raw, "error")
	for _, field := range []string{"message", "type", "param", "code"} {
		require.Contains(t, raw["error"], field, "error.%s must be present", field)
	}
	var e apiError
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
	require.NotEmpty(t, e.Error.Message)
	require.NotEmpty(t, e.Error.Type)
	return e
}

// mintedValue returns the token of a successful mint answer.
func mintedValue(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, "body: %s", w.Body.String())
	var v struct {
		Value        string `json:"value"`
		ClientSecret struct {
			Value string `json:"value"`
		} `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
	if v.Value != "" {
		return v.Value
	}
	require.NotEmpty(t, v.ClientSecret.Value)
	return v.ClientSecret.Value
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type httptestRecorder = httptest.ResponseRecorder

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// staticProvider answers every mint with a fresh token and a fixed body
// shape, with as little work as an in-process upstream can do.
type staticProvider struct{ n atomic.Uint64 }

func newStaticProvider() *staticProvider { return &staticProvider{} }

func (p *staticProvider) Mint(_ context.Context, req *contract.MintRequest) (*contract.Reply, error) {
	exp := strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10)
	token := "ek_bench" + strconv.FormatUint(p.n.Add(1), 10)
	var body string
	switch req.Endpoint {
	case contract.EndpointClientSecret, contract.EndpointTranslation:
		body = `{"value":"` + token + `","expires_at":` + exp + `,"session":{"type":"realtime","object":"realtime.session","model":"gpt-realtime"}}`
	default:
		body = `{"id":"sess_1","object":"realtime.session","model":"gpt-realtime","client_secret":{"value":"` + token + `","expires_at":` + exp + `}}`
	}
	return &contract.Reply{StatusCode: http.StatusOK, Body: []byte(body)}, nil
}

type readCloser struct{ io.Reader }

func (readCloser) Close() error { return nil }

// brokerProvider is a fakeProvider that also brokers sessions the way
// OpenAI answers them, and records every session request.
type brokerProvider struct {
	*fakeProvider
	mu       sync.Mutex
	sessions []contract.SessionRequest
	n        int
	// sessionReply, when set, answers instead of the default.
	sessionReply func(req *contract.SessionRequest) (*contract.Reply, error)
}

var _ contract.SessionBroker = (*brokerProvider)(nil)

func newBrokerProvider() *brokerProvider { return &brokerProvider{fakeProvider: newFakeProvider()} }

// testAnswer is the SDP answer the fake gives every call.
const testAnswer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// testOffer is a minimal offer the middleware accepts.
const testOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"

const liveBody = `{"session":{"model":"openai/gpt-live-1"},"transport":{"type":"webrtc","sdp":"v=0\n"}}`

func (b *brokerProvider) Session(_ context.Context, req *contract.SessionRequest) (*contract.Reply, error) {
	b.mu.Lock()
	cp := *req
	cp.Body = bytes.Clone(req.Body)
	cp.Header = req.Header.Clone()
	b.sessions = append(b.sessions, cp)
	b.n++
	n := b.n
	b.mu.Unlock()
	if b.sessionReply != nil {
		return b.sessionReply(req)
	}
	return sessionDefault(req, n)
}

// sessionDefault is the fake's answer to the nth session request, the
// way OpenAI answers.
func sessionDefault(req *contract.SessionRequest, n int) (*contract.Reply, error) {
	h := http.Header{}
	h.Set("X-Request-Id", "req_session")
	h.Set("Set-Cookie", "upstream=1")
	switch req.Endpoint {
	case contract.EndpointCall:
		h.Set("Content-Type", "application/sdp")
		h.Set("Location", "/v1/realtime/calls/rtc_"+strconv.Itoa(n))
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(testAnswer)}, nil
	case contract.EndpointLiveSession:
		h.Set("Content-Type", "application/json")
		body := `{"session":{"id":"sess_` + strconv.Itoa(n) + `","model":"gpt-live-1"},"transport":{"type":"webrtc","sdp":"` + "v=0\\r\\n" + `"}}`
		return &contract.Reply{StatusCode: http.StatusCreated, Header: h, Body: []byte(body)}, nil
	default:
		return &contract.Reply{StatusCode: http.StatusOK, Header: h, Body: []byte(`{}`)}, nil
	}
}

func (b *brokerProvider) sessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sessions)
}

func (b *brokerProvider) lastSession(t *testing.T) contract.SessionRequest {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(t, b.sessions, "no session request reached the upstream")
	return b.sessions[len(b.sessions)-1]
}

// hangups returns the session ids hung up so far, and when the first of
// each was sent.
func (b *brokerProvider) hangups() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, s := range b.sessions {
		if s.Endpoint.IsHangup() {
			ids = append(ids, s.SessionID)
		}
	}
	sort.Strings(ids)
	return ids
}

// sessionRequests returns a copy of every session request so far.
func (b *brokerProvider) sessionRequests() []contract.SessionRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]contract.SessionRequest(nil), b.sessions...)
}

// part is one part of a multipart body, in order.
type part struct{ name, contentType, body string }

// multipartBody returns a multipart/form-data body of parts and its
// Content-Type.
func multipartBody(t *testing.T, parts ...part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + p.name + `"`}
		if p.contentType != "" {
			h["Content-Type"] = []string{p.contentType}
		}
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.String(), mw.FormDataContentType()
}

// readParts parses a multipart body as the upstream would, by part name.
func readParts(t *testing.T, contentType string, body []byte) (names []string, parts map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	parts = map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return names, parts
		}
		require.NoError(t, err)
		data, err := io.ReadAll(p)
		require.NoError(t, err)
		names = append(names, p.FormName())
		parts[p.FormName()] = string(data)
	}
}

// call posts a multipart call with the session JSON (none when "").
func call(t *testing.T, h http.Handler, path, session string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	parts := []part{{name: "sdp", contentType: "application/sdp", body: testOffer}}
	if session != "" {
		parts = append(parts, part{name: "session", contentType: "application/json", body: session})
	}
	body, ct := multipartBody(t, parts...)
	return do(t, h, http.MethodPost, path, body, append([]string{"Content-Type", ct, "Authorization", "Bearer " + vkWeb}, header...)...)
}
